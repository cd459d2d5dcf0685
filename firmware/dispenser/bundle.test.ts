// The dispenser bundle passes the Espruino check (buildFirmware runs it and throws on any unsupported
// construct) and fits the board's size budget; the size is printed.
import { expect, it } from "vitest";
import { buildFirmware } from "../build/index.ts";

it("dispenser-esp32 bundle passes the Espruino check and fits its budget", async () => {
  const r = await buildFirmware("dispenser-esp32", { noWrite: true });
  console.log(`dispenser-esp32 bundle: ${r.bytes} bytes of ${r.budget} (${Math.round((100 * r.bytes) / r.budget)}%)`);
  expect(r.bytes).toBeLessThanOrEqual(r.budget);
  expect(r.code).toContain("disp.st"); // it is the dispenser app
});

// The bundle in the simulator (SimRig: the real bundle against a fake gateway, virtual time).
import { SimRig } from "../build/sim-rig.ts";

it("answers Config with ConfigAck: heartbeat taken and persisted, alarm-only keys refused with the reason", async () => {
  const { code } = await buildFirmware("dispenser-esp32", { noWrite: true });
  const rig = new SimRig({ board: "dispenser-esp32", code, autoAck: true });
  rig.dev.powerOn();
  rig.send(rig.gw.hello(7, 1795000000));
  await rig.run(1000);
  rig.send(rig.gw.reliable({ config: { version: 5, heartbeatS: 120 } }));
  await rig.run(1000);
  rig.send(rig.gw.reliable({ config: { version: 6, cancelWindowS: 10 } }));
  await rig.run(1000);
  const acks = rig.gw.distinct("configAck").map((e) => e.configAck);
  expect(acks).toEqual([
    { version: 5, ok: true, error: "" },
    { version: 6, ok: false, error: "alarm-only keys on a dispenser" },
  ]);
  // the heartbeat now announces the new interval, also after a reboot (state "cf")
  rig.dev.powerOff();
  rig.dev.powerOn();
  rig.send(rig.gw.hello(8, 1795000100));
  await rig.run(2000);
  const beats = rig.gw.got.filter((e) => e.heartbeat);
  expect(beats[beats.length - 1].heartbeat.intervalS).toBe(120);
  expect(rig.gw.with("info").pop().info.configVersion).toBe(5);
  // each input's pull is its own: the button pulled up (active low), the sensors pulled down (high = active)
  const pin = (name: string) => Number(String(rig.board.pins[name]).slice(1));
  expect(rig.dev.pins.mode(pin("button"))).toBe("input_pullup");
  for (const n of ["tray_sensor", "lid_switch", "tamper_switch", "mains_sense"]) expect(rig.dev.pins.mode(pin(n)), n).toBe("input_pulldown");
  expect(rig.dev.errors).toEqual([]);
});
