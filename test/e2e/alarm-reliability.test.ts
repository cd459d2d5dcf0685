// Issue 4's delivery promises, proved with the real alarm bundle in the simulator and the real gateway
// (sessions, SQLite outbox, embedded MQTT broker, a backend client that acknowledges every event):
//   * an alarm pressed while the gateway is down for an hour arrives once, with the time it was pressed;
//   * an alarm still being retried when the button reboots arrives once after the reboot;
//   * a cancel and a test alarm reach the backend marked as such.
// The device runs on a VirtualClock: the offline hour passes in virtual time; once the gateway is there
// the clock is pumped in step with real time, because the gateway and the broker run on real time.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { buildFirmware } from "../../firmware/build/index.ts";
import { startGateway, parseConfig, topic, filter, type GatewayHandle } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { SimLink, until } from "../support/sim-gateway.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../../simulator/index.ts";
import { alarmLedState } from "../../cli/demo/alarm-indicator.ts";

const GW = "rel-gw";
const ID = 7001;
const BOARD = "alarm-esp32";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let bundle: string | null = null;

/** A button whose virtual clock starts `offsetMs` before now, on a link nobody listens to yet. */
async function button(offsetMs: number) {
  bundle ??= (await buildFirmware(BOARD, { noWrite: true })).code;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-rel-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "alarm", board: BOARD, key, label: "reliability", created: new Date().toISOString() });
  const clock = new VirtualClock({ seed: 11, startMs: Date.now() - offsetMs });
  const [devEnd, gwEnd] = createMemoryLinkPair(clock);
  const dev = new SimDevice({ board: BOARD, clock, link: devEnd, rtc: "keep" });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key, kind: "alarm" })));
  dev.install(bundle);
  dev.powerOn();
  cleanup.push(() => dev.powerOff());
  return { dir, clock, dev, gwEnd };
}

/** Starts the gateway (embedded broker) and a backend that acks every event; pumps the device's clock in real time. */
async function gateway(b: Awaited<ReturnType<typeof button>>) {
  const pump = setInterval(() => b.clock.runUntil(Math.max(b.clock.now(), Date.now())), 10);
  cleanup.push(() => clearInterval(pump));
  const cfg = parseConfig({ gateway_id: GW, mqtt: { embedded_port: 0 }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 200 } }, "rel.toml", b.dir);
  const gw: GatewayHandle = await startGateway(cfg);
  cleanup.push(() => gw.stop());
  const events: any[] = [];
  const backend = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "rel-backend" });
  cleanup.push(() => backend.endAsync());
  await backend.subscribeAsync(filter("event", GW), { qos: 1 });
  backend.on("message", (t, payload) => {
    const ev = decodeMessage("BackendEvent", payload);
    events.push(ev);
    backend.publish(topic("ack", { gateway: GW }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
  });
  gw.addLink(new SimLink(b.gwEnd, "sim:" + ID));
  const alarms = () => events.filter((e) => e.type === "alarm");
  return { gw, events, alarms };
}

/** A responder acknowledges the alarm (command ack-alarm through the broker). */
async function respond(g: Awaited<ReturnType<typeof gateway>>, ev: any): Promise<void> {
  const c = await mqtt.connectAsync(g.gw.brokerUrl, { protocolVersion: 4, clientId: "rel-responder" });
  await c.publishAsync(topic("command", { gateway: GW, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: "r1", device: ID, alarmSeq: ev.envelope.seq })), { qos: 1 });
  await c.endAsync();
}

describe("alarm button delivery (real bundle, real gateway)", () => {
  it("an alarm pressed while the gateway is down for an hour arrives once, stamped with the press time", async () => {
    const b = await button(3_600_000 + 5_000);
    const pressedAt = b.clock.now();
    b.dev.button().press(200);
    b.clock.runFor(3_600_000);
    // still trying after an hour; past ack_timeout_s it shows "no response" — never anything like success
    expect(alarmLedState(b.dev)).toBe("no-response");
    const g = await gateway(b);
    await until(() => g.alarms().length > 0, 20_000, "the alarm at the backend");
    await new Promise((r) => setTimeout(r, 500)); // time for any duplicate to show up
    const alarms = g.alarms();
    expect(alarms).toHaveLength(1);
    expect(Math.abs(alarms[0].time - pressedAt / 1000)).toBeLessThanOrEqual(2);
    expect(alarms[0].received - alarms[0].time).toBeGreaterThanOrEqual(3590);
    expect(alarms[0].late || alarms[0].envelope.late).toBe(true);
    await respond(g, alarms[0]);
    await until(() => alarmLedState(b.dev) === "acknowledged", 10_000, "LED 'acknowledged' after the responder's ack");
    expect(b.dev.errors).toEqual([]);
  }, 60_000);

  it("an alarm being retried when the button reboots is delivered once after the reboot", async () => {
    const b = await button(15 * 60_000);
    const pressedAt = b.clock.now();
    b.dev.button().press(200);
    b.clock.runFor(5 * 60_000);
    b.dev.powerOff(); // battery pulled mid-retry: RAM gone, flash kept
    b.clock.runFor(60_000);
    b.dev.powerOn();
    b.clock.runFor(5 * 60_000);
    expect(alarmLedState(b.dev)).toBe("no-response"); // the outbox brought the alarm back after the reboot
    const g = await gateway(b);
    await until(() => g.alarms().length > 0, 20_000, "the alarm at the backend after the reboot");
    await new Promise((r) => setTimeout(r, 500));
    expect(g.alarms()).toHaveLength(1);
    expect(Math.abs(g.alarms()[0].time - pressedAt / 1000)).toBeLessThanOrEqual(2);
    expect(b.dev.boots).toBe(2);
    await respond(g, g.alarms()[0]);
    await until(() => alarmLedState(b.dev) === "acknowledged", 10_000, "LED 'acknowledged' after the responder's ack");
    expect(b.dev.errors).toEqual([]);
  }, 60_000);

  it("a cancel and a test alarm reach the backend marked as such", async () => {
    const b = await button(0);
    const g = await gateway(b);
    await until(() => (g.gw.core.status() as any).devices.some((d: any) => d.id === ID && d.online), 10_000, "session up");
    // the backend shortens the cancel window to 2 s (Config downlink, answered by a config_ack event)
    const c = await mqtt.connectAsync(g.gw.brokerUrl, { protocolVersion: 4, clientId: "rel-config" });
    await c.publishAsync(topic("command", { gateway: GW, command: "set-config" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: "cfg", device: ID, config: { version: 2, cancelWindowS: 2 } })), { qos: 1 });
    await c.endAsync();
    await until(() => g.events.some((e) => e.type === "config_ack"), 10_000, "config_ack");
    expect(g.events.find((e) => e.type === "config_ack").envelope.configAck).toMatchObject({ version: 2, ok: true });
    b.dev.button().press(200);
    await until(() => alarmLedState(b.dev) === "received", 10_000, "first alarm received");
    await new Promise((r) => setTimeout(r, 1000));
    b.dev.button().press(200); // inside the cancel window
    await until(() => g.alarms().some((e) => e.envelope.alarm.cancel), 10_000, "the cancel at the backend");
    const [raised, cancel] = g.alarms();
    expect(raised.envelope.alarm.cancel).toBe(false);
    expect(cancel.envelope.alarm.alarmSeq).toBe(raised.envelope.seq);
    expect(cancel.test).toBe(false);

    await new Promise((r) => setTimeout(r, 2_500)); // past the 2 s cancel window
    const before = g.alarms().length;
    for (let i = 0; i < 3; i++) {
      b.dev.button().press(100);
      await new Promise((r) => setTimeout(r, 300));
    }
    await until(() => g.alarms().some((e) => e.test), 10_000, "the test alarm at the backend");
    const tests = g.alarms().slice(before).filter((e) => e.test);
    expect(tests).toHaveLength(1);
    expect(tests[0].envelope.alarm.test).toBe(true);
    expect(b.dev.errors).toEqual([]);
  }, 60_000);
});
