import { describe, expect, it } from "vitest";
import { loadBoard } from "../../hardware/boards.ts";
import { VirtualClock } from "../clock.ts";
import { SimDevice } from "../device.ts";
import { BASELINE_VARS } from "./memory.ts";

const usage = (code: string): number => {
  const dev = new SimDevice({ board: loadBoard("alarm-nrf52"), clock: new VirtualClock(), memoryRefreshMs: 0 });
  dev.install(code);
  dev.powerOn();
  const m = dev.evaluate("process.memory()") as { usage: number; total: number; free: number };
  expect(m.total).toBe(2630);
  expect(m.free).toBe(m.total - m.usage);
  return m.usage;
};

describe("process.memory() estimate", () => {
  it("starts at the baseline for an empty program", () => {
    expect(usage("")).toBe(BASELINE_VARS);
  });

  it("counts globals, typed-array bytes and strings the way Espruino stores them", () => {
    const base = usage("");
    expect(usage("var buf = new Uint8Array(1200);") - base).toBe(1 + 2 + 100);
    expect(usage("var s = 'x'.repeat(120);") - base).toBe(1 + 10);
    expect(usage("var o = { a: 1, b: 'hello', c: [1, 2, 3] };") - base).toBe(1 + 1 + 1 + (1 + 1) + (1 + 1 + 3));
  });

  it("sees state kept in closures (an IIFE bundle keeps everything there)", () => {
    const base = usage("");
    const held = usage(`(function () {
      var list = [];
      for (var i = 0; i < 200; i++) list.push(i);
      setInterval(function () { list.length; }, 1000);
    })();`);
    expect(held - base).toBeGreaterThan(200);
    expect(held - base).toBeLessThan(220);
  });

  it("E.getSizeOf gives the size of one value", () => {
    const dev = new SimDevice({ board: "alarm-esp32", clock: new VirtualClock() });
    dev.install("");
    dev.powerOn();
    expect(dev.evaluate("E.getSizeOf({ a: 1, b: 'hello' })")).toBe(1 + 1 + (1 + 1));
  });
});
