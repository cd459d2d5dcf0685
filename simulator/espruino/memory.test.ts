// The memory model's unit rules (measured on the real interpreter; test/espruino/memory-calibration.test.ts
// compares whole programs against it).
import { describe, expect, it } from "vitest";
import { loadBoard } from "../../hardware/boards.ts";
import { VirtualClock } from "../clock.ts";
import { SimDevice } from "../device.ts";
import { jsVarLayout } from "./memory.ts";

const usage = (code: string, board = "alarm-nrf52"): number => {
  const dev = new SimDevice({ board: loadBoard(board), clock: new VirtualClock(), memoryRefreshMs: 0 });
  dev.install(code);
  dev.powerOn();
  const m = dev.evaluate("process.memory()") as { usage: number; total: number; free: number };
  expect(m.free).toBe(m.total - m.usage);
  return m.usage;
};

describe("JsVar layout", () => {
  it("follows Espruino's src/jsutils.h for the board sizes", () => {
    expect(jsVarLayout(2630)).toMatchObject({ refBits: 12, varBytes: 13, strChars: 8, extChars: 9, flatBreakEven: 17, intMax: 2047 });
    expect(jsVarLayout(16383)).toMatchObject({ refBits: 14, varBytes: 14, strChars: 9, extChars: 10, flatBreakEven: 19, intMax: 8191 });
  });
});

describe("process.memory() in the simulator", () => {
  const base = usage("");
  const cost = (code: string) => usage(code) - base;

  it("starts at the interpreter's own blocks for an empty program", () => {
    expect(base).toBe(39);
    expect(usage("", "dispenser-esp32")).toBe(38);
  });

  it("counts names by length and small integers inside them", () => {
    expect(cost("var abcd = 1;")).toBe(1);
    expect(cost("var abcde = 1;")).toBe(2);
    expect(cost("var abcdefghijklmn = 1;")).toBe(3);
    expect(cost("var a = 70000;")).toBe(2);
    expect(cost("var a = true;")).toBe(2);
  });

  it("counts strings, objects, arrays and typed arrays as Espruino stores them", () => {
    expect(cost('var s = "' + "x".repeat(60) + '";')).toBe(8);
    expect(cost("var o = { b: 1, c: 'x' };")).toBe(5);
    expect(cost("var a = [true, null, 1.5];")).toBe(7);
    expect(cost("var u = new Uint8Array(320);")).toBe(8 + 29);
  });

  it("counts functions by parameters and body, closures by the scope they keep", () => {
    expect(cost("function f(a, b) { return a + b; }")).toBe(6);
    expect(cost("function e() {}")).toBe(2);
    expect(cost("var m = (function () { var s = 1; function g() { return s; } function h(v) { s = v; } return { g: g, h: h }; })();")).toBe(17);
  });

  it("counts timers and what the interpreter keeps for them", () => {
    expect(cost("setTimeout(function () {}, 100000);")).toBe(6);
    expect(cost("setInterval(function () { return 1; }, 100000);")).toBe(10);
  });

  it("E.getSizeOf gives the size of one value", () => {
    const dev = new SimDevice({ board: "alarm-esp32", clock: new VirtualClock() });
    dev.install("");
    dev.powerOn();
    expect(dev.evaluate("E.getSizeOf({ a: 1, b: 'hello' })")).toBe(1 + 1 + (1 + 1));
  });
});
