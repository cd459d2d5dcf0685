// The boot loader and the device-side expressions `varde flash` sends: they pass the firmware build's
// Espruino check, and the loader runs an app slot only when its size and SHA-256 match the pointer.
import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { SimDevice, VirtualClock } from "../../simulator/index.ts";
import { findEspruinoProblems } from "../../firmware/build/check-espruino.ts";
import { LOADER, chunkDigest, chunkDigestsExpr, installLoaderExpr, resumePoint, commitExpr, dropActiveExpr, eraseExpr, hashExpr, idleSlot, stateExpr, unusedSlots } from "../../cli/tech/boot-layout.ts";

const APP = 'print("app " + "ran");';
const sha = (s: string) => createHash("sha256").update(s, "latin1").digest("hex");

function boot(files: Record<string, string>): SimDevice {
  const clock = new VirtualClock();
  const dev = new SimDevice({ board: "alarm-esp32", clock });
  for (const [n, c] of Object.entries(files)) dev.flash.write(n, Buffer.from(c, "latin1"));
  dev.powerOn();
  clock.runFor(100);
  return dev;
}

describe("boot layout", () => {
  it("loader and expressions are Espruino code", () => {
    const p = { f: "varde.a", n: 1, h: "0".repeat(64), v: "1", b: "alarm-esp32" };
    for (const code of [LOADER, stateExpr(), chunkDigestsExpr("varde.a", 384), hashExpr("varde.a"), eraseExpr(["varde.a", "varde.b"], true), dropActiveExpr("varde.a"), installLoaderExpr(), commitExpr({ id: 1, key: "0".repeat(64), kind: "alarm" }, p)])
      expect(findEspruinoProblems(code)).toEqual([]);
  });

  it("runs the pointed slot when size and SHA-256 match", () => {
    const dev = boot({ ".bootcde": LOADER, "varde.b": APP, "varde.boot": JSON.stringify({ f: "varde.b", n: APP.length, h: sha(APP), v: "1", b: "x" }) });
    expect(dev.output).toContain("app ran");
    expect(dev.errors).toEqual([]);
  });

  it("never runs a partial or altered slot, a missing one, or a torn pointer", () => {
    const half = APP.slice(0, 10);
    const cases: Record<string, string>[] = [
      { "varde.a": half, "varde.boot": JSON.stringify({ f: "varde.a", n: APP.length, h: sha(APP), v: "1", b: "x" }) },
      { "varde.a": APP.replace("ran", "RAN"), "varde.boot": JSON.stringify({ f: "varde.a", n: APP.length, h: sha(APP), v: "1", b: "x" }) },
      { "varde.boot": JSON.stringify({ f: "varde.a", n: APP.length, h: sha(APP), v: "1", b: "x" }) },
      { "varde.a": APP, "varde.boot": '{"f":"varde.a","n":' },
      { "varde.a": APP },
    ];
    for (const files of cases) {
      const dev = boot({ ".bootcde": LOADER, ...files });
      expect(dev.output).not.toMatch(/app ran|RAN/);
      expect(dev.output).toContain("Varde: no verified app in flash");
      expect(dev.errors).toEqual([]);
    }
  });

  it("stages into the slot the pointer does not name, and erases only those", () => {
    expect(idleSlot(null)).toBe("varde.a");
    expect(idleSlot({ f: "varde.a", n: 1, h: "", v: "", b: "" })).toBe("varde.b");
    expect(idleSlot({ f: "varde.b", n: 1, h: "", v: "", b: "" })).toBe("varde.a");
    expect(unusedSlots(null)).toEqual(["varde.a", "varde.b"]);
    expect(unusedSlots({ f: "varde.b", n: 1, h: "", v: "", b: "" })).toEqual(["varde.a"]);
  });
});

describe("resuming an interrupted upload", () => {
  const code = "abcdefghij".repeat(100); // 1000 bytes, pieces of 384: 384 + 384 + 232
  const ff = (n: number) => chunkDigest("\xff".repeat(n));
  const piece = (k: number) => chunkDigest(code.substr(k * 384, 384));

  it("resumes at the first erased piece, or reports done", () => {
    expect(resumePoint(code, 384, [piece(0), ff(384), ff(232)])).toBe(1);
    expect(resumePoint(code, 384, [ff(384), ff(384), ff(232)])).toBe(0);
    expect(resumePoint(code, 384, [piece(0), piece(1), piece(2)])).toBe(3);
  });

  it("starts over when a piece differs and is not erased, or the length differs", () => {
    expect(resumePoint(code, 384, [piece(0), piece(2), ff(232)])).toBe(-1);
    expect(resumePoint(code, 384, [piece(0), ff(384), piece(2)])).toBe(-1);
    expect(resumePoint(code, 384, [piece(0), ff(384)])).toBe(-1);
  });

  it("the device computes the same digests", () => {
    const clock = new VirtualClock();
    const dev = new SimDevice({ board: "alarm-esp32", clock });
    dev.powerOn();
    dev.flash.write("varde.a", Buffer.from(code.slice(0, 384) + "\xff".repeat(616), "latin1"));
    const got = JSON.parse(JSON.stringify(dev.evaluate(chunkDigestsExpr("varde.a", 384))));
    expect(resumePoint(code, 384, got)).toBe(1);
  });
});
