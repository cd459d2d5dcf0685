// The dispenser's firmware on the REAL Espruino interpreter (espruino-esp32: 16,383 JsVars), installed as
// `varde flash` installs it and booted from flash, its data port on a pseudo-terminal facing the real
// gateway process and Mosquitto, its carousel, tray and sensors modelled around its pins: a schedule set
// by command, a dose missed at the late limit and a dose taken, each reaching the broker once with its
// codes; the whole cycle runs with half of the JsVars taken by ballast (>= 50 % free at its worst
// moment); then a power cut with a lid fault in the flash outbox, replayed after boot, once.
// Real time: schedules are whole local minutes and a dose is missed a minute after its time at the
// earliest, so this takes about three minutes.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEspruino } from "../support/espruino.ts";
import { RealDevice, DispenserMechanics } from "../support/espruino-device.ts";
import { GatewayRig } from "../support/gateway-rig.ts";
import { newDeviceKey } from "../../gateway/registry.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { osloMinute } from "../../simulator/scenarios/local-time.ts";
import { enumValues } from "../../protocol/schema.ts";

const ID = 5201;
const board = loadBoard("dispenser-host");
const P = board.pins as Record<string, string>;
const D = (board.extra as any).dispenser;
const TOTAL = board.memory.jsvars;
const DoseEventKind = enumValues("DoseEventKind");
const FaultCode = enumValues("FaultCode");

describeEspruino("dispenser on the real interpreter (espruino-esp32) through the real gateway", () => {
  let dev: RealDevice;
  let gw: GatewayRig;
  let mech: DispenserMechanics;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    const key = newDeviceKey();
    dev = await RealDevice.create({ build: "esp32", board: "dispenser-host", id: ID, key });
    gw = await GatewayRig.start({ devices: [{ id: ID, kind: "dispenser", board: "dispenser-host", key, serial: dev.dataPath }] });
    // the wires before power-on: mains present, a charged battery, button released (active low)
    dev.setInput(P.mains_sense, true);
    dev.setInput(P.button, true);
    dev.setAnalog(P.battery, 4.0 / (board.battery!.vref * board.battery!.divider));
    mech = new DispenserMechanics(dev, P, D.compartments, D.step_ms);
    await dev.boot();
  }, 120_000);

  afterAll(async () => {
    if (Object.keys(figures).length) console.log(`dispenser-host on espruino-esp32, JsVars used of ${TOTAL}: ${JSON.stringify(figures)}`);
    mech?.stop();
    await dev?.dispose();
    await gw?.close();
  });

  const clean = async () => {
    expect(dev.output).not.toMatch(/OUT OF MEMORY|Uncaught|ASSERT/);
    expect(await dev.exec('print("@@f "+JSON.stringify(E.getErrorFlags()))')).not.toMatch(/MEMORY/);
  };

  it("boots from flash, shakes hands; >= 50 % free", async () => {
    await gw.until(() => gw.availability(ID)?.online === true, 30_000, "device online");
    const m = await dev.memory();
    figures.afterBoot = m.usage;
    expect(m.free / TOTAL).toBeGreaterThanOrEqual(0.5);
    await clean();
  }, 60_000);

  it("schedule by command, a dose missed, a dose taken — with half the JsVars taken by ballast", async () => {
    await dev.exec(`(function(){var a=[];for(var k=0;k<${Math.ceil(TOTAL * 0.5)};k++)a.push(k);global.BALLAST=a;})();`);
    figures.idleWithBallast = (await dev.memory()).usage;
    // dose A at the next whole minute (missed a minute later: late_min 1), dose B a minute after it
    const now = Date.now();
    const a = Math.ceil((now + 5000) / 60_000) * 60_000;
    const b = a + 60_000;
    const schedule = { version: 3, doses: [{ minute: osloMinute(a) }, { minute: osloMinute(b) }], earlyMin: 30, lateMin: 1, collectMin: 15, remindEveryMin: 1 };
    await gw.command("set-schedule", { device: ID, schedule }, "delivered");
    await gw.until(() => gw.events("schedule_ack").length === 1, 20_000, "schedule_ack");
    expect(gw.events("schedule_ack")[0].envelope.scheduleAck).toMatchObject({ version: 3, ok: true });
    // nobody presses for dose A: missed at its late limit, with its scheduled time
    const doses = (k: number) => gw.events("dose").filter((e) => e.envelope.dose.kind === k);
    await gw.until(() => doses(DoseEventKind.DOSE_MISSED).length === 1, a - Date.now() + 90_000, "dose A missed");
    const missed = doses(DoseEventKind.DOSE_MISSED)[0];
    expect(missed.scheduled).toBe(a / 1000);
    expect(missed.time - missed.scheduled).toBeGreaterThanOrEqual(60);
    expect(missed.codes.some((c: any) => c.code === "1.1" && /alert/.test(c.system))).toBe(true);
    // the missed compartment is passed over at once (the carousel parks past it); then dose B: its window
    // is open, the patient presses, the carousel turns, the dose lies in the tray
    await gw.until(() => mech.pos > 1.3 && !dev.pin(P.motor), 30_000, "the carousel parked past the missed compartment");
    await dev.press(P.button, 300, false);
    try {
      await gw.until(() => mech.tray > 0, 30_000, "the dose in the tray");
    } catch (e) {
      throw new Error(`${(e as Error).message.split("\n")[0]}: carousel at ${mech.pos.toFixed(2)}, motor ${JSON.stringify(dev.history.get(P.motor))}, green ${dev.pin(P.led_green)} red ${dev.pin(P.led_red)}, events ${gw.events().map((x) => x.type + (x.envelope.fault ? x.envelope.fault.code : "")).join(",")}; output ${dev.output.slice(-600)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    mech.take();
    await gw.until(() => doses(DoseEventKind.DOSE_TAKEN).length === 1, 30_000, "dose B taken");
    const taken = doses(DoseEventKind.DOSE_TAKEN)[0];
    expect(taken.scheduled).toBe(b / 1000);
    expect(taken.codes.some((c: any) => /medicationdispense-events/.test(c.system))).toBe(true);
    // one compartment was passed over (A, missed) and one released (B): never two in the tray
    expect(mech.emptied).toEqual([2]);
    // the wires were right from power-on: no mains or battery fault was ever reported
    expect(gw.events("fault")).toEqual([]);
    await new Promise((r) => setTimeout(r, 2000));
    expect(doses(DoseEventKind.DOSE_MISSED)).toHaveLength(1);
    expect(doses(DoseEventKind.DOSE_TAKEN)).toHaveLength(1);
    figures.afterCycleWithBallast = (await dev.memory()).usage;
    await clean();
    await dev.exec("delete global.BALLAST;");
  }, 300_000);

  it("power cut with a fault in the flash outbox: replayed after boot, once", async () => {
    await gw.stop();
    const faults = () => gw.events("fault").filter((e) => e.envelope.fault.code === FaultCode.FAULT_LID_OPENED && !e.envelope.fault.cleared);
    const before = faults().length;
    dev.setInput(P.lid_switch, true); // the lid opened outside a refill
    await new Promise((r) => setTimeout(r, 1500));
    await dev.powerCut();
    dev.setInput(P.lid_switch, false);
    await gw.start();
    await dev.boot();
    await gw.until(() => faults().length === before + 1, 60_000, "the lid fault replayed");
    expect(faults()[before].envelope.late).toBe(true);
    await new Promise((r) => setTimeout(r, 3000));
    const ids = gw.events().map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    await clean();
  }, 120_000);
});
