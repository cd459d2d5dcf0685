// The alarm button's firmware on the REAL Espruino interpreter (espruino-nrf52: 2,630 JsVars, a
// Puck.js-class nRF52832), installed as `varde flash` installs it and booted from flash, its data port
// on a pseudo-terminal facing the real gateway process and a real Mosquitto: handshake, time sync, an
// alarm acknowledged by a responder and shown on the LEDs, Config and Status, a power cut with the
// alarm in the flash outbox, and memory: >= 50 % free after boot, >= 35 % at the worst moment of the
// cycle (the whole cycle run again with 35 % of the JsVars taken by ballast).
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEspruino } from "../support/espruino.ts";
import { RealDevice } from "../support/espruino-device.ts";
import { GatewayProcess } from "../support/gateway-process.ts";
import { newDeviceKey } from "../../gateway/registry.ts";
import { loadBoard } from "../../hardware/boards.ts";

const ID = 5101;
const board = loadBoard("alarm-host");
const P = board.pins as Record<string, string>;
const TOTAL = board.memory.jsvars;

/** The LEDs as the wearer reads them (firmware/alarm/indicator.ts). */
function leds(dev: RealDevice): string {
  const red = dev.pin(P.led_red) || dev.changes(P.led_red, 1200).length > 0;
  if (dev.pin(P.led_green) && !dev.pin(P.led_blue)) return "acknowledged";
  if (dev.pin(P.led_blue) && !red) return "received";
  if (red && !dev.pin(P.led_blue)) return "sending";
  return "other";
}

describeEspruino("alarm button on the real interpreter (espruino-nrf52) through the real gateway", () => {
  let dev: RealDevice;
  let gw: GatewayProcess;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    const key = newDeviceKey();
    dev = await RealDevice.create({ build: "nrf52", board: "alarm-host", id: ID, key });
    gw = await GatewayProcess.start({ devices: [{ id: ID, kind: "alarm", board: "alarm-host", key, serial: dev.dataPath }] });
    await dev.boot();
  }, 120_000);

  afterAll(async () => {
    if (Object.keys(figures).length) console.log(`alarm-host on espruino-nrf52, JsVars used of ${TOTAL}: ${JSON.stringify(figures)}`);
    await dev?.dispose();
    await gw?.close();
  });

  const noMemoryTrouble = async () => {
    expect(dev.output).not.toMatch(/OUT OF MEMORY|Uncaught|ASSERT/);
    expect(await dev.exec('print("@@f "+JSON.stringify(E.getErrorFlags()))')).not.toMatch(/MEMORY/);
  };

  /** A full cycle through the gateway: press, gateway ack, responder ack, Config, Status, heartbeat. */
  const cycle = async (n: number) => {
    const before = gw.events("alarm").length;
    await dev.press(P.button, 300);
    await gw.until(() => gw.events("alarm").length === before + 1, 30_000, `alarm ${n} at the broker; device output:\n${dev.output.slice(-1500)}`);
    const ev = gw.events("alarm")[before];
    expect(ev.envelope.alarm.cancel).toBe(false);
    expect(ev.codes).toEqual(expect.arrayContaining([expect.objectContaining({ code: "4.13" }), expect.objectContaining({ system: "SCAIP", code: "0010" })]));
    await gw.until(() => leds(dev) === "received", 15_000, `LED received (${leds(dev)})`);
    await gw.command("ack-alarm", { device: ID, alarmSeq: ev.envelope.seq, responder: "Kari" }, "delivered");
    await gw.until(() => leds(dev) === "acknowledged", 15_000, "LED acknowledged");
    const acks = gw.events("config_ack").length;
    await gw.command("set-heartbeat", { device: ID, heartbeatS: 60 + n }, "delivered");
    await gw.until(() => gw.events("config_ack").length === acks + 1, 15_000, "config_ack");
    expect(gw.events("config_ack")[acks].envelope.configAck.ok).toBe(true);
    const st = gw.events("status").length;
    await gw.command("device-command", { device: ID, command: { kind: 1 } }, "delivered");
    await gw.until(() => gw.events("status").length === st + 1, 15_000, "status");
    return ev;
  };

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
    const ballast = Math.ceil(TOTAL * 0.35);
    // one JsVar per element (a small integer is kept inside the element's name); inside a function:
    // the firmware's minified globals (i, e, t...) must not be overwritten by console code
    await dev.exec(`(function(){var a=[];for(var k=0;k<${ballast};k++)a.push(k);global.BALLAST=a;})();`);
    figures.idleWithBallast = (await dev.memory()).usage;
    // retransmissions: the gateway is away while the alarm is raised (backoff 2 s, 4 s, ...)
    await gw.stop();
    const before = gw.events("alarm").length;
    await dev.press(P.button, 300);
    await new Promise((r) => setTimeout(r, 8000));
    await gw.start();
    await gw.until(() => gw.events("alarm").length === before + 1, 60_000, "the retransmitted alarm");
    await gw.command("ack-alarm", { device: ID, alarmSeq: gw.events("alarm")[before].envelope.seq }, "delivered");
    await gw.until(() => leds(dev) === "acknowledged", 15_000, "LED acknowledged");
    await new Promise((r) => setTimeout(r, 11_000)); // past the cancel window: the next press is a new alarm
    await cycle(2);
    await noMemoryTrouble();
    await dev.exec("delete global.BALLAST;");
  }, 180_000);
});
