// `varde scenario` refuses, before running anything, what would otherwise run nothing and say "ok", or
// crash with a stack trace (issue 14 item 8).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const VARDE = path.resolve(import.meta.dirname, "../../bin/varde.js");
const varde = (...args: string[]) => spawnSync(process.execPath, [VARDE, "scenario", ...args], { encoding: "utf8", timeout: 60_000 });

describe("varde scenario", () => {
  it("refuses a --runs that is not a count, an empty folder and a date that does not exist, with exit 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-scen-"));
    fs.writeFileSync(path.join(dir, "bad.toml"), `name = "x"\nstart = "2026-13-40"\n[schedule]\ndoses = ["08:00"]\n`);
    for (const runs of ["abc", "0", "-1"]) {
      const r = varde("--runs", runs, path.join(dir, "bad.toml"));
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`varde scenario: --runs ${runs}: give a whole number of runs, at least 1`);
    }
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "varde-scen-empty-"));
    const e = varde(empty);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/no scenario files \(\*\.toml\) in this folder/);
    const b = varde(path.join(dir, "bad.toml"));
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/bad\.toml: start: got "2026-13-40"; expected a day that exists/);
    expect(b.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(b.stdout).not.toMatch(/ok/);
  });
});
