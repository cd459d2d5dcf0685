// Chaos: the real gateway process (`varde gateway`) against a real Mosquitto and a device on TCP,
// SIGKILLed in the middle of a stream of alarms and restarted. The outbox database is inspected
// before and after. Exact counts: every alarm the device sent reaches the backend, none twice
// after dedup by event id, and both outboxes end empty. A second case checks SIGTERM is graceful.
// CHAOS_ROUNDS=n repeats the kill/restart n times (default 2 in the normal run).
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { FakeDevice, waitFor } from "../support/fake-device.ts";
import { startMosquitto } from "../support/mosquitto.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { topic } from "../../gateway/mqtt/topics.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 2);
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function spawnGateway(config: string): { proc: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let out = "";
  const proc = spawn(process.execPath, [path.join(ROOT, "bin", "varde.js"), "gateway", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (b) => (out += b));
  proc.stderr!.on("data", (b) => (out += b));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  cleanup.push(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    return exited;
  });
  return { proc, out: () => out, exited };
}

function outboxRows(dir: string): string[] {
  const db = new Database(path.join(dir, "varde-data", "outbox.db"), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT event_id FROM events ORDER BY id").all() as Array<{ event_id: string }>).map((r) => r.event_id);
  } finally {
    db.close();
  }
}

async function setup() {
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-chaos-"));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: 2001, kind: "alarm", board: "alarm-esp32", key, label: "chaos", created: "" });
  const dev = new FakeDevice({ id: 2001, key, retryMs: 150 });
  cleanup.push(() => dev.close());
  const devPort = await dev.listenTcp();
  const config = path.join(dir, "gateway.toml");
  fs.writeFileSync(
    config,
    `gateway_id = "chaos"\n[[transport]]\ntype = "tcp"\nport = ${devPort}\n[mqtt]\nurl = "${broker.url}"\nreconnect_ms = 100\nkeepalive_s = 2\nack_timeout_s = 2\n` +
      `[session]\nhello_retry_ms = 100\nreconnect_ms = 100\n[metrics]\nport = -1\n[log]\nlevel = "warn"\n`,
  );
  // The backend: persistent session, acks each event after "storing" it; can pause acking.
  const received: string[] = [];
  const states: Array<{ online: boolean; bdSeq: number }> = [];
  let acking = true;
  const be = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "chaos-backend", clean: false, properties: { sessionExpiryInterval: 3600 } });
  cleanup.push(() => be.endAsync(true));
  be.on("message", (t, p) => {
    if (t === topic("state", { gateway: "chaos" })) {
      const s = decodeMessage("GatewayState", new Uint8Array(p));
      states.push({ online: s.online, bdSeq: s.bdSeq });
      return;
    }
    const ev = decodeMessage("BackendEvent", new Uint8Array(p));
    if (ev.type !== "alarm") return;
    received.push(ev.eventId);
    if (acking) be.publish(topic("ack", { gateway: "chaos" }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
  });
  await be.subscribeAsync(["varde/v1/chaos/device/+/event/#", topic("state", { gateway: "chaos" })], { qos: 1 });
  return { broker, dir, dev, config, received, states, be, setAcking: (a: boolean) => (acking = a) };
}

describe("chaos: gateway process killed and restarted", () => {
  it(`SIGKILL mid-stream (${ROUNDS} rounds): sent = received, no duplicates after dedup, outbox inspected and drained`, async () => {
    const { dir, dev, config, received, states, setAcking, be } = await setup();
    const sent: string[] = [];
    let gw = spawnGateway(config);
    await dev.waitFor(() => dev.sessions >= 1, 15000, "first handshake");
    for (let round = 0; round < ROUNDS; round++) {
      // a burst while the backend is not acking: events must sit in the gateway outbox on disk
      setAcking(false);
      for (let i = 0; i < 10; i++) sent.push(`2001:${dev.boot}:${dev.alarm()}`);
      await dev.waitFor(() => dev.outbox.length === 0, 5000, "device outbox acked by the gateway");
      const before = outboxRows(dir);
      expect(before.length).toBeGreaterThanOrEqual(10);
      for (const id of sent.slice(-10)) expect(before).toContain(id); // acked to the device ⇒ on disk
      // more alarms in flight while the gateway dies
      for (let i = 0; i < 5; i++) sent.push(`2001:${dev.boot}:${dev.alarm()}`);
      gw.proc.kill("SIGKILL");
      await gw.exited;
      const afterKill = outboxRows(dir);
      for (const id of before) expect(afterKill).toContain(id); // nothing acked to the backend was lost
      for (let i = 0; i < 5; i++) sent.push(`2001:${dev.boot}:${dev.alarm()}`); // the gateway is down: stay in the device
      setAcking(true);
      const sessions = dev.sessions;
      gw = spawnGateway(config);
      await dev.waitFor(() => dev.sessions > sessions, 15000, "handshake after restart");
      // the events that were held re-published after the restart get acked now
      await waitFor(() => new Set(received).size >= sent.length, 15000, `round ${round}: ${sent.length} events at the backend`);
      // anything received before acking resumed is re-sent by the gateway (ack timeout) and acked now
      be.publish(topic("ack", { gateway: "chaos" }), Buffer.from(encodeMessage("EventAck", { eventIds: [...new Set(received)] })), { qos: 1 });
      // the next round's "before" snapshot must not race with these acks
      await waitFor(() => outboxRows(dir).length === 0, 15000, `round ${round}: gateway outbox empty`);
    }
    await waitFor(() => outboxRows(dir).length === 0, 15000, "gateway outbox empty");
    expect(dev.outbox.length).toBe(0);
    const unique = new Set(received);
    console.log(`chaos: ${ROUNDS} SIGKILLs; device sent ${sent.length} alarms; backend received ${received.length} publishes, ${unique.size} unique event ids`);
    expect(unique.size).toBe(sent.length);
    expect([...unique].sort()).toEqual([...sent].sort());
    expect(sent.length).toBe(ROUNDS * 20);
    // last will seen for each kill, and every birth has a higher bd_seq than the will before it
    const wills = states.filter((s) => !s.online);
    expect(wills.length).toBeGreaterThanOrEqual(ROUNDS);
    const births = states.filter((s) => s.online).map((s) => s.bdSeq);
    expect(births).toEqual([...births].sort((a, b) => a - b));
    gw.proc.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
  });

  it("SIGTERM: graceful stop publishes the offline state and exits 0", async () => {
    const { dir, dev, config, received, states } = await setup();
    const gw = spawnGateway(config);
    await dev.waitFor(() => dev.sessions >= 1, 15000, "handshake");
    const id = `2001:${dev.boot}:${dev.alarm()}`;
    await waitFor(() => received.includes(id), 5000, "alarm at backend");
    await waitFor(() => outboxRows(dir).length === 0, 5000, "acked by the backend");
    gw.proc.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
    expect(gw.out()).toContain("SIGTERM: stopping gracefully");
    await waitFor(() => states.some((s) => !s.online), 3000, "offline state");
    expect(states.at(-1)!.online).toBe(false);
  });
});
