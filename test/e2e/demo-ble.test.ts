// `varde demo --board alarm-nrf52`: the BLE alarm button (simulated radio, the gateway's own BLE
// transport) works in the demo like the serial one (test/e2e/demo.test.ts runs alarm-esp32).
import { expect, it } from "vitest";
import * as fs from "node:fs";
import { runDemo } from "../support/demo.ts";

it("varde demo --board alarm-nrf52: the alarm over BLE is acknowledged, the dispenser's dose cycle runs", async () => {
  const r = await runDemo(["--board", "alarm-nrf52", "--ack-after", "0.5", "--speed", "300"]);
  expect(r.code, r.out).toBe(0);
  expect(r.out).toMatch(/alarm button 1001: BLE on a simulated radio/);
  expect(r.out).toMatch(/device 1001 \(demo alarm button\) session up on ble:/);
  expect(r.out).toMatch(/button +LED: green steady/);
  expect(r.out).toMatch(/dose missed \(compartment 2\)/);
  fs.rmSync(r.logDir, { recursive: true, force: true });
}, 120_000);
