// End to end over BLE, in one process and in real time: the real alarm bundle for the nRF52 board in the
// simulator (NRF globals from simulator/ble), the fake noble central, the gateway's BleTransport and the
// real gateway (sessions, SQLite outbox, embedded MQTT broker). A backend client sees the alarm and
// acknowledges it; the button's LEDs must reach "acknowledged" — also when the BLE link is lost while
// the device is retransmitting the alarm. Every frame on the link is measured: the framed alarm must
// fit one 50-byte notification.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { buildFirmware } from "../../firmware/build/index.ts";
import { startGateway, parseConfig, topic, filter, type GatewayHandle, type Link, type Transport } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { BleTransport } from "../../gateway/transports/ble.ts";
import { decodeMessage, encodeCanonical, openFrame } from "../../protocol/schema.ts";
import { FrameParser, HEADER_LEN, CRC_LEN } from "../../protocol/framing.ts";
import { RealtimeClock, SimDevice } from "../../simulator/index.ts";
import { BleRadio, FakeNoble, SimBlePeripheral, bleProvider, clockScheduler, type BleFaults } from "../../simulator/ble/index.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { alarmLedState } from "../../cli/demo/alarm-indicator.ts";
import { until } from "../support/wait.ts";

const GW = "ble-gw";
const ID = 5150;
const BOARD = "alarm-nrf52";


/** Wraps a transport so every device frame on its links is seen (size and decoded envelope). */
function tapped(inner: Transport, key: Uint8Array, frames: Array<{ size: number; env: any }>): Transport {
  return {
    name: inner.name,
    start: (onLink: (l: Link) => void) =>
      inner.start((link) => {
        const parser = new FrameParser((body) => {
          const env = openFrame(key, body);
          if (env) frames.push({ size: HEADER_LEN + body.length + CRC_LEN, env });
        });
        link.on("data", (b) => parser.push(b));
        onLink(link);
      }),
    stop: () => inner.stop(),
  };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function rig(seed = 3, faults: Partial<BleFaults> = {}) {
  const board = loadBoard(BOARD);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-ble-e2e-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keyHex = newDeviceKey();
  const key = new Uint8Array(Buffer.from(keyHex, "hex"));
  appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "alarm", board: BOARD, key: keyHex, label: "BLE button", created: new Date().toISOString() });
  const cfg = parseConfig({ gateway_id: GW, mqtt: { embedded_port: 0 }, metrics: { port: 0 }, log: { level: "silent" }, session: { hello_retry_ms: 300 } }, "ble-e2e.toml", dir);
  const gw: GatewayHandle = await startGateway(cfg);
  cleanup.push(() => gw.stop());

  // the backend: records events and acknowledges each one at application level
  const got: Array<{ topic: string; payload: Buffer }> = [];
  const backend = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "ble-e2e-backend" });
  cleanup.push(() => backend.endAsync());
  await backend.subscribeAsync([filter("event", GW), filter("response", GW), filter("availability", GW)], { qos: 1 });
  backend.on("message", (t, payload) => {
    got.push({ topic: t, payload });
    if (t.includes("/event/")) {
      const ev = decodeMessage("BackendEvent", payload);
      backend.publish(topic("ack", { gateway: GW }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    }
  });

  // the device: real bundle, real time, BLE peripheral on a simulated radio
  const fw = await buildFirmware(BOARD, { noWrite: true });
  const clock = new RealtimeClock({ seed });
  cleanup.push(() => clock.stop());
  const radio = new BleRadio({ scheduler: clockScheduler(clock), seed, advIntervalMs: 20, connectDelayMs: 5, faults });
  // BLE_TX_QUEUE=n limits the SoftDevice's notification queue (lost silently when full, like Espruino)
  const txQueue = process.env.BLE_TX_QUEUE ? Number(process.env.BLE_TX_QUEUE) : undefined;
  const periph = SimBlePeripheral.forBoard(board, { name: "Puck.js 5150", txQueue });
  expect(periph.attMtu).toBe(53);
  radio.addPeripheral(periph);
  const dev = new SimDevice({ board, clock, providers: [bleProvider(periph)], rtc: "keep" });
  cleanup.push(() => dev.powerOff());
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key: keyHex, kind: "alarm" })));
  dev.install(fw.code);
  dev.powerOn();

  // the gateway's BLE transport on the fake central
  const central = new FakeNoble(radio);
  const frames: Array<{ size: number; env: any }> = [];
  const ble = new BleTransport({ service: board.data.service!, toDevice: board.data.to_device!, fromDevice: board.data.from_device!, noble: central, backoffMinMs: 200, backoffMaxMs: 1000 });
  await gw.addTransport(tapped(ble, key, frames));

  const online = () => got.filter((m) => m.topic === topic("availability", { gateway: GW, device: ID })).map((m) => decodeMessage("DeviceAvailability", m.payload).online);
  await until(() => online().includes(true), 30_000, "the device online over BLE (scan, connect, pair, subscribe, handshake)");
  return { gw, got, backend, dev, radio, periph, ble, frames, fw, online };
}

const alarmTopic = topic("event", { gateway: GW, device: ID, type: "alarm" });

async function acknowledge(r: Awaited<ReturnType<typeof rig>>, seq: number) {
  await r.backend.publishAsync(topic("command", { gateway: GW, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: `ble-${seq}`, device: ID, alarmSeq: seq, responder: "ble-e2e" })), { qos: 1 });
  await until(() => alarmLedState(r.dev) === "acknowledged", 15_000, "LED 'acknowledged'");
}

describe(`alarm over BLE: ${BOARD} bundle ↔ fake central ↔ BleTransport ↔ gateway ↔ MQTT`, () => {
  it("press → alarm at the backend → LED 'received' → responder ack → LED 'acknowledged'; framed alarm fits one notification", async () => {
    const r = await rig();
    expect(r.periph.connection?.encrypted).toBe(true);
    expect(r.periph.uart).toBe(false); // no Nordic UART / REPL over BLE in production
    r.dev.button().press(200);
    await until(() => r.got.some((m) => m.topic === alarmTopic), 15_000, "the alarm event at the backend");
    const ev = decodeMessage("BackendEvent", r.got.find((m) => m.topic === alarmTopic)!.payload);
    expect(ev.device).toBe(ID);
    expect(ev.envelope.alarm.cancel).toBe(false);
    await until(() => alarmLedState(r.dev) === "received", 10_000, "LED 'received'");
    await acknowledge(r, ev.envelope.seq);

    const alarms = r.frames.filter((f) => f.env.alarm);
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    const size = alarms[0].size;
    const kinds = ["alarm", "info", "heartbeat", "battery", "fault", "configAck", "status"];
    const seen = [...new Set(r.frames.map((f) => (Object.keys(f.env).find((k) => kinds.includes(k)) ?? "ack-only") + ":" + f.size))];
    console.log(`[ble-e2e] framed alarm ${size} bytes (one notification holds 50); nRF52 bundle ${r.fw.bytes} bytes; frames seen (kind:bytes): ${seen.join(" ")}`);
    expect(size).toBeLessThanOrEqual(50);
    expect(r.got.filter((m) => m.topic === alarmTopic)).toHaveLength(1);
    expect(r.dev.errors).toEqual([]);
  }, 60_000);

  it("the link drops while the alarm is being retransmitted: reconnect, delivered once, acknowledged", async () => {
    const r = await rig();
    // notifications from the device are lost: the alarm goes out and is retransmitted with backoff
    r.radio.faults.notifyDrop = 1;
    r.dev.button().press(200);
    await until(() => r.radio.stats.notificationsDropped >= 2, 15_000, "the alarm sent and lost");
    await until(() => alarmLedState(r.dev) === "sending", 5_000, "LED 'sending'");
    // at least one retransmission (backoff_min_s = 2) is lost too
    const dropsBefore = r.radio.stats.notificationsDropped;
    await until(() => r.radio.stats.notificationsDropped > dropsBefore, 10_000, "a retransmission of the alarm");
    // the connection is lost mid-retry; the radio is clean again afterwards
    const lossesBefore = r.radio.stats.linkLosses;
    expect(r.radio.dropConnection(r.periph.address)).toBe(true);
    r.radio.faults.notifyDrop = 0;
    await until(() => r.radio.stats.linkLosses > lossesBefore && r.periph.connection !== null, 10_000, "BLE reconnect");
    await until(() => r.got.some((m) => m.topic === alarmTopic), 20_000, "the alarm event after the reconnect");
    const ev = decodeMessage("BackendEvent", r.got.find((m) => m.topic === alarmTopic)!.payload);
    await until(() => alarmLedState(r.dev) === "received", 10_000, "LED 'received'");
    await acknowledge(r, ev.envelope.seq);
    await new Promise((res) => setTimeout(res, 300));
    // retransmissions are deduplicated: one event for the backend
    expect(r.got.filter((m) => m.topic === alarmTopic)).toHaveLength(1);
    expect(r.dev.errors).toEqual([]);
  }, 90_000);

  // Seeded radio faults on every packet for a whole alarm cycle. BLE_CHAOS_ROUNDS=N runs N seeds
  // (a few seconds each); the default is one.
  const rounds = Number(process.env.BLE_CHAOS_ROUNDS ?? 1);
  let faultsSeen = 0;
  for (let round = 0; round < rounds; round++) {
    const seed = 100 + round;
    it(`seeded faults (seed ${seed}): 10% notifications lost, 10% corrupted, 1% link loss per packet — alarm once, acknowledged`, async () => {
      // from power-on: scan, pairing, handshake and time sync go through the faulty radio too
      const r = await rig(seed, { notifyDrop: 0.1, notifyCorrupt: 0.1, writeCorrupt: 0.05, disconnectPerPacket: 0.01 });
      r.dev.button().press(200);
      await until(() => r.got.some((m) => m.topic === alarmTopic), 40_000, "the alarm through a faulty radio");
      const ev = decodeMessage("BackendEvent", r.got.find((m) => m.topic === alarmTopic)!.payload);
      await r.backend.publishAsync(topic("command", { gateway: GW, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: `chaos-${seed}`, device: ID, alarmSeq: ev.envelope.seq, responder: "chaos" })), { qos: 1 });
      await until(() => alarmLedState(r.dev) === "acknowledged", 40_000, "LED 'acknowledged' through a faulty radio");
      const st = r.radio.stats;
      console.log(`[ble-e2e chaos seed ${seed}] notifications ${st.notifications} (dropped ${st.notificationsDropped}, corrupted ${st.notificationsCorrupted}), writes ${st.writes} (corrupted ${st.writesCorrupted}), link losses ${st.linkLosses}, connections ${st.connections}`);
      faultsSeen += st.notificationsDropped + st.notificationsCorrupted + st.writesCorrupted + st.linkLosses;
      // a run that injected nothing would prove nothing (a handful of packets per seed; seed 100 hits several)
      if (round === rounds - 1) expect(faultsSeen).toBeGreaterThan(0);
      expect(r.got.filter((m) => m.topic === alarmTopic)).toHaveLength(1);
      expect(r.dev.errors).toEqual([]);
    }, 120_000);
  }
});
