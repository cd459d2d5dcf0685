// The alarm button's firmware on the REAL Espruino interpreter (espruino-nrf52: 2,630 JsVars, a
// Puck.js-class nRF52832), installed as `varde flash` installs it and booted from flash, its data port
// on a pseudo-terminal facing the real gateway process and a real Mosquitto: handshake, time sync, an
// alarm acknowledged by a responder and shown on the LEDs, Config and Status, a power cut with the
// alarm in the flash outbox, and memory: >= 50 % free after boot, >= 35 % at the worst moment of the
// cycle (the whole cycle run again with 35 % of the JsVars taken by ballast).
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEspruino } from "../support/espruino.ts";
import { RealDevice } from "../support/espruino-device.ts";
import { GatewayRig } from "../support/gateway-rig.ts";
import { newDeviceKey } from "../../gateway/registry.ts";
import { ALARM_BOARD, alarmCycle, ballast, bleAfterBoot, leds, memoryClean } from "./alarm-cycle.ts";

const ID = 5101;
const P = ALARM_BOARD.pins as Record<string, string>;
const TOTAL = ALARM_BOARD.memory.jsvars;

describeEspruino("alarm button on the real interpreter (espruino-nrf52) through the real gateway", () => {
  let dev: RealDevice;
  let gw: GatewayRig;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    const key = newDeviceKey();
    dev = await RealDevice.create({ build: "nrf52", board: "alarm-host", id: ID, key });
    gw = await GatewayRig.start({ devices: [{ id: ID, kind: "alarm", board: "alarm-host", key, serial: dev.dataPath }] });
    await dev.boot();
  }, 120_000);

  afterAll(async () => {
    if (Object.keys(figures).length) console.log(`alarm-host on espruino-nrf52, JsVars used of ${TOTAL}: ${JSON.stringify(figures)}`);
    await dev?.dispose();
    await gw?.close();
  });

  const noMemoryTrouble = async () => expect(await memoryClean(dev), dev.output.slice(-1000)).toBe(true);
  const cycle = (n: number, retransmit = false) => alarmCycle(dev, gw, ID, n, { retransmit });

  it("boots from flash with >= 50 % free, shakes hands, syncs its clock", async () => {
    await gw.until(() => gw.availability(ID)?.online === true, 30_000, "device online (handshake)");
    const info = gw.availability(ID);
    expect(info.board).toBe("alarm-host");
    // the device clock: set from the gateway's (Hello.gateway_time), within a second or two
    const t = Number(/@@t (\d+)/.exec(await dev.exec('print("@@t "+Math.floor(getTime()))'))![1]);
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(3);
    const m = await dev.memory();
    figures.afterBoot = m.usage;
    expect(m.total).toBe(TOTAL);
    expect(m.free / TOTAL).toBeGreaterThanOrEqual(0.5);
    await noMemoryTrouble();
  }, 60_000);

  it("the shipping alarm-nrf52 bundle (BLE) also boots from flash with >= 50 % free (radio stand-in)", async () => {
    const r = await bleAfterBoot();
    figures.nrf52BundleAfterBoot = r.usage;
    expect(r.output).not.toMatch(/Uncaught|OUT OF MEMORY/);
    expect((TOTAL - r.usage) / TOTAL).toBeGreaterThanOrEqual(0.5);
  }, 60_000);

  it("press → alarm at the broker with its codes → LED received → responder ack → LED acknowledged; Config and Status", async () => {
    await cycle(1);
    figures.afterCycle = (await dev.memory()).usage;
    await noMemoryTrouble();
  }, 120_000);

  it("power cut with the alarm still in the flash outbox: replayed after boot, once, late", async () => {
    await gw.stop(); // kill -9: the alarm cannot reach it
    const before = gw.events("alarm").length;
    await dev.press(P.button, 300);
    await new Promise((r) => setTimeout(r, 1500)); // in flash before anything else (raise -> outbox)
    await dev.powerCut();
    await gw.start();
    await dev.boot();
    await gw.until(() => gw.events("alarm").length === before + 1, 60_000, "the replayed alarm");
    const ev = gw.events("alarm")[before];
    expect(ev.envelope.late).toBe(true);
    await new Promise((r) => setTimeout(r, 3000));
    const ids = gw.events("alarm").map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    await gw.until(() => leds(dev) === "received", 15_000, "the open alarm shown as received after the reboot");
  }, 120_000);

  it("the worst moment of a full cycle leaves >= 35 % free: the cycle passes with 35 % taken by ballast", async () => {
    await ballast(dev, Math.ceil(TOTAL * 0.35));
    figures.idleWithBallast = (await dev.memory()).usage;
    await cycle(2, true); // with retransmissions: the gateway is away when the alarm is raised
    await noMemoryTrouble();
    await ballast(dev, 0);
  }, 180_000);
});
