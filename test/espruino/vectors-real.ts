// Every golden vector through the firmware's protocol code on the REAL interpreter, on the nRF52- and
// the ESP32-sized builds: encode, seal, frame, parse (in the firmware's view mode and receive-buffer
// sizes, in 20-byte pieces), open, decode — byte for byte and field for field what protocol/vectors says.
// The code is installed in flash and evaluated from there (as the firmware runs); one vector per call.
import { afterAll, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { describeEspruino, EspruinoSandbox, type EspruinoBuild } from "../support/espruino.ts";
import { bundleEntry } from "../../firmware/build/index.ts";
import { VECTORS_PATH } from "../../protocol/vectors/build.ts";
import { toByteStrings, fromByteStrings } from "../../protocol/byte-strings.ts";

const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8"));
const vectors: any[] = file.vectors;

/** Undoes the device's {h: hex} / {y: hex} wrapping: byte strings back to JS strings (UTF-8). */
function unplain(v: any): any {
  if (Array.isArray(v)) return v.map(unplain);
  if (v && typeof v === "object") {
    if (typeof v.h === "string" && Object.keys(v).length === 1) return fromByteStrings(Buffer.from(v.h, "hex").toString("latin1"));
    if (typeof v.y === "string" && Object.keys(v).length === 1) return new Uint8Array(Buffer.from(v.y, "hex"));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unplain(x)]));
  }
  return v;
}

/** JS source of a value whose strings are byte strings, every byte above 0x7e escaped (\xNN). */
function source(v: any): string {
  return JSON.stringify(toByteStrings(v)).replace(/[\u007f-\u00ff]/g, (c) => "\\u00" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

/** The vector suite on one build (one test file per build, so vitest runs the builds in parallel). */
export function vectorSuite(build: EspruinoBuild): void {
describeEspruino(`golden vectors on the real interpreter (espruino-${build})`, () => {
  const boxes: EspruinoSandbox[] = [];
  afterAll(async () => {
    for (const b of boxes) await b.dispose();
  });

  {
    it(`espruino-${build}: all ${vectors.length} vectors encode, seal, frame, parse, open and decode exactly`, async () => {
      const code = await bundleEntry(new URL("./vectors-entry.ts", import.meta.url).pathname, {});
      const box = await EspruinoSandbox.create(build);
      boxes.push(box);
      await box.writeStorage({ "vt.js": code });
      const dev = await box.boot();
      expect(await dev.exec('eval(require("Storage").read("vt.js"));print(typeof VT)')).toMatch(/function/);
      let passed = 0;
      const results = new Map<string, string>();
      // a few vectors per console line: each line is parsed in RAM, so not too many at once
      for (let i = 0; i < vectors.length; i += 4) {
        const batch = vectors.slice(i, i + 4);
        const line = batch.map((v) => `VT(${JSON.stringify(v.name)},${source(v.object)},"${v.key === "zero" ? "00".repeat(32) : file.testKey}");`).join("");
        const out = await dev.exec(line);
        for (const m of out.matchAll(/^@@v (.*) (\{.*\})\s*$/gm)) results.set(m[1], m[2]);
        for (const v of batch) if (!results.has(v.name)) throw new Error(`${v.name}: espruino-${build} printed ${out}`);
      }
      for (const v of vectors) {
        const r = JSON.parse(results.get(v.name)!);
        expect(r.payload, v.name).toBe(v.payload);
        expect(r.frame, v.name).toBe(v.frame);
        expect(r.parsed.length, v.name).toBeGreaterThanOrEqual(1);
        for (const p of r.parsed) expect(unplain(p), v.name).toEqual(v.decoded);
        passed++;
      }
      expect(dev.output).not.toMatch(/Uncaught|OUT OF MEMORY/);
      console.log(`golden vectors on espruino-${build}: ${passed} of ${vectors.length} passed`);
    }, 300_000);
  }
});
}
