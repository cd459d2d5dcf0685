// The alarm button's full cycle on the real interpreter, shared by the test (alarm-real.test.ts) and the
// memory report (memory-report.ts): boot, handshake, time sync, heartbeat, a press with retransmissions
// while the gateway is away, the gateway's ack, the responder's AlarmAck shown on the LEDs, Config
// (ConfigAck) and Status.
import { expect } from "vitest";
import type { RealDevice } from "../support/espruino-device.ts";
import type { GatewayRig } from "../support/gateway-rig.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { buildFirmware } from "../../firmware/build/index.ts";
import { commitExpr, SLOTS } from "../../cli/tech/boot-layout.ts";
import { EspruinoSandbox } from "../support/espruino.ts";
import { createHash } from "node:crypto";

export const ALARM_BOARD = loadBoard("alarm-host");
const P = ALARM_BOARD.pins as Record<string, string>;

/** The LEDs as the wearer reads them (firmware/alarm/indicator.ts). */
export function leds(dev: RealDevice): string {
  const red = dev.pin(P.led_red) || dev.changes(P.led_red, 1200).length > 0;
  if (dev.pin(P.led_green) && !dev.pin(P.led_blue)) return "acknowledged";
  if (dev.pin(P.led_blue) && !red) return "received";
  if (red && !dev.pin(P.led_blue)) return "sending";
  return "other";
}

/** Output and error flags show no memory trouble. */
export async function memoryClean(dev: RealDevice): Promise<boolean> {
  if (/OUT OF MEMORY|Uncaught|ASSERT|Not enough memory/.test(dev.output)) return false;
  return !/MEMORY/.test(await dev.exec('print("@@f "+JSON.stringify(E.getErrorFlags()))'));
}

/** Takes `n` JsVars (one per array element: a small integer lives in the element's name) in a function,
 *  so no minified firmware global (i, e, t...) is overwritten by console code. */
export async function ballast(dev: RealDevice, n: number): Promise<void> {
  await dev.exec(n > 0 ? `(function(){var a=[];for(var k=0;k<${n};k++)a.push(k);global.BALLAST=a;})();` : "delete global.BALLAST;");
}

/** One full cycle (n numbers the Config so every cycle changes something); returns the alarm event. */
export async function alarmCycle(dev: RealDevice, gw: GatewayRig, id: number, n: number, opts: { retransmit?: boolean } = {}): Promise<any> {
  const before = gw.events("alarm").length;
  if (opts.retransmit) await gw.stop(); // the gateway is away: the alarm is retransmitted (2 s, 4 s, ...)
  await dev.press(P.button, 300);
  if (opts.retransmit) {
    await new Promise((r) => setTimeout(r, 8000));
    await gw.start();
  }
  await gw.until(() => gw.events("alarm").length === before + 1, 60_000, `alarm ${n} at the broker; device output:\n${dev.output.slice(-1500)}`);
  const ev = gw.events("alarm")[before];
  expect(ev.envelope.alarm.cancel).toBe(false);
  await gw.until(() => leds(dev) === "received", 15_000, `LED received (${leds(dev)})`);
  await gw.command("ack-alarm", { device: id, alarmSeq: ev.envelope.seq, responder: "Kari" }, "delivered");
  await gw.until(() => leds(dev) === "acknowledged", 15_000, "LED acknowledged");
  const acks = gw.events("config_ack").length;
  await gw.command("set-heartbeat", { device: id, heartbeatS: 60 + n }, "delivered");
  await gw.until(() => gw.events("config_ack").length === acks + 1, 15_000, "config_ack");
  expect(gw.events("config_ack")[acks].envelope.configAck.ok).toBe(true);
  const st = gw.events("status").length;
  await gw.command("device-command", { device: id, command: { kind: 1 } }, "delivered");
  await gw.until(() => gw.events("status").length === st + 1, 15_000, "status");
  // past the cancel window: the next press raises a new alarm
  await new Promise((r) => setTimeout(r, (ALARM_BOARD.defaults.cancel_window_s as number) * 1000 + 500));
  return ev;
}

/**
 * JsVars used by the shipping alarm-nrf52 bundle (BLE) a few seconds after booting from flash on
 * espruino-nrf52, its radio replaced by a minimal NRF stand-in in .boot0 that keeps what it is handed
 * (the Linux build has no BLE; the stand-in's own JsVars are counted too, so the figure is conservative)
 * and the console left on standard input.
 */
export async function bleAfterBoot(): Promise<{ usage: number; output: string }> {
  const { code } = await buildFirmware("alarm-nrf52", { noWrite: true });
  const box = await EspruinoSandbox.create("nrf52");
  try {
    const shim =
      "global.NRF={s:0,setServices:function(s,o){this.s=s;},setSecurity:function(){},setAdvertising:function(){},on:function(){},updateServices:function(){}};E.setConsole=function(){};";
    await box.writeStorage({ [SLOTS[0]]: code, ".boot0": shim });
    const pointer = { f: SLOTS[0], n: code.length, h: createHash("sha256").update(code, "latin1").digest("hex"), v: "m", b: "alarm-nrf52" };
    await box.runOk(`print(${commitExpr({ id: 9, key: "ab".repeat(32), kind: "alarm" }, pointer)});`);
    const p = await box.boot();
    await new Promise((r) => setTimeout(r, 4000));
    const out = await p.exec('print("@@mem "+JSON.stringify(process.memory()))');
    return { usage: JSON.parse(/@@mem (\{.*\})/.exec(out)![1]).usage, output: p.output };
  } finally {
    await box.dispose();
  }
}
