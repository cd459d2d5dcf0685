// The real alarm bundles (dist/firmware/alarm-*.js as built) running in the simulator: ESP32 over
// serial, nRF52 over simulated BLE with the fake central. Virtual time; a few seconds in total.
import { describe, it, expect, beforeAll } from "vitest";
import { buildFirmware, type BuildResult } from "../build/index.ts";
import { SimRig } from "../build/sim-rig.ts";
import { enumValues } from "../../protocol/schema.ts";

const CommandKind = enumValues("CommandKind");
const FaultCode = enumValues("FaultCode");
import { normUuid } from "../../simulator/ble/index.ts";

const bundles: Record<string, BuildResult> = {};

beforeAll(async () => {
  for (const b of ["alarm-esp32", "alarm-nrf52"]) bundles[b] = await buildFirmware(b, { noWrite: true });
});

async function boot(board: string, opts: { autoAck?: boolean; txQueue?: number } = {}) {
  const rig = new SimRig({ board, code: bundles[board].code, autoAck: opts.autoAck, txQueue: opts.txQueue });
  rig.dev.powerOn();
  if (rig.board.data.transport === "ble") await rig.connectBle();
  // session start: the gateway's Hello sets the device clock, so events carry real Unix times
  rig.send(rig.gw.hello(0x1234, 1795000000));
  await rig.run(500);
  expect(rig.gw.with("info").map((e) => e.info.nonce)).toContain(0x1234);
  return rig;
}

describe("alarm bundle in the simulator", () => {
  for (const board of ["alarm-esp32", "alarm-nrf52"]) {
    it(`${board}: press -> alarm delivered and acked -> responder ack shown; console off the data port`, async () => {
      const rig = await boot(board);
      expect(rig.dev.errors).toEqual([]);
      expect(rig.dev.consoleDevice).toBe("LoopbackA");
      rig.dev.button().press(150);
      await rig.run(2000);
      const alarms = rig.gw.distinct("alarm");
      expect(alarms.length).toBe(1);
      expect(alarms[0].device).toBe(7);
      expect(rig.leds()).toEqual([false, false, true]); // received by the gateway
      const i = rig.gw.got.indexOf(alarms[0]);
      const framed = rig.gw.sizes[i];
      console.log(`${board}: bundle ${bundles[board].bytes} bytes, framed alarm ${framed} bytes`);
      expect(framed).toBeLessThanOrEqual(50);
      rig.send(rig.gw.reliable({ alarmAck: { alarmSeq: alarms[0].seq, responder: "R1" } }));
      await rig.run(1000);
      expect(rig.leds()).toEqual([false, true, false]); // acknowledged by a responder
      expect(rig.dev.buzzer().history.length).toBeGreaterThan(0);
      expect(rig.dev.errors).toEqual([]);
    });
  }

  it("alarm-esp32: a bouncing contact is one press (debounced by setWatch), not an alarm plus a cancel", async () => {
    const rig = await boot("alarm-esp32");
    const btn = rig.dev.button("button", { bounceMs: 15, bounceEdges: 6 });
    btn.press(200);
    await rig.run(3000);
    const alarms = rig.gw.distinct("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].alarm.cancel).toBe(false);
    expect(rig.leds()).toEqual([false, false, true]);
  });

  it("alarm-nrf52: the BLE service is the only one, encrypted, no Nordic UART; frames fit one 50-byte notification", async () => {
    const rig = await boot("alarm-nrf52");
    const p = rig.periph!;
    expect(p.uart).toBe(false);
    const svc = p.services.get(normUuid(rig.board.data.service!))!;
    const to = svc.chars.get(normUuid(rig.board.data.to_device!))!;
    const from = svc.chars.get(normUuid(rig.board.data.from_device!))!;
    expect(to.writable && to.write.encrypted).toBe(true);
    expect(from.notify && from.read.encrypted).toBe(true);
    expect(p.connection!.encrypted).toBe(true);
    rig.dev.button().press(150);
    await rig.run(2000);
    expect(rig.gw.distinct("alarm").length).toBe(1);
  });

  it("alarm-esp32: delivered after the gateway was down for an hour, and after a reboot mid-retry", async () => {
    const rig = await boot("alarm-esp32", { autoAck: true });
    rig.setGateway(false);
    rig.dev.button().press(150);
    await rig.run(20_000);
    rig.dev.reboot();
    await rig.run(3600_000);
    // still trying; past ack_timeout_s it shows "no-response" (red/blue alternating), never success
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      seen.add(rig.leds().join());
      await rig.run(250);
    }
    expect(seen).toEqual(new Set(["true,false,false", "false,false,true"]));
    rig.setGateway(true);
    await rig.run(130_000);
    const alarms = rig.gw.distinct("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].late).toBe(true);
    // delivered at last: "received" (blue) again, the responder's timeout restarted
    expect(rig.leds()).toEqual([false, false, true]);
    // the ack timeout fired while offline and was reported too
    expect(rig.gw.distinct("fault").map((e) => e.fault.code)).toContain(FaultCode.FAULT_ACK_TIMEOUT);
  });

  it("alarm-nrf52: delivered after a power cut mid-retry once the gateway reconnects", async () => {
    const rig = await boot("alarm-nrf52");
    rig.setGateway(false);
    rig.dev.button().press(150);
    await rig.run(5000);
    rig.dev.powerOff();
    await rig.run(1000);
    rig.dev.powerOn();
    rig.setGateway(true);
    await rig.connectBle();
    await rig.run(5000);
    const alarms = rig.gw.distinct("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].late).toBe(true);
  });

  it("alarm-nrf52: a central that does not pair (no encryption) can neither subscribe nor write", async () => {
    const rig = new SimRig({ board: "alarm-nrf52", code: bundles["alarm-nrf52"].code, pairing: "none" });
    rig.dev.powerOn();
    await expect(rig.connectBle()).rejects.toThrow(/insufficient encryption/);
    rig.dev.button().press(150);
    await rig.run(5000);
    expect(rig.gw.got.length).toBe(0);
  });

  it("alarm-nrf52: an alarm raised while the BLE link is down goes out when the central reconnects", async () => {
    const rig = await boot("alarm-nrf52");
    await rig.disconnectBle();
    await rig.run(1000);
    rig.dev.button().press(150);
    await rig.run(30_000);
    expect(rig.gw.with("alarm").length).toBe(0); // nothing can be notified without a connection
    const dot = rig.leds();
    expect(dot[1]).toBe(false); // never green
    await rig.connectBle();
    await rig.run(3000);
    const alarms = rig.gw.distinct("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].late).toBe(false); // 30 s after the press: not yet "late"
    expect(rig.leds()).toEqual([false, false, true]);
    expect(rig.dev.errors).toEqual([]);
  });

  it("alarm-nrf52: cancel and test alarm (three quick presses) reported as such; memory flags become a fault", async () => {
    const rig = await boot("alarm-nrf52");
    rig.dev.button().press(120);
    await rig.run(2000);
    rig.dev.button().press(120); // inside the cancel window
    await rig.run(8000);
    for (let i = 0; i < 3; i++) {
      rig.dev.button().press(80);
      await rig.run(250);
    }
    await rig.run(3000);
    const a = rig.gw.distinct("alarm").map((e) => e.alarm);
    expect(a[0]).toMatchObject({ test: false, cancel: false });
    expect(a[1]).toMatchObject({ cancel: true, alarmSeq: rig.gw.distinct("alarm")[0].seq });
    expect(a[a.length - 1]).toMatchObject({ test: true, cancel: false });
    rig.dev.raiseErrorFlag("LOW_MEMORY");
    await rig.run(rig.board.defaults.heartbeat_s as number * 1000 + 1000);
    expect(rig.gw.distinct("fault").map((e) => e.fault.code)).toContain(FaultCode.FAULT_OUT_OF_MEMORY);
    expect(rig.dev.errors).toEqual([]);
  });

  it("COMMAND_MAINTENANCE and a 5 s hold at power-on bring the REPL back to the data port", async () => {
    const rig = await boot("alarm-esp32");
    rig.send(rig.gw.reliable({ command: { kind: CommandKind.COMMAND_MAINTENANCE } }));
    await rig.run(1000);
    expect(rig.gw.got.some((e) => e.ack === 1)).toBe(true); // acked before the port changed hands
    expect(rig.dev.consoleDevice).toBe("Serial1");
    const rig2 = new SimRig({ board: "alarm-esp32", code: bundles["alarm-esp32"].code });
    rig2.dev.button().hold();
    rig2.dev.powerOn();
    await rig2.run(4000);
    expect(rig2.dev.consoleDevice).toBe("LoopbackA");
    await rig2.run(1500);
    expect(rig2.dev.consoleDevice).toBe("Serial1");
    rig2.dev.button().release();
    await rig2.run(500);
    expect(rig2.gw.with("alarm").length).toBe(0);
  });

  it("alarm-nrf52 with a one-notification SoftDevice queue: nothing lost, the two-chunk DeviceInfo included", async () => {
    // a full queue loses a notification silently (Espruino ignores NRF_ERROR_RESOURCES): the Hal paces them
    const rig = await boot("alarm-nrf52", { txQueue: 1 });
    expect(rig.gw.sizes.some((n) => n > rig.board.data.mtu_payload!)).toBe(true); // DeviceInfo spans two notifications
    rig.send(rig.gw.frame({ command: { kind: CommandKind.COMMAND_STATUS } }));
    rig.dev.button().press(150);
    await rig.run(3000);
    expect(rig.gw.distinct("alarm").length).toBe(1);
    expect(rig.gw.with("status").length).toBe(1);
    expect(rig.radio!.stats.notificationsOverflowed).toBe(0);
    expect(rig.dev.errors).toEqual([]);
  });

  it("alarm-nrf52 leaves at least half of its 2,630 JsVars free (app + state, after an alarm)", async () => {
    const rig = await boot("alarm-nrf52", { autoAck: false });
    const idle = rig.memory();
    rig.dev.button().press(150);
    await rig.run(10_000); // alarm pending, retransmitting, LEDs blinking
    const busy = rig.memory();
    console.log(`alarm-nrf52 JsVars (simulator estimate): idle used ${idle.usage}/${idle.total}, during an alarm used ${busy.usage}, free ${busy.free} (${Math.round((busy.free * 100) / busy.total)}%)`);
    expect(busy.total).toBe(2630);
    expect(busy.free).toBeGreaterThanOrEqual(busy.total / 2);
    expect(idle.free).toBeGreaterThanOrEqual(idle.total / 2);
  });
});
