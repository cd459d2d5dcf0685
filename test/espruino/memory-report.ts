// `make espruino-memory`: the firmware's JsVars measured on the real interpreters, the figures the
// README and firmware/README.md quote (the tests assert the margins; this finds the actual worst moment).
//   * alarm-host on espruino-nrf52 (2,630): after boot and handshake; the worst moment of the full cycle
//     (alarm-cycle.ts, with retransmissions), found by ballast: the largest ballast with which the cycle
//     still completes cleanly, so worst-moment usage = total - that ballast (to within the search step);
//   * alarm-nrf52 itself (the BLE bundle) after boot on espruino-nrf52, its radio replaced by a minimal NRF
//     stand-in in .boot0 (the Linux build has no BLE): the BLE code path's own cost;
//   * dispenser-host on espruino-esp32 (16,383): after boot.
// Writes dist/espruino-memory.json and prints a Markdown table.
import * as fs from "node:fs";
import * as path from "node:path";
import { RealDevice } from "../support/espruino-device.ts";
import { GatewayRig } from "../support/gateway-rig.ts";
import { findEspruino } from "../support/espruino.ts";
import { newDeviceKey } from "../../gateway/registry.ts";
import { ALARM_BOARD, alarmCycle, ballast, memoryClean, bleAfterBoot } from "./alarm-cycle.ts";

const TOTAL = ALARM_BOARD.memory.jsvars;
const STEP = Number(process.env.MEMORY_STEP || 25);

async function alarmRun(n: number, load: number): Promise<{ ok: boolean; afterBoot: number; dev: RealDevice; gw: GatewayRig }> {
  const key = newDeviceKey();
  const id = 6000 + n;
  const dev = await RealDevice.create({ build: "nrf52", board: "alarm-host", id, key });
  const gw = await GatewayRig.start({ devices: [{ id, kind: "alarm", board: "alarm-host", key, serial: dev.dataPath }] });
  await dev.boot();
  await gw.until(() => gw.availability(id)?.online === true, 30_000, "online");
  await new Promise((r) => setTimeout(r, 3000)); // heartbeat and battery report after the handshake
  const afterBoot = (await dev.memory()).usage;
  let ok = true;
  try {
    await ballast(dev, load);
    await alarmCycle(dev, gw, id, 1, { retransmit: true });
    ok = await memoryClean(dev);
  } catch {
    ok = false;
  }
  return { ok, afterBoot, dev, gw };
}

async function dispenserAfterBoot(): Promise<number> {
  const key = newDeviceKey();
  const dev = await RealDevice.create({ build: "esp32", board: "dispenser-host", id: 7001, key });
  const gw = await GatewayRig.start({ devices: [{ id: 7001, kind: "dispenser", board: "dispenser-host", key, serial: dev.dataPath }] });
  dev.setInput("D39", true);
  await dev.boot();
  await gw.until(() => gw.availability(7001)?.online === true, 30_000, "online");
  await new Promise((r) => setTimeout(r, 3000));
  const m = (await dev.memory()).usage;
  await dev.dispose();
  await gw.close();
  return m;
}

const avail = findEspruino();
if (!avail.ok) {
  console.error(`the real interpreters are missing: ${avail.why}`);
  process.exit(1);
}
// binary search for the largest ballast the full cycle survives
let lo = 0;
let hi = TOTAL;
let afterBoot = 0;
let runs = 0;
while (hi - lo > STEP) {
  const mid = Math.floor((lo + hi) / 2);
  const r = await alarmRun(runs++, mid);
  afterBoot = r.afterBoot;
  process.stderr.write(`ballast ${mid}: ${r.ok ? "cycle ok" : "cycle failed"}\n`);
  await r.dev.dispose();
  await r.gw.close();
  if (r.ok) lo = mid;
  else hi = mid;
}
const worst = TOTAL - lo;
const ble = (await bleAfterBoot()).usage;
const disp = await dispenserAfterBoot();
const pct = (used: number, total: number) => `${Math.round(((total - used) * 1000) / total) / 10} %`;
const result = {
  date: new Date().toISOString(),
  alarmHost: { build: "espruino-nrf52", total: TOTAL, afterBoot, worst, worstWithin: STEP, freeAfterBoot: pct(afterBoot, TOTAL), freeAtWorst: pct(worst, TOTAL) },
  alarmNrf52: { build: "espruino-nrf52 (NRF stand-in)", total: TOTAL, afterBoot: ble, freeAfterBoot: pct(ble, TOTAL) },
  dispenserHost: { build: "espruino-esp32", total: 16383, afterBoot: disp, freeAfterBoot: pct(disp, 16383) },
};
fs.mkdirSync(path.join(import.meta.dirname, "../../dist"), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, "../../dist/espruino-memory.json"), JSON.stringify(result, null, 2));
console.log(`| bundle | interpreter | JsVars | used after boot | free after boot | used at the worst moment | free at the worst moment |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
| alarm-host (= alarm-nrf52 logic) | espruino-nrf52 | ${TOTAL} | ${afterBoot} | ${result.alarmHost.freeAfterBoot} | ≤ ${worst} (±${STEP}) | ≥ ${result.alarmHost.freeAtWorst} |
| alarm-nrf52 (BLE, NRF stand-in) | espruino-nrf52 | ${TOTAL} | ${ble} | ${result.alarmNrf52.freeAfterBoot} | | |
| dispenser-host | espruino-esp32 | 16383 | ${disp} | ${result.dispenserHost.freeAfterBoot} | | |`);
process.exit(0);
