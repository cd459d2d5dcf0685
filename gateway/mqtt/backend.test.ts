// The MQTT backend against a real Mosquitto: MQTT 5 and 3.1.1, application acks, request/response with
// correlation data, birth/last-will with bd_seq, TLS with a CA and client certificates made here
// with openssl, username/password, and a broker restart in the middle of a stream of alarms.
import { describe, it, expect, afterEach, beforeAll } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { startGateway, parseConfig, topic, type GatewayHandle } from "../index.ts";
import { appendDevice, newDeviceKey } from "../registry.ts";
import { FakeDevice, waitFor } from "../../test/support/fake-device.ts";
import { makeTestPki, startMosquitto, type Pki } from "../../test/support/mosquitto.ts";
import { decodeMessage, encodeMessage } from "../wire.ts";
import { codeLabel } from "../codes.ts";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
let pki: Pki;
beforeAll(() => {
  pki = makeTestPki();
});

function setup(mqttCfg: Record<string, any>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-gwm-"));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "", created: "" });
  const cfg = parseConfig({ gateway_id: "gw1", mqtt: { reconnect_ms: 100, ...mqttCfg }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 100 } }, "test.toml", dir);
  return { dir, key, cfg };
}
async function start(cfg: any): Promise<GatewayHandle> {
  const gw = await startGateway(cfg);
  cleanup.push(() => gw.stop());
  return gw;
}
async function device(gw: GatewayHandle, key: string, retryMs = 200): Promise<FakeDevice> {
  const dev = new FakeDevice({ id: 1001, key, retryMs });
  cleanup.push(() => dev.close());
  gw.addLink(dev.memoryLink());
  await dev.waitFor(() => dev.sessions === 1, 10000, "handshake");
  return dev;
}
type Msg = { topic: string; payload: Buffer; retain: boolean; qos: number; props: any };
async function client(url: string, opts: mqtt.IClientOptions, filters: string[]): Promise<{ c: MqttClient; msgs: Msg[] }> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 100, ...opts });
  cleanup.push(() => c.endAsync(true));
  const msgs: Msg[] = [];
  c.on("message", (t, p, pk) => msgs.push({ topic: t, payload: p, retain: pk.retain, qos: pk.qos, props: pk.properties }));
  if (filters.length) await c.subscribeAsync(filters, { qos: 1 });
  return { c, msgs };
}
const dec = (type: string, b: Buffer) => decodeMessage(type, new Uint8Array(b));

describe("MQTT backend on Mosquitto", () => {
  it("MQTT 5: application acks keep events in the outbox until the backend acks; commands with correlation data", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.url, protocol_version: 5, backend_ack: "application", ack_timeout_s: 1 });
    const gw = await start(cfg);
    const sub = await client(broker.url, { protocolVersion: 5 }, ["varde/v1/gw1/#"]);
    const dev = await device(gw, key);
    const seqs = [dev.alarm(), dev.reliable({ dose: { kind: 1, delayS: 1800, slot: 3 } })];
    await dev.waitFor(() => dev.outbox.length === 0, 10000, "acks");
    await waitFor(() => sub.msgs.filter((m) => m.topic.includes("/event/")).length >= 2, 10000, "2 events");
    expect(gw.outbox.depth()).toBe(2); // published, but not acked by the backend yet
    // no app ack within ack_timeout_s → republished with the same event id
    await waitFor(() => sub.msgs.filter((m) => m.topic.includes("/event/")).length >= 4, 10000, "republish");
    const evs = sub.msgs.filter((m) => m.topic.includes("/event/")).map((m) => dec("BackendEvent", m.payload));
    const ids = [...new Set(evs.map((e) => e.eventId))];
    expect(ids).toEqual(seqs.map((s) => `1001:${dev.boot}:${s}`));
    const dose = evs.find((e) => e.type === "dose")!;
    expect(dose.codes.map(codeLabel)).toEqual(["VKP alert 1.2", "SCAIP 0081"]); // missed, no dose left (remaining 0)
    const m0 = sub.msgs.find((m) => m.topic.includes("/event/"))!;
    expect(m0.props.contentType).toBe("application/x-protobuf; proto=varde.v1.BackendEvent");
    // the backend acks → the events leave the outbox
    await sub.c.publishAsync(topic("ack", { gateway: "gw1" }), Buffer.from(encodeMessage("EventAck", { eventIds: ids })), { qos: 1 });
    await waitFor(() => gw.outbox.depth() === 0, 10000, "outbox empty after app ack");
    // MQTT 5 request/response: response topic and correlation data from the request properties
    const resp = await client(broker.url, { protocolVersion: 5 }, ["my/replies"]);
    await resp.c.publishAsync(topic("command", { gateway: "gw1", command: "set-heartbeat" }), Buffer.from(encodeMessage("CommandRequest", { device: 1001, heartbeatS: 120 })), {
      qos: 1,
      properties: { responseTopic: "my/replies", correlationData: Buffer.from("corr-42") },
    });
    await waitFor(() => resp.msgs.length >= 2, 10000, "queued + delivered");
    expect(resp.msgs.map((m) => [m.props.correlationData.toString(), dec("CommandResponse", m.payload).state])).toEqual([["corr-42", "queued"], ["corr-42", "delivered"]]);
    const cfgDl = dev.received.find((e) => e.config);
    expect(cfgDl.config).toMatchObject({ heartbeatS: 120, version: 1 });
    // set-config then set-heartbeat: the heartbeat change keeps the rest of the config
    await resp.c.publishAsync(topic("command", { gateway: "gw1", command: "set-config" }), Buffer.from(JSON.stringify({ device: 1001, config: { cancelWindowS: 15, ackTimeoutS: 90, heartbeatS: 120 } })), { qos: 1, properties: { responseTopic: "my/replies" } });
    await resp.c.publishAsync(topic("command", { gateway: "gw1", command: "set-heartbeat" }), Buffer.from(JSON.stringify({ device: 1001, heartbeatS: 600 })), { qos: 1, properties: { responseTopic: "my/replies" } });
    await dev.waitFor(() => dev.received.filter((e) => e.config).length >= 3, 10000, "3 configs");
    expect(dev.received.filter((e) => e.config).at(-1).config).toMatchObject({ version: 3, heartbeatS: 600, cancelWindowS: 15, ackTimeoutS: 90 });
    await waitFor(() => resp.msgs.length >= 6, 10000, "responses");
    resp.msgs.length = 0;
    // status command in JSON
    await resp.c.publishAsync(topic("command", { gateway: "gw1", command: "status" }), Buffer.from(JSON.stringify({ correlationId: "s1" })), { qos: 1, properties: { responseTopic: "my/replies" } });
    await waitFor(() => resp.msgs.length >= 1, 10000, "status");
    const st = JSON.parse(dec("CommandResponse", resp.msgs[0].payload).json);
    expect(st.devices[0]).toMatchObject({ id: 1001, online: true });
  });

  it("retained birth with bd_seq; the last will (same bd_seq) is published when the gateway vanishes", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { cfg } = setup({ url: broker.url, protocol_version: 4, keepalive_s: 1 });
    const gw = await start(cfg);
    const sub = await client(broker.url, { protocolVersion: 4 }, [topic("state", { gateway: "gw1" })]);
    await waitFor(() => sub.msgs.length >= 1, 10000, "birth");
    const birth = dec("GatewayState", sub.msgs[0].payload);
    expect(birth.online).toBe(true);
    // a consumer arriving later gets the birth as a retained message
    const late = await client(broker.url, { protocolVersion: 4 }, [topic("state", { gateway: "gw1" })]);
    await waitFor(() => late.msgs.length >= 1, 10000, "retained birth");
    expect(late.msgs[0].retain).toBe(true);
    expect(dec("GatewayState", late.msgs[0].payload).bdSeq).toBe(birth.bdSeq);
    // the gateway's connection dies without DISCONNECT (as with SIGKILL or a cut cable)
    (gw as any).core.backend.client.stream.destroy();
    await waitFor(() => sub.msgs.length >= 3, 10000, "will then rebirth");
    const states = sub.msgs.slice(0, 3).map((m) => dec("GatewayState", m.payload));
    expect(states.map((s) => [s.online, s.bdSeq])).toEqual([[true, birth.bdSeq], [false, birth.bdSeq], [true, birth.bdSeq + 1]]);
  });

  it("TLS with a test CA and client certificates, plus username/password; a rogue certificate is refused", async () => {
    const broker = await startMosquitto({ tls: { pki }, user: { username: "gw1", password: "s3cret-pw" } });
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.tlsUrl, protocol_version: 5, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, username: "gw1", password: "s3cret-pw" });
    const gw = await start(cfg);
    const sub = await client(broker.tlsUrl, { ca: fs.readFileSync(pki.ca), cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey), username: "gw1", password: "s3cret-pw" }, ["varde/v1/gw1/device/+/event/#"]);
    const dev = await device(gw, key);
    dev.alarm();
    await waitFor(() => sub.msgs.length === 1, 10000, "alarm over TLS");
    expect(gw.metrics.get("varde_mqtt_connects_total")).toBe(1);
    // a client certificate from another CA does not get in
    const rogue = mqtt.connect(broker.tlsUrl, { ca: fs.readFileSync(pki.ca), cert: fs.readFileSync(pki.rogueCert), key: fs.readFileSync(pki.rogueKey), username: "gw1", password: "s3cret-pw", reconnectPeriod: 0 });
    cleanup.push(() => rogue.endAsync(true));
    const outcome = await new Promise<string>((r) => {
      rogue.once("connect", () => r("connected"));
      rogue.once("error", (e) => r(`error: ${e.message}`));
      rogue.once("close", () => r("closed"));
    });
    expect(outcome).not.toBe("connected");
  });

  it("broker restarted mid-stream: every alarm arrives, none twice after dedup by event id, outbox drained", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.url, protocol_version: 5, backend_ack: "application", ack_timeout_s: 2 });
    const gw = await start(cfg);
    // the backend: a persistent session so the broker keeps QoS 1 messages for it across its own restart
    const seen = new Set<string>();
    const historical = new Set<string>();
    let received = 0;
    const be = await client(broker.url, { protocolVersion: 5, clientId: "backend-1", clean: false, properties: { sessionExpiryInterval: 3600 } }, ["varde/v1/gw1/device/+/event/#"]);
    be.c.on("message", (t, p) => {
      if (!t.includes("/event/")) return;
      const ev = dec("BackendEvent", p);
      received++;
      seen.add(ev.eventId);
      if (ev.historical) historical.add(ev.eventId);
      be.c.publish(topic("ack", { gateway: "gw1" }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    const dev = await device(gw, key, 100);
    const N = 60;
    const sent: string[] = [];
    const whileDown: string[] = [];
    for (let i = 0; i < N; i++) {
      sent.push(`1001:${dev.boot}:${dev.alarm()}`);
      if (i > 21 && i < 40) whileDown.push(sent[i]);
      if (i === 20) await broker.stop();
      if (i === 40) {
        expect(gw.outbox.depth()).toBeGreaterThan(0); // held on disk while the broker is away
        await broker.restart();
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await dev.waitFor(() => dev.outbox.length === 0, 10000, "device outbox empty");
    await waitFor(() => seen.size === N && gw.outbox.depth() === 0, 15000, `all ${N} events at the backend and acked`);
    expect([...seen].sort()).toEqual([...sent].sort());
    expect(received).toBeGreaterThanOrEqual(N); // duplicates are allowed on the wire, not after dedup
    for (const id of whileDown) expect(historical).toContain(id); // held while the broker was away
    expect(historical.has(sent[0])).toBe(false);
    console.log(`broker restart: ${N} alarms sent, ${received} publishes received, ${seen.size} unique, ${historical.size} flagged historical`);
    const hist = gw.metrics.get("varde_mqtt_connects_total");
    expect(hist).toBeGreaterThanOrEqual(2);
  });

  it("broker away with a small outbox bound: telemetry dropped oldest first, alarms never lost (held in the device until there is room)", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.url, protocol_version: 5, backend_ack: "application" });
    cfg.outbox.maxBytes = 900; // room for ten heartbeats, or about ten alarms
    const gw = await start(cfg);
    const alarms = new Set<string>();
    let heartbeats = 0;
    const fullStates: boolean[] = [];
    const be = await client(broker.url, { protocolVersion: 5, clientId: "bounded-backend", clean: false, properties: { sessionExpiryInterval: 3600 } }, ["varde/v1/gw1/device/+/event/#", topic("state", { gateway: "gw1" })]);
    be.c.on("message", (t, p) => {
      if (t.endsWith("/state")) return void fullStates.push(!!dec("GatewayState", p).outboxFull);
      const ev = dec("BackendEvent", p);
      if (ev.type === "alarm") alarms.add(ev.eventId);
      if (ev.type === "heartbeat") heartbeats++;
      be.c.publish(topic("ack", { gateway: "gw1" }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    const dev = await device(gw, key, 100);
    await broker.stop();
    await waitFor(() => !gw.core.backend!.connected, 10000, "gateway notices the broker is gone");
    for (let i = 0; i < 10; i++) dev.heartbeat();
    await waitFor(() => gw.outbox.depth() === 10, 10000, "10 heartbeats queued");
    const sent: string[] = [];
    for (let i = 0; i < 15; i++) sent.push(`1001:${dev.boot}:${dev.alarm()}`);
    await waitFor(() => gw.outbox.full, 10000, "outbox full");
    await waitFor(() => gw.metrics.get("varde_events_dropped_total") >= 10, 10000, "the heartbeats dropped");
    expect(gw.metrics.get("varde_events_dropped_total")).toBe(10); // every heartbeat made room for alarms
    expect(dev.outbox.length).toBeGreaterThan(0); // the rest wait in the device, unacked
    expect(gw.metrics.get("varde_frames_rejected_total", { reason: "outbox_full" })).toBeGreaterThan(0);
    await broker.restart();
    await dev.waitFor(() => dev.outbox.length === 0, 15000, "device outbox drained into the gateway");
    await waitFor(() => alarms.size === 15 && gw.outbox.depth() === 0, 15000, "15 alarms at the backend");
    expect([...alarms].sort()).toEqual([...sent].sort());
    expect(heartbeats).toBe(0);
    expect(fullStates).toContain(true);
    console.log(`bounded outbox: 10 heartbeats dropped, ${sent.length} alarms sent, ${alarms.size} received; frames refused while full: ${gw.metrics.get("varde_frames_rejected_total", { reason: "outbox_full" })}`);
  });

  it("a command published while the gateway is down is delivered when it comes back (persistent session)", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.url, protocol_version: 5 });
    let gw = await startGateway(cfg);
    const dev = await device(gw, key);
    const seq = dev.alarm();
    await dev.waitFor(() => dev.outbox.length === 0, 10000, "ack");
    await gw.stop();
    const rc = await client(broker.url, { protocolVersion: 5 }, []);
    await rc.c.publishAsync(topic("command", { gateway: "gw1", command: "ack-alarm" }), Buffer.from(encodeMessage("CommandRequest", { correlationId: "while-down", device: 1001, alarmSeq: seq, responder: "rc" })), { qos: 1 });
    gw = await start(cfg);
    gw.addLink(dev.memoryLink("mem:again"));
    await dev.waitFor(() => dev.alarmAcks.length === 1, 10000, "AlarmAck after the gateway came back");
    expect(dev.alarmAcks[0]).toMatchObject({ alarmSeq: seq, responder: "rc" });
  });

  it("a command is PUBACKed to the broker only once the downlink it queued is on disk", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { key, cfg } = setup({ url: broker.url, protocol_version: 5 });
    const gw = await start(cfg);
    await device(gw, key);
    const store = gw.core.store;
    // the downlink's write held back: as on a slow disk, or a gateway killed before the fsync
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const queue = store.queueDownlink.bind(store);
    store.queueDownlink = (async (...args: Parameters<typeof queue>) => {
      await held;
      return queue(...args);
    }) as typeof store.queueDownlink;
    const gwClient = (gw.core.backend as unknown as { connection: { client: MqttClient } }).connection.client;
    const pubacks: number[] = [];
    const received: number[] = [];
    gwClient.on("packetreceive", (p) => {
      if (p.cmd === "publish" && p.topic.includes("/command/")) received.push(p.messageId!);
    });
    gwClient.on("packetsend", (p) => {
      if (p.cmd === "puback" && received.includes(p.messageId!)) pubacks.push(p.messageId!);
    });
    const rc = await client(broker.url, { protocolVersion: 5 }, [topic("response", { gateway: "gw1", command: "device-command" })]);
    await rc.c.publishAsync(topic("command", { gateway: "gw1", command: "device-command" }), Buffer.from(encodeMessage("CommandRequest", { correlationId: "held", device: 1001, command: { kind: 2 } })), { qos: 1 });
    await waitFor(() => received.length === 1, 5000, "the command at the gateway");
    await new Promise((r) => setTimeout(r, 300));
    expect(pubacks).toEqual([]); // not yet: the downlink is not stored
    release();
    await waitFor(() => pubacks.length === 1, 5000, "the PUBACK once the downlink is stored");
    await waitFor(() => rc.msgs.length >= 1, 5000, "the response");
    expect(dec("CommandResponse", rc.msgs[0].payload)).toMatchObject({ correlationId: "held", ok: true, state: "queued" });
  });

  it("a command delivered again (same correlation id) is queued once: while its downlink waits, after the device acked it, after a restart", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { cfg, key } = setup({ url: broker.url, protocol_version: 5 });
    const gw = await start(cfg); // no device link: the downlink waits
    const rc = await client(broker.url, { protocolVersion: 5 }, [topic("response", { gateway: "gw1", command: "device-command" })]);
    const req = Buffer.from(encodeMessage("CommandRequest", { correlationId: "twice", device: 1001, command: { kind: 2 } }));
    const cmdTopic = topic("command", { gateway: "gw1", command: "device-command" });
    await rc.c.publishAsync(cmdTopic, req, { qos: 1 });
    await waitFor(() => rc.msgs.length === 1, 5000, "the first answer");
    await rc.c.publishAsync(cmdTopic, req, { qos: 1 });
    await waitFor(() => rc.msgs.length === 2, 5000, "the second answer");
    const answers = rc.msgs.map((m) => dec("CommandResponse", m.payload));
    const seq = answers[0].downlinkSeq;
    expect(answers.map((a) => [a.correlationId, a.state, a.downlinkSeq])).toEqual([["twice", "queued", seq], ["twice", "queued", seq]]);
    expect(gw.core.store.downlinkDepth(1001)).toBe(1);
    // the device comes, gets the command once and acks it: "delivered"
    const dev = await device(gw, key);
    await waitFor(() => rc.msgs.length === 3, 5000, "the delivered answer");
    expect(dec("CommandResponse", rc.msgs[2].payload)).toMatchObject({ correlationId: "twice", state: "delivered", downlinkSeq: seq });
    // the same request once more (a gateway that died before its PUBACK, a broker that delivers again late):
    // answered with the same downlink, nothing queued, nothing sent to the device
    await rc.c.publishAsync(cmdTopic, req, { qos: 1 });
    await waitFor(() => rc.msgs.length === 4, 5000, "the answer to the third copy");
    expect(dec("CommandResponse", rc.msgs[3].payload)).toMatchObject({ correlationId: "twice", ok: true, state: "delivered", downlinkSeq: seq });
    expect(gw.core.store.downlinkDepth(1001)).toBe(0);
    // and after a restart (the commands table, not memory)
    dev.close();
    await gw.stop();
    const gw2 = await start(cfg);
    await rc.c.publishAsync(cmdTopic, req, { qos: 1 });
    await waitFor(() => rc.msgs.length === 5, 10000, "the answer after the restart");
    expect(dec("CommandResponse", rc.msgs[4].payload)).toMatchObject({ correlationId: "twice", ok: true, state: "delivered", downlinkSeq: seq });
    expect(gw2.core.store.downlinkDepth(1001)).toBe(0);
    expect(dev.received.filter((e) => e.command).map((e) => e.seq)).toEqual([seq]);
  });
});
