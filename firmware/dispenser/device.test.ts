// The dispenser app on the real device core (outbox, link, session) over the fake Hal, against the
// fake gateway with the gateway's codec: schedule downlink -> ack, a dose dispensed and taken, events
// over the real framing/MAC, offline replay with the late flag, and a reboot that keeps everything.
import { describe, expect, it } from "vitest";
import { FakeHal } from "../core/fake-hal.ts";
import { FakeGateway } from "../build/fake-gateway.ts";
import { nodeSha256 } from "../../protocol/schema.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { runDispenser } from "./device.ts";

const board = loadBoard("dispenser-esp32");
const P = board.pins as Record<string, string>;
const KEY = new Uint8Array(32).map((_, i) => i + 1);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const T0 = Date.parse("2026-11-23T05:00:00Z"); // 06:00 in Oslo (CET)

function device(files?: any, t = T0, pos = 0, outboxMax?: number) {
  const hal = new FakeHal(nodeSha256, files ?? { "varde.id": JSON.stringify({ id: 42, key: hex(KEY), kind: "dispenser" }) });
  hal.t = t;
  hal.levels[P.button] = true; // pull-up: released
  hal.levels[P.mains_sense] = true;
  hal.analogs[P.battery] = 4.0 / 3.3 / 2;
  hal.analogs[P.slot_sensor] = pos;
  const gw = new FakeGateway(KEY);
  const defaults = outboxMax ? { ...board.defaults, outbox_max: outboxMax } : board.defaults;
  const dev = runDispenser(hal, { ...board, defaults, extra: board.extra }, "0.1.0")!;
  return { hal, gw, dev };
}

/** Runs the fake Hal with a carousel: the encoder follows the motor at 1.5 s per compartment. */
function run(hal: FakeHal, gw: FakeGateway, ms: number, online = true) {
  const end = hal.t + ms;
  while (hal.t < end) {
    const step = Math.min(hal.pin(P.motor) ? 100 : online ? 1000 : 60_000, end - hal.t);
    hal.advance(step);
    if (hal.pin(P.motor)) hal.analogs[P.slot_sensor] += 100 / 1500 / 29;
    else {
      // at rest within reach of a compartment: it empties into the tray
      const pos = hal.analogs[P.slot_sensor] * 29;
      const c = Math.round(pos);
      if (c >= 1 && Math.abs(pos - c) < 0.25 && !(hal as any).emptied?.includes(c)) {
        ((hal as any).emptied ??= []).push(c);
        hal.analogs[P.slot_sensor] = c / 29;
        hal.setPin(P.tray_sensor, true);
      }
    }
    if (online) {
      gw.feed(hal.sent.splice(0));
      for (const f of gw.replies.splice(0)) hal.deliver(f);
    } else hal.sent.length = 0;
  }
}

const SCHEDULE = { schedule: { version: 3, doses: [{ minute: 480 }, { minute: 1200 }] } };

describe("dispenser on the device core", () => {
  it("handshake, schedule acked, a dose dispensed and taken, offline events replayed late", () => {
    const { hal, gw } = device();
    hal.deliver(gw.hello(7, Math.floor(T0 / 1000)));
    run(hal, gw, 1000);
    expect(gw.with("info")[0].info.nonce).toBe(7);
    hal.deliver(gw.reliable(SCHEDULE));
    run(hal, gw, 1000);
    const ack = gw.distinct("scheduleAck");
    expect(ack.length).toBe(1);
    expect(ack[0].scheduleAck).toMatchObject({ version: 3, ok: true });
    // 08:00 local = 07:00 UTC: press at 08:05
    run(hal, gw, 2 * 3600_000 + 5 * 60_000);
    hal.setPin(P.button, false);
    hal.setPin(P.button, true);
    run(hal, gw, 10_000);
    expect((hal as any).emptied).toEqual([1]);
    run(hal, gw, 60_000);
    hal.setPin(P.tray_sensor, false);
    run(hal, gw, 10_000);
    const taken = gw.distinct("dose").filter((e) => e.dose.kind === 0);
    expect(taken.length).toBe(1);
    expect(taken[0].time - taken[0].dose.delayS).toBe(Date.parse("2026-11-23T07:00:00Z") / 1000);
    expect(taken[0].dose.delayS).toBeGreaterThanOrEqual(300);
    expect(taken[0].late).toBe(false);
    // gateway gone: the 20:00 dose is missed (no press) and the event waits in flash
    run(hal, gw, 14 * 3600_000, false);
    hal.deliver(gw.hello(8, Math.floor(hal.t / 1000)));
    run(hal, gw, 60_000);
    const missed = gw.distinct("dose").filter((e) => e.dose.kind === 1);
    expect(missed.length).toBe(1);
    expect(missed[0].late).toBe(true);
    expect(missed[0].time).toBe(Date.parse("2026-11-23T21:00:00Z") / 1000); // 22:00 local late limit
  });

  it("reboot mid-dispense: the intent on flash finishes the same dose once", () => {
    const { hal, gw } = device();
    hal.deliver(gw.hello(1, Math.floor(T0 / 1000)));
    hal.deliver(gw.reliable(SCHEDULE));
    run(hal, gw, 2 * 3600_000 + 60_000);
    hal.setPin(P.button, false);
    hal.setPin(P.button, true);
    run(hal, gw, 700); // half way
    expect(hal.pin(P.motor)).toBe(true);
    // power cut: RAM gone, flash (files) and the carousel stay
    const files = hal.files;
    const pos = hal.analogs[P.slot_sensor];
    const again = device(files, hal.t, pos);
    (again.hal as any).emptied = (hal as any).emptied; // the carousel is the same object (none emptied yet)
    again.hal.deliver(gw.hello(2, Math.floor(hal.t / 1000)));
    run(again.hal, gw, 10_000);
    expect((again.hal as any).emptied).toEqual([1]);
    again.hal.setPin(P.tray_sensor, false);
    run(again.hal, gw, 10_000);
    again.hal.setPin(P.button, false);
    again.hal.setPin(P.button, true);
    run(again.hal, gw, 10_000);
    expect((again.hal as any).emptied).toEqual([1]);
    expect(gw.distinct("dose").filter((e) => e.dose.kind === 0).length).toBe(1);
  });

  it("an exception inside the dose cycle is caught, reported once as FAULT_INTERNAL_ERROR, and the cycle keeps running", () => {
    const { hal, gw, dev } = device();
    hal.deliver(gw.hello(1, Math.floor(T0 / 1000)));
    hal.deliver(gw.reliable(SCHEDULE));
    run(hal, gw, 10_000);
    const cycle = dev.app.cycle;
    const realStep = cycle.step.bind(cycle);
    let fail = 3;
    cycle.step = (now: number) => {
      if (fail-- > 0) throw new Error("boom");
      return realStep(now);
    };
    dev.app.tick();
    run(hal, gw, 2 * 3600_000 + 60_000); // to 08:01 local
    hal.setPin(P.button, false);
    hal.setPin(P.button, true);
    run(hal, gw, 10_000);
    expect((hal as any).emptied).toEqual([1]);
    const internal = gw.distinct("fault").filter((e) => e.fault.code === 12);
    expect(internal.length).toBe(1);
  });

  it("a full outbox refuses new records; FAULT_OUTBOX_FULL goes out once there is room again", () => {
    const { hal, gw } = device(undefined, T0, 0, 6);
    hal.deliver(gw.hello(1, Math.floor(T0 / 1000)));
    run(hal, gw, 5_000);
    const before = gw.distinct("fault").length;
    for (let i = 0; i < 5; i++) {
      hal.setPin(P.mains_sense, false); // offline: 10 mains faults for 6 places
      hal.setPin(P.mains_sense, true);
    }
    run(hal, gw, 1_000, false);
    run(hal, gw, 20 * 60_000); // back online: the queue drains, the next supervision reports
    const faults = gw.distinct("fault");
    const full = faults.filter((e) => e.fault.code === 9);
    expect(full.length).toBe(1);
    expect(full[0].fault.detail).toBe(4);
    expect(faults.length - before).toBe(6 + 1);
  });
});
