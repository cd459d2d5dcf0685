import { describe, expect, it } from "vitest";
import { buildFirmware } from "../firmware/build/index.ts";
import { FrameParser } from "../protocol/framing.ts";
import { VirtualClock } from "./clock.ts";
import { SimFleet } from "./fleet.ts";
import { createMemoryLinkPair } from "./links/memory.ts";
import type { LinkEnd } from "./links/link.ts";

describe("SimFleet", () => {
  it("runs 50 alarm buttons on one virtual clock, each with its own identity, presses and frames", async () => {
    const built = await buildFirmware("alarm-esp32", { noWrite: true });
    const clock = new VirtualClock({ seed: 99 });
    const gatewaySide = new Map<number, LinkEnd>();
    const t0 = performance.now();
    const fleet = new SimFleet({
      board: built.board,
      clock,
      count: 50,
      bundle: built.code,
      firstId: 100,
      driftSpreadPpm: 3000,
      link: (id) => {
        const [dev, gw] = createMemoryLinkPair(clock, { bytesPerSecond: 11_520 });
        gatewaySide.set(id, gw);
        return dev;
      },
    });
    const frames = new Map<number, number>();
    for (const [id, gw] of gatewaySide) {
      const p = new FrameParser(() => frames.set(id, (frames.get(id) ?? 0) + 1));
      gw.onData((b) => p.push(b));
    }
    fleet.powerOnAll(100);
    clock.runFor(10_000);
    for (const m of fleet.members) m.device.button().press(200);
    clock.runFor(60_000);
    const wall = performance.now() - t0;
    console.log(`fleet: 50 alarm devices, 70 s of virtual time, ${clock.eventsRun} events in ${wall.toFixed(0)} ms wall time`);
    expect(fleet.errors()).toEqual([]);
    expect(frames.size).toBe(50);
    expect(new Set(fleet.members.map((m) => m.key)).size).toBe(50);
    expect(JSON.parse(Buffer.from(fleet.member(123).device.flash.read("varde.id")!).toString())).toMatchObject({ id: 123, kind: "alarm" });
    expect(fleet.devices.every((d) => d.powered)).toBe(true);
    // same seed, same identities
    const again = new SimFleet({ board: built.board, clock: new VirtualClock({ seed: 99 }), count: 2, bundle: "", firstId: 100 });
    expect(again.members.map((m) => m.key)).toEqual(fleet.members.slice(0, 2).map((m) => m.key));
  });
});
