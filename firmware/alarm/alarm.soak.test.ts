// Soak in virtual time on the fake Hal: days of random presses, gateway outages and power cuts.
// Every alarm the device accepted reaches the gateway, none is invented, the outbox stays bounded and
// no handler throws. Short by default (3 days); SOAK_DAYS=30 for a long run.
import { describe, it, expect } from "vitest";
import { FakeHal } from "../core/fake-hal.ts";
import { loadIdentity } from "../core/link.ts";
import { AlarmApp } from "./alarm.ts";
import { FakeGateway } from "../build/fake-gateway.ts";
import { nodeSha256 } from "../../protocol/schema.ts";
import { loadBoard, firmwareBoard } from "../../hardware/boards.ts";

const DAYS = Number(process.env.SOAK_DAYS || 3);

describe("alarm app soak", () => {
  it(`${DAYS} days of presses, outages and power cuts lose no alarm`, () => {
    const board: any = firmwareBoard(loadBoard("alarm-esp32"));
    const files: any = { "varde.id": JSON.stringify({ id: 3, key: "cd".repeat(32), kind: "alarm" }) };
    let seed = 99;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let t = 1790000000000;
    let hal!: FakeHal;
    let app!: AlarmApp;
    const gw = new FakeGateway(new Uint8Array(32).fill(0xcd), true);
    const boot = () => {
      hal = new FakeHal(nodeSha256, files);
      hal.t = t;
      hal.seed = Math.floor(rnd() * 1e9);
      hal.levels[board.pins.button] = true; // active low: idle high
      app = new AlarmApp(hal, board, "0.1.0", loadIdentity(hal)!);
      app.start();
    };
    boot();
    let gatewayUp = true;
    const accepted = new Set<number>();
    let cuts = 0;
    let maxDepth = 0;
    const end = t + DAYS * 86400_000;
    while (t < end) {
      // an hour at a time: maybe a press, maybe the gateway goes away or comes back, maybe a power cut
      const r = rnd();
      if (r < 0.15) {
        hal.setPin(board.pins.button, false);
        hal.advance(150);
        hal.setPin(board.pins.button, true);
        if (app.alarmSeq) accepted.add(app.alarmSeq);
      }
      if (rnd() < 0.05) gatewayUp = !gatewayUp;
      const stepEnd = hal.t + 3600_000;
      while (hal.t < stepEnd) {
        const out = hal.sent.splice(0);
        if (gatewayUp) gw.feed(out);
        for (const f of gw.replies.splice(0)) hal.deliver(f);
        hal.advance(gatewayUp ? 500 : 30_000);
        maxDepth = Math.max(maxDepth, app.outbox.depth());
      }
      if (rnd() < 0.03) {
        cuts++;
        t = hal.t + 60_000;
        boot(); // power cut: RAM gone (the old instance is dropped), flash kept
      }
      t = hal.t;
      expect(app.errors).toBe(0);
    }
    // heal: the gateway stays up until the outbox is empty
    gatewayUp = true;
    for (let i = 0; i < 2000 && app.outbox.depth() > 0; i++) {
      gw.feed(hal.sent.splice(0));
      for (const f of gw.replies.splice(0)) hal.deliver(f);
      hal.advance(1000);
    }
    expect(app.outbox.depth()).toBe(0);
    const got = new Set(gw.distinct("alarm").filter((e) => !e.alarm.cancel).map((e) => e.seq));
    for (const s of accepted) expect(got.has(s)).toBe(true);
    const sentSeqs = new Set(gw.distinct("alarm").map((e) => e.seq));
    expect(sentSeqs.size).toBe(gw.distinct("alarm").length); // one seq, one event (dedup by boot:seq holds)
    expect(maxDepth).toBeLessThanOrEqual(board.defaults.outbox_max);
    console.log(`soak ${DAYS} d: ${accepted.size} alarms accepted, ${got.size} delivered, ${cuts} power cuts, max outbox depth ${maxDepth}`);
  });
});
