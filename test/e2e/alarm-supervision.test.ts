// Issue 4, "a device lost and back reported within the configured window", proved with the real alarm
// bundle (SimDevice) and the real gateway (sessions, SQLite outbox, embedded MQTT broker, backend client).
//
// Device and gateway share ONE VirtualClock: the gateway core runs on it through StartOptions.clock
// (gateway/clock.ts), so its supervision measures the device's silence in the same virtual seconds the
// device lives in. The clock is pumped from a real interval at SPEED × real time, because SQLite and
// MQTT still run on real time; a 90 s supervision window passes in about two real seconds.
//
// The backend sets the heartbeat with the set-heartbeat command (firmware minimum 30 s); the gateway
// supervises with the interval the device reports in its heartbeats and [session] missed_heartbeats.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type IPublishPacket, type Packet } from "mqtt";
import { buildFirmware } from "../../firmware/build/index.ts";
import { startGateway, parseConfig, topic, filter, type GatewayHandle } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { SimLink, gatewayClockOn, pumpClock, until } from "../support/sim-gateway.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../../simulator/index.ts";

const GW = "sup-gw";
const ID = 7101;
const BOARD = "alarm-esp32";
const SPEED = 50; // virtual ms per real ms
const HEARTBEAT_S = 30; // the firmware's minimum
const MISSED = 3;
const WINDOW_MS = HEARTBEAT_S * MISSED * 1000;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("alarm supervision (real bundle, real gateway, shared virtual clock)", () => {
  it("a silent device is reported lost after heartbeat_s × missed_heartbeats (not earlier), and back at once when it returns", async () => {
    const { code } = await buildFirmware(BOARD, { noWrite: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-sup-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "alarm", board: BOARD, key, label: "supervision", created: new Date().toISOString() });

    const clock = new VirtualClock({ seed: 4, startMs: Date.now() });
    const [devEnd, gwEnd] = createMemoryLinkPair(clock);
    const dev = new SimDevice({ board: BOARD, clock, link: devEnd, rtc: "keep" });
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key, kind: "alarm" })));
    dev.install(code);
    dev.powerOn();
    cleanup.push(() => {
      if (dev.powered) dev.powerOff();
    });

    // virtual time runs at SPEED × real time; every event due is run in order
    cleanup.push(pumpClock(clock, SPEED));

    // [session] heartbeat_s is only the interval assumed until the device reports its own
    const cfg = parseConfig({ gateway_id: GW, mqtt: { embedded_port: 0 }, metrics: { port: -1 }, log: { level: "silent" }, session: { heartbeat_s: 300, missed_heartbeats: MISSED } }, "sup.toml", dir);
    const gw: GatewayHandle = await startGateway(cfg, { clock: gatewayClockOn(clock) });
    cleanup.push(() => gw.stop());
    const tickMs = gw.core.superviseEveryMs();

    // exactly what the gateway publishes (its own client's outgoing PUBLISH packets)
    const sent: IPublishPacket[] = [];
    const gwClient = (gw.core.backend as unknown as { client: mqtt.MqttClient }).client;
    gwClient.on("packetsend", (p: Packet) => {
      if (p.cmd === "publish") sent.push(p as IPublishPacket);
    });
    // when (virtual ms) the gateway decided: its bus events are emitted synchronously in the clock's events
    const marks: Array<{ kind: string; at: number }> = [];
    gw.bus.on("event", (e: { kind: string }) => marks.push({ kind: e.kind, at: clock.now() }));

    const backend = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "sup-backend" });
    cleanup.push(() => backend.endAsync());
    const events: Array<{ topic: string; qos: number; ev: any }> = [];
    backend.on("message", (t, payload, packet) => {
      if (!t.includes("/event/")) return;
      const ev = decodeMessage("BackendEvent", payload);
      events.push({ topic: t, qos: packet.qos, ev });
      backend.publish(topic("ack", { gateway: GW }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    await backend.subscribeAsync(filter("event", GW), { qos: 1 });

    const link = new SimLink(gwEnd, "sim:" + ID, () => clock.now());
    gw.addLink(link);
    const device = () => (gw.core.status() as any).devices.find((d: any) => d.id === ID);
    await until(() => device()?.online === true, 5_000, "session up");

    // the backend sets a 30 s heartbeat; the device confirms (config_ack) and heartbeats at 30 s
    await backend.publishAsync(topic("command", { gateway: GW, command: "set-heartbeat" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: "hb", device: ID, heartbeatS: HEARTBEAT_S })), { qos: 1 });
    await until(() => events.some((e) => e.ev.type === "config_ack"), 5_000, "config_ack");
    expect(events.find((e) => e.ev.type === "config_ack")!.ev.envelope.configAck).toMatchObject({ ok: true });
    await until(() => device()?.heartbeatS === HEARTBEAT_S, 5_000, "a heartbeat carrying interval_s = 30");
    const hbAt = clock.now();
    await until(() => clock.now() - hbAt > 2.5 * HEARTBEAT_S * 1000, 5_000, "a few 30 s heartbeats"); // longer than 90 s would be without them
    expect(device().online).toBe(true);
    expect(events.filter((e) => e.ev.type === "device_lost")).toHaveLength(0);

    // ---- the device goes silent (battery pulled)
    dev.powerOff();
    const lastFrame = link.lastRx;
    const offAt = clock.now();
    expect(offAt - lastFrame).toBeLessThanOrEqual(HEARTBEAT_S * 1000 + 1000); // heartbeats were flowing (device clock drift aside)
    await until(() => events.some((e) => e.ev.type === "device_lost"), 8_000, "device_lost at the backend");
    const lostAt = marks.find((m) => m.kind === "offline")!.at;
    const silence = lostAt - lastFrame;
    console.log(`[supervision] last frame → lost: ${(silence / 1000).toFixed(1)} s virtual (window ${WINDOW_MS / 1000} s + tick ${tickMs} ms)`);
    expect(silence).toBeGreaterThan(WINDOW_MS); // not earlier than the configured window
    expect(silence).toBeLessThanOrEqual(WINDOW_MS + tickMs); // and no later than one supervision tick after it
    // the event is published while its batch is on the way to the disk, so the backend can have it before the
    // gateway's "stored" bus event (emitted after the fsync): wait for that, then check it came promptly
    await until(() => marks.some((m) => m.kind === "device_lost"), 5_000, "device_lost stored");
    expect(marks.find((m) => m.kind === "device_lost")!.at - lostAt).toBeLessThan(2_000 * SPEED); // stored promptly

    const lost = events.filter((e) => e.ev.type === "device_lost");
    expect(lost).toHaveLength(1);
    expect(lost[0].topic).toBe(`varde/v1/${GW}/device/${ID}/event/device_lost`);
    expect(lost[0].qos).toBe(1);
    expect(lost[0].ev).toMatchObject({ device: ID, gateway: GW, type: "device_lost", codes: [{ system: "SCAIP", code: "0123", display: "radio test missing" }] }); // an alarm button: VKP 1.20 is the dispenser's
    expect(lost[0].ev.eventId).toMatch(new RegExp(`^${ID}:g\\d+:\\d+$`));
    expect(lost[0].ev.time).toBe(Math.floor(lostAt / 1000));

    const availTopic = `varde/v1/${GW}/device/${ID}/availability`;
    const availSent = () => sent.filter((p) => p.topic === availTopic).map((p) => ({ qos: p.qos, retain: p.retain, a: decodeMessage("DeviceAvailability", p.payload as Buffer) }));
    const offline = availSent().filter((x) => !x.a.online);
    expect(offline).toHaveLength(1);
    expect(offline[0]).toMatchObject({ qos: 1, retain: true, a: { online: false, reason: "heartbeat_missed", lastSeen: Math.floor(lastFrame / 1000), time: Math.floor(lostAt / 1000) } });
    const lostPub = sent.filter((p) => p.topic.endsWith("/event/device_lost"));
    expect(lostPub.length).toBeGreaterThanOrEqual(1);
    for (const p of lostPub) expect({ qos: p.qos, retain: p.retain }).toEqual({ qos: 1, retain: false });

    // a backend that connects now reads the retained availability: offline; events are never retained
    const late = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "sup-late" });
    cleanup.push(() => late.endAsync());
    const retained: Array<{ topic: string; retain: boolean; payload: Buffer }> = [];
    late.on("message", (t, payload, packet) => retained.push({ topic: t, retain: packet.retain, payload }));
    await late.subscribeAsync([filter("availability", GW), filter("event", GW)], { qos: 1 });
    await until(() => retained.some((m) => m.topic === availTopic), 3_000, "retained availability");
    await new Promise((r) => setTimeout(r, 200));
    expect(retained.filter((m) => m.topic.includes("/event/"))).toHaveLength(0);
    const ra = retained.filter((m) => m.topic === availTopic);
    expect(ra).toHaveLength(1);
    expect(ra[0].retain).toBe(true);
    expect(decodeMessage("DeviceAvailability", ra[0].payload)).toMatchObject({ online: false, reason: "heartbeat_missed" });

    // still lost a while later: reported once, not repeated every tick
    const t1 = clock.now();
    await until(() => clock.now() - t1 > WINDOW_MS, 5_000, "another window of silence");
    expect(marks.filter((m) => m.kind === "offline")).toHaveLength(1);

    // ---- power back: online and device_back promptly (boot + handshake)
    const onAt = clock.now();
    dev.powerOn();
    await until(() => events.some((e) => e.ev.type === "device_back"), 8_000, "device_back at the backend");
    const backAt = marks.find((m) => m.kind === "online" && m.at >= onAt)!.at;
    console.log(`[supervision] power on → back: ${backAt - onAt} ms virtual (boot and handshake in the same virtual instant)`);
    expect(backAt - onAt).toBeLessThan(10_000);
    const back = events.filter((e) => e.ev.type === "device_back");
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ topic: `varde/v1/${GW}/device/${ID}/event/device_back`, qos: 1, ev: { device: ID, type: "device_back" } });
    expect(back[0].ev.codes ?? []).toEqual([]); // no national code for "contact restored"
    const online = availSent().filter((x) => x.a.online && x.a.time * 1000 >= Math.floor(onAt / 1000) * 1000);
    expect(online).toHaveLength(1);
    expect(online[0]).toMatchObject({ qos: 1, retain: true, a: { online: true } });
    for (const p of sent.filter((x) => x.topic.endsWith("/event/device_back"))) expect({ qos: p.qos, retain: p.retain }).toEqual({ qos: 1, retain: false });
    expect(dev.errors).toEqual([]);
  }, 30_000);
});
