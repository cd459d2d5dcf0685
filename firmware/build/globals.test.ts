// Architecture rule (docs/architecture.md): firmware code reaches Espruino only through
// firmware/hal/ — no other file bundled into a device names an Espruino global.
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { transformSync } from "esbuild";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { ROOT } from "./index.ts";

const ESPRUINO_GLOBALS = new Set([
  "setWatch", "clearWatch", "digitalWrite", "digitalRead", "digitalPulse", "analogRead", "analogWrite", "pinMode",
  "getTime", "setTime", "Serial1", "Serial2", "USB", "E", "NRF", "Bluetooth", "LoopbackA", "LoopbackB", "require",
  "print", "process", "console", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "global", "globalThis",
  "load", "save", "reset",
]);

function firmwareFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(join(ROOT, "firmware"), p);
    if (statSync(p).isDirectory()) {
      if (rel === "build" || rel === "hal") continue;
      out.push(...firmwareFiles(p));
    } else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith("-test-env.ts")) out.push(p);
  }
  return out;
}

/** Free references to Espruino globals in one TypeScript file (declarations and property names ignored). */
function espruinoRefs(file: string): string[] {
  const js = transformSync(readFileSync(file, "utf8"), { loader: "ts", format: "esm" }).code;
  const ast = acorn.parse(js, { ecmaVersion: "latest", sourceType: "module", locations: true });
  const declared = new Set<string>();
  walk.full(ast, (n: any, _s, type) => {
    if (n.type === "Identifier" && type === "VariablePattern") declared.add(n.name);
    if ((n.type === "FunctionDeclaration" || n.type === "ClassDeclaration") && n.id) declared.add(n.id.name);
    if (n.type === "ImportSpecifier" || n.type === "ImportDefaultSpecifier") declared.add(n.local.name);
  });
  const refs: string[] = [];
  walk.fullAncestor(ast, (n: any, _s, anc: any[]) => {
    if (n.type !== "Identifier" || !ESPRUINO_GLOBALS.has(n.name) || declared.has(n.name)) return;
    const p = anc[anc.length - 2];
    if (p && p.type === "MemberExpression" && p.property === n && !p.computed) return;
    if (p && (p.type === "Property" || p.type === "MethodDefinition" || p.type === "PropertyDefinition") && p.key === n && !p.computed) return;
    refs.push(`${relative(ROOT, file)}:${n.loc.start.line} ${n.name}`);
  });
  return refs;
}

describe("firmware touches Espruino only through firmware/hal/", () => {
  it("no other firmware source names an Espruino global", () => {
    const files = firmwareFiles(join(ROOT, "firmware"));
    expect(files.length).toBeGreaterThan(5);
    const refs = files.flatMap(espruinoRefs);
    expect(refs).toEqual([]);
  });

  it("the scan finds a global when one is used (the check can fail)", () => {
    // the Espruino Hal names them (through `declare const`, which TypeScript erases)
    const refs = espruinoRefs(join(ROOT, "firmware", "hal", "hal.ts")).join("\n");
    for (const g of ["setWatch", "Serial1", "NRF", "E", "require", "LoopbackA"]) expect(refs).toMatch(new RegExp(" " + g + "$", "m"));
  });
});
