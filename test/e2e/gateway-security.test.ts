// Issue 10, the security defects, reproduced from the outside: the gateway runs as its own process (the
// bundle systemd runs) against a real Mosquitto with a password file and an ACL that restricts each user
// to its part of the contract (and TLS with client certificates for the TLS cases); devices dial in over
// TCP; an independent subscriber watches what reaches the broker.
//   1. a refused CONNACK is retried with backoff until the credential is fixed on the broker
//   2. a captured frame replayed from another connection does not keep a dead device online
//   3. a command's MQTT 5 response topic cannot be the gateway's ack topic (no forged application ack)
//   8. TLS and scheme mistakes are explained, naming the right key, without raw OpenSSL text
import { describe, it, expect, afterEach, beforeAll } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { FakeDevice } from "../support/fake-device.ts";
import { freePort, makeTestPki, startMosquitto, type Mosquitto, type Pki } from "../support/mosquitto.ts";
import { GatewayProcess, scrape, status, writeConfig } from "../support/gateway-process.ts";
import { until, untilAsync } from "../support/wait.ts";

const GW = "gw1";
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
let pki: Pki;
beforeAll(() => {
  pki = makeTestPki();
});

// each principal may do its part of the contract and nothing else
const ACL = `user gw1
topic readwrite varde/v1/gw1/#
user backend
topic read varde/v1/+/device/#
topic read varde/v1/+/state
topic read varde/v1/+/response/#
topic write varde/v1/+/ack
user commander
topic write varde/v1/gw1/command/#
topic read varde/v1/gw1/response/#
topic read my/replies
`;

async function broker(extra: Partial<Parameters<typeof startMosquitto>[0]> = {}): Promise<Mosquitto> {
  const b = await startMosquitto({ users: { gw1: "gw-secret", backend: "be-secret", commander: "cmd-secret" }, acl: ACL, ...extra });
  cleanup.push(() => b.stop());
  return b;
}

async function client(url: string, username: string, password: string, filters: string[], opts: mqtt.IClientOptions = {}): Promise<{ c: MqttClient; msgs: Array<{ topic: string; payload: Buffer; props: any }> }> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, username, password, reconnectPeriod: 200, ...opts });
  cleanup.push(() => c.endAsync(true));
  const msgs: Array<{ topic: string; payload: Buffer; props: any }> = [];
  c.on("message", (t, payload, p) => msgs.push({ topic: t, payload, props: p.properties }));
  if (filters.length) await c.subscribeAsync(filters, { qos: 1 });
  return { c, msgs };
}

function setupDir(): { dir: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-sec-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "sec", created: "" });
  return { dir, key };
}

async function gateway(dir: string, mqttCfg: Record<string, unknown>, extra: Record<string, any> = {}): Promise<{ gw: GatewayProcess; metrics: number; port: number }> {
  const metrics = await freePort();
  const config = writeConfig(path.join(dir, "gateway.toml"), {
    gateway_id: GW,
    transport: [{ type: "tcp-listen", port: 0 }],
    mqtt: { protocol_version: 5, reconnect_ms: 100, reconnect_max_ms: 400, keepalive_s: 5, ...mqttCfg },
    session: { hello_retry_ms: 100, ...(extra.session ?? {}) },
    metrics: { port: metrics },
    log: { level: "info" },
  });
  const gw = await GatewayProcess.start(config);
  cleanup.push(() => gw.kill());
  await gw.waitOutput(/devices may dial tcp port (\d+)/);
  const port = Number(/devices may dial tcp port (\d+)/.exec(gw.out)![1]);
  return { gw, metrics, port };
}

async function device(key: string, port: number): Promise<FakeDevice> {
  const dev = new FakeDevice({ id: 1001, key, retryMs: 300 });
  cleanup.push(() => dev.close());
  await dev.connectTcp(port);
  await dev.waitFor(() => dev.sessions >= 1 && dev.timeSync !== null, 10_000, "handshake over TCP");
  return dev;
}

describe("gateway hardening: security defects, from the outside", () => {
  it("1. a refused CONNACK (wrong password) is retried with backoff, the reason shown, until the broker accepts the credential", async () => {
    const b = await broker();
    b.setPassword("gw1", "rotated-elsewhere"); // the broker no longer accepts the gateway's password
    b.reload();
    const { dir, key } = setupDir();
    const be = await client(b.url, "backend", "be-secret", [topic("state", { gateway: GW }), filter("event", GW)]);
    const { gw, port } = await gateway(dir, { url: b.url, username: "gw1", password: "gw-secret" });
    await gw.waitOutput(/refused the connection: not authorized.*check \[mqtt\] username\/password/);
    const dev = await device(key, port);
    const seq = dev.alarm(); // stored and acked while the broker refuses the gateway
    await dev.waitFor(() => dev.acked.includes(seq), 10_000, "alarm acked into the gateway outbox");
    // the operator fixes the credential on the broker: no gateway restart
    b.setPassword("gw1", "gw-secret");
    b.reload();
    await until(() => be.msgs.some((m) => m.topic.endsWith("/event/alarm")), 15_000, "the held alarm at the backend after the credential was fixed");
    const ev = decodeMessage("BackendEvent", new Uint8Array(be.msgs.find((m) => m.topic.endsWith("/event/alarm"))!.payload));
    expect(ev.eventId).toBe(`1001:${dev.boot}:${seq}`);
    expect(ev.historical).toBe(true);
    const births = be.msgs.filter((m) => m.topic.endsWith("/state")).map((m) => decodeMessage("GatewayState", new Uint8Array(m.payload)));
    expect(births.some((s) => s.online)).toBe(true);
    expect(gw.running).toBe(true);
    // the reason is logged when it appears, not once per attempt
    expect(gw.err.match(/not authorized/g)!.length).toBeLessThan(5);
  });

  it("2. a heartbeat captured and replayed from another connection does not keep a dead device online", async () => {
    const b = await broker();
    const { dir, key } = setupDir();
    const be = await client(b.url, "backend", "be-secret", [filter("event", GW)]);
    const { metrics, port } = await gateway(dir, { url: b.url, username: "gw1", password: "gw-secret" }, { session: { heartbeat_s: 1, missed_heartbeats: 2 } });
    const dev = await device(key, port);
    dev.heartbeat(1);
    const captured = dev.sent.at(-1)!; // the eavesdropper's copy of a genuine, authenticated heartbeat
    const alarmSeq = dev.alarm();
    await dev.waitFor(() => dev.acked.includes(alarmSeq), 10_000, "alarm acked");
    const capturedAlarm = dev.sent.at(-1)!;
    await dev.close(); // the button dies
    // the attacker replays both from its own connection, every 300 ms
    const attacker = new FakeDevice({ id: 1001, key: "00".repeat(32) });
    cleanup.push(() => attacker.close());
    await attacker.connectTcp(port);
    const replay = setInterval(() => {
      attacker.sendRaw(captured);
      attacker.sendRaw(capturedAlarm);
    }, 300);
    cleanup.push(() => clearInterval(replay));
    await until(() => be.msgs.some((m) => m.topic.endsWith("/event/device_lost")), 15_000, "device_lost while the replay goes on");
    const m = await scrape(metrics);
    expect(m("varde_frames_rejected_total", { reason: "no_session" })).toBeGreaterThan(0); // the replayed heartbeats
    expect(m("varde_duplicates_total")).toBeGreaterThan(0); // the replayed alarm: acked again, not stored again
    expect(m("varde_events_in_total", { type: "alarm" })).toBe(1);
    const st = await status(metrics);
    expect(st.devices.find((d: any) => d.id === 1001).online).toBe(false);
  });

  it("3. a command whose MQTT 5 response topic is the gateway's ack topic cannot remove an unacked event", async () => {
    const b = await broker();
    const { dir, key } = setupDir();
    const be = await client(b.url, "backend", "be-secret", [filter("event", GW)]); // stores nothing, acks nothing
    const { metrics, port } = await gateway(dir, { url: b.url, username: "gw1", password: "gw-secret", backend_ack: "application", ack_timeout_s: 30 });
    const dev = await device(key, port);
    const seq = dev.alarm();
    const eventId = `1001:${dev.boot}:${seq}`;
    await until(() => be.msgs.some((m) => m.topic.endsWith("/event/alarm")), 10_000, "alarm published");
    expect((await status(metrics)).outbox.depth).toBe(1);
    const cmd = await client(b.url, "commander", "cmd-secret", [topic("response", { gateway: GW, command: "status" })]);
    await cmd.c.publishAsync(topic("command", { gateway: GW, command: "status" }), Buffer.from(encodeMessage("CommandRequest", { correlationId: eventId })), {
      qos: 1,
      properties: { responseTopic: topic("ack", { gateway: GW }), correlationData: Buffer.from(eventId) },
    });
    // the gateway refuses the request (counted) — or, as before the fix, acks its own event
    await untilAsync(() => status(metrics), (s) => cmd.msgs.length > 0 || s.outbox.depth === 0, 10_000, "the gateway's answer to the forged request");
    const m = await scrape(metrics);
    expect(m("varde_commands_rejected_total", { reason: "response_topic" })).toBe(1);
    const res = decodeMessage("CommandResponse", new Uint8Array(cmd.msgs[0].payload));
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/response topic .* refused: it is the contract's ack topic/);
    expect((await status(metrics)).outbox.depth).toBe(1); // still waiting for a real backend's ack
    expect(await scrape(metrics).then((x) => x("varde_events_out_total"))).toBe(0);
    // a real backend ack still works
    await be.c.publishAsync(topic("ack", { gateway: GW }), Buffer.from(encodeMessage("EventAck", { eventIds: [eventId] })), { qos: 1 });
    await untilAsync(() => status(metrics), (s) => s.outbox.depth === 0, 10_000, "outbox empty after the backend's ack");
  });

  it("8. TLS mistakes are explained in words and name the right key: rogue-CA certificate, missing certificate, mqtt:// on a TLS port", async () => {
    const b = await startMosquitto({ tls: { pki } });
    cleanup.push(() => b.stop());
    const cases: Array<{ mqtt: Record<string, unknown>; expect: RegExp }> = [
      { mqtt: { url: b.tlsUrl, ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey }, expect: /TLS: the broker does not trust our client certificate \(\[mqtt\] cert\).*issued by the CA the broker trusts/ },
      { mqtt: { url: b.tlsUrl, ca: pki.ca }, expect: /TLS: the broker requires a client certificate and none was sent — set \[mqtt\] cert and \[mqtt\] key/ },
      { mqtt: { url: `mqtt://127.0.0.1:${b.tlsPort}` }, expect: new RegExp(`port ${b.tlsPort} of 127.0.0.1 is a TLS listener and \\[mqtt\\] url says mqtt:// \\(plain\\) — use mqtts://127.0.0.1:${b.tlsPort}`) },
    ];
    for (const c of cases) {
      const { dir } = setupDir();
      const { gw } = await gateway(dir, c.mqtt);
      await gw.waitOutput(c.expect);
      // the message a person reads has no raw OpenSSL text (the structured field `err` keeps it for experts)
      const msgs = gw.err.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).msg as string);
      expect(msgs.filter((m) => c.expect.test(m)).length).toBeGreaterThan(0);
      for (const m of msgs) expect(m).not.toMatch(/SSL routines|0A000|ECONNRESET$/);
      await gw.kill("SIGTERM");
    }
  });
});
