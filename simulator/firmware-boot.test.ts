// Boots the real alarm bundle (built by firmware/build exactly as it is flashed) in the simulator.
import { describe, expect, it } from "vitest";
import { buildFirmware } from "../firmware/build/index.ts";
import { FrameParser } from "../protocol/framing.ts";
import { VirtualClock } from "./clock.ts";
import { SimDevice } from "./device.ts";
import { createMemoryLinkPair } from "./links/memory.ts";

describe("the alarm bundle in the simulator", () => {
  it("boots on alarm-esp32, moves the console off the data port and sends frames after a press", async () => {
    const built = await buildFirmware("alarm-esp32", { noWrite: true });
    const clock = new VirtualClock({ seed: 11 });
    const [devEnd, gwEnd] = createMemoryLinkPair(clock, { bytesPerSecond: 11_520 });
    const dev = new SimDevice({ board: built.board, clock, link: devEnd, memoryRefreshMs: 0 });
    const frames: Uint8Array[] = [];
    const parser = new FrameParser((body) => frames.push(body.slice()));
    gwEnd.onData((b) => parser.push(b));
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: 5, key: "11".repeat(32), kind: "alarm" })));
    dev.install(built.code);
    dev.powerOn();
    clock.runFor(1000);
    expect(dev.errors.map((e) => e.text)).toEqual([]);
    expect(dev.consoleDevice).toBe("LoopbackA");
    dev.button().press(200);
    clock.runFor(5000);
    expect(frames.length).toBeGreaterThan(0);
    expect(parser.bad).toBe(0);
    expect(dev.allLeds().some((l) => l.history.length > 0)).toBe(true);
    const mem = dev.evaluate("process.memory()") as { usage: number; total: number };
    console.log(`alarm-esp32 bundle ${built.bytes} bytes; estimated JsVars in use ${mem.usage} of ${mem.total}; ${frames.length} frames in 5 s after a press`);
    expect(mem.usage).toBeGreaterThan(200);
    expect(mem.usage).toBeLessThan(mem.total);
    clock.runFor(3_600_000);
    expect(dev.errors.map((e) => e.text)).toEqual([]);
  });
});
