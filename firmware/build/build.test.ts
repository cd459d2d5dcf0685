import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFirmware, bundleEntry, bundleWithMap, FirmwareBuildError, topLevelNames, shadowsEspruinoGlobal } from "./index.ts";
import { checkEspruino } from "./check-espruino.ts";
import { buildBoards } from "./build.ts";
import { execFileSync } from "node:child_process";
import { ROOT } from "./index.ts";
import { findEspruinoProblems, EspruinoCheckError } from "./check-espruino.ts";
import { boardPath } from "../../hardware/boards.ts";

describe("buildFirmware", () => {
  for (const id of ["alarm-esp32", "alarm-nrf52"]) {
    it(`builds ${id} within budget and passes the Espruino check`, async () => {
      const out = mkdtempSync(join(tmpdir(), "varde-fw-"));
      const r = await buildFirmware(id, { outDir: out, version: "9.9.9" });
      console.log(`bundle ${id}: ${r.bytes} bytes (budget ${r.budget})`);
      expect(r.bytes).toBeLessThanOrEqual(r.budget);
      expect(readFileSync(r.path, "utf8")).toBe(r.code);
      expect(findEspruinoProblems(r.code)).toEqual([]);
      // no wrapper: the app's top-level functions are interpreter globals (docs/firmware-memory.md), and
      // none of them shadows an Espruino global
      expect(r.code.startsWith("(function(){")).toBe(false);
      expect(topLevelNames(r.code).length).toBeGreaterThan(50);
      expect(topLevelNames(r.code).filter(shadowsEspruinoGlobal)).toEqual([]);
      // every board value is a literal in the code: no BOARD object is left
      expect(r.code).not.toMatch(/\bBOARD\b/);
      // board constants and version are compiled in; Storage/crypto stay Espruino requires
      expect(r.code).toContain(JSON.stringify(id));
      expect(r.code).toContain('"9.9.9"');
      expect(r.code).toContain('require("Storage")');
      expect(r.code).not.toContain("Proxy");
    });
  }

  it("the CLI path reports each board and fails on an unknown one", async () => {
    const lines: string[] = [];
    const ok = await buildBoards(["nope-board"], (l) => lines.push(l));
    expect(ok).toBe(false);
    expect(lines.join("\n")).toMatch(/nope-board: BUILD FAILED\n.*no such board file; known boards: .*alarm-esp32/);
  });

  it("`varde build <board>` prints the size against the budget", () => {
    const out = execFileSync(process.execPath, [join(ROOT, "bin", "varde.js"), "build", "alarm-nrf52"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toMatch(/alarm-nrf52\s+\d+ bytes\s+\(\d+% of 32768 budget\)\s+-> .*dist\/firmware\/alarm-nrf52\.js/);
  });

  it("fails a bundle over its budget, naming the board file and key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "varde-board-"));
    const file = join(dir, "alarm-esp32.toml");
    copyFileSync(boardPath("alarm-esp32"), file);
    writeFileSync(file, readFileSync(file, "utf8").replace(/bundle_budget = \d+/, "bundle_budget = 1000"));
    await expect(buildFirmware(file, { noWrite: true })).rejects.toThrow(FirmwareBuildError);
    await expect(buildFirmware(file, { noWrite: true })).rejects.toThrow(/over the budget of 1000 .*alarm-esp32\.toml: memory\.bundle_budget/);
  });

  it("the checker rejects real esbuild bundles of sources using destructuring, Map, Array.from and spread", async () => {
    const dir = mkdtempSync(join(tmpdir(), "varde-src-"));
    const cases: Array<[string, RegExp]> = [
      ["export function f(o: any) { const { a, b } = o; return a + b; }\nprint(f({a: 1, b: 2}));", /destructuring/],
      ["const m = new Map<string, number>(); m.set('a', 1); print(m.get('a'));", /Map \(missing/],
      ["print(Array.from([1, 2]).length);", /Array\.from/],
      ["function g(...r: number[]) { return r.length; } print(g(...[1, 2]));", /rest parameter|spread/],
    ];
    for (const [src, re] of cases) {
      const entry = join(dir, "main.ts");
      writeFileSync(entry, "declare const print: any;\n" + src + "\n");
      const code = await bundleEntry(entry, {});
      const problems = findEspruinoProblems(code);
      expect(problems.map((p) => `${p.line}:${p.column} ${p.construct}`).join("\n")).toMatch(re);
    }
    // the error names the TypeScript line, via the source map
    writeFileSync(join(dir, "main.ts"), "declare const print: any;\nconst a = 1;\nconst m = new Map<string, number>();\nprint(m, a);\n");
    const { code, locate } = await bundleWithMap(join(dir, "main.ts"), {});
    expect(() => checkEspruino(code, "t", locate)).toThrow(/main\.ts:3:\d+ \(bundle 1:\d+\) Map \(missing on Espruino\)/);
    // ?. in the source is lowered by the build (Espruino lacks it), so the bundle passes
    writeFileSync(join(dir, "main.ts"), "declare const print: any; const o: any = {a: {b: 1}}; print(o?.a?.b);\n");
    const lowered = await bundleEntry(join(dir, "main.ts"), {});
    expect(lowered).not.toContain("?.");
    expect(findEspruinoProblems(lowered)).toEqual([]);
  });

  it("the checker rejects emitted bundles with destructuring, Map, ?. and Array.from", () => {
    // the same shapes esbuild emits (minified, one line) when the source uses these
    const cases: Array<[string, RegExp]> = [
      ['(function(){var{a:e,b:t}=r();print(e+t)})();', /destructuring/],
      ['(function(){var e=new Map;e.set("a",1)})();', /Map \(missing/],
      ['(function(){var e=r();print(e?.a)})();', /optional chaining/],
      ['(function(){var e=Array.from(r())})();', /Array\.from/],
    ];
    for (const [code, re] of cases) {
      expect(() => {
        const p = findEspruinoProblems(code);
        if (p.length) throw new EspruinoCheckError(p, "x.js");
      }).toThrow(re);
    }
  });
});
