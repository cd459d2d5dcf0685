// Chaos with a fleet: many devices raise alarms and dose events concurrently while the real
// Mosquitto is restarted twice; the backend acks at application level and deduplicates by event id.
// Exact counts: every event sent is received, none twice after dedup, all outboxes end empty.
// Short in the normal run; scale with CHAOS_DEVICES and CHAOS_EVENTS (events per device);
// CHAOS_BACKEND_ACK=puback runs the PUBACK fallback instead of application acks.
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { startGateway, parseConfig } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { FakeDevice, waitFor } from "../support/fake-device.ts";
import { startMosquitto } from "../support/mosquitto.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { topic } from "../../gateway/mqtt/topics.ts";

const DEVICES = Number(process.env.CHAOS_DEVICES ?? 20);
const EVENTS = Number(process.env.CHAOS_EVENTS ?? 25);
const ACK = (process.env.CHAOS_BACKEND_ACK ?? "application") as "application" | "puback";
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("chaos: fleet through broker restarts", () => {
  it(`${DEVICES} devices × ${EVENTS} events, broker restarted twice (${ACK} acks): sent = received after dedup`, async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fleet-"));
    const keys = Array.from({ length: DEVICES }, () => newDeviceKey());
    keys.forEach((key, i) => appendDevice(path.join(dir, "registry.toml"), { id: 5000 + i, kind: i % 2 ? "dispenser" : "alarm", board: "x", key, label: "", created: "" }));
    const cfg = parseConfig({ gateway_id: "fleet", mqtt: { url: broker.url, reconnect_ms: 100, ack_timeout_s: 3, inflight: 256, backend_ack: ACK }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 200 } }, "t.toml", dir);
    const gw = await startGateway(cfg);
    cleanup.push(() => gw.stop());
    const unique = new Set<string>();
    let publishes = 0;
    const be = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "fleet-backend", clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 100 });
    cleanup.push(() => be.endAsync(true));
    be.on("message", (_t, p) => {
      const ev = decodeMessage("BackendEvent", new Uint8Array(p));
      publishes++;
      unique.add(ev.eventId);
      be.publish(topic("ack", { gateway: "fleet" }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    await be.subscribeAsync(["varde/v1/fleet/device/+/event/alarm", "varde/v1/fleet/device/+/event/dose"], { qos: 1 });
    const devs = keys.map((key, i) => new FakeDevice({ id: 5000 + i, key, retryMs: 300 }));
    for (const d of devs) {
      cleanup.push(() => d.close());
      gw.addLink(d.memoryLink());
    }
    await waitFor(() => devs.every((d) => d.sessions >= 1), 10000, "handshakes");
    const sent: string[] = [];
    const t0 = Date.now();
    for (let k = 0; k < EVENTS; k++) {
      for (const d of devs) {
        const seq = d.id % 2 ? d.reliable({ dose: { kind: k % 2, slot: k % 28 } }) : d.alarm();
        sent.push(`${d.id}:${d.boot}:${seq}`);
      }
      if (k === Math.floor(EVENTS / 3)) void broker.restart();
      if (k === Math.floor((2 * EVENTS) / 3)) void broker.restart();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => devs.every((d) => d.outbox.length === 0), 30000, "every device outbox acked by the gateway");
    await waitFor(() => unique.size === sent.length && gw.outbox.depth() === 0, 60000, `${sent.length} events at the backend, gateway outbox empty`);
    const secs = (Date.now() - t0) / 1000;
    console.log(`fleet: ${DEVICES} devices, ${sent.length} events in ${secs.toFixed(1)} s through 2 broker restarts; ${publishes} publishes received, ${unique.size} unique; ${gw.outbox.commits} outbox commits; ${gw.metrics.get("varde_duplicates_total")} device retransmissions deduplicated`);
    expect([...unique].sort()).toEqual([...sent].sort());
    expect(gw.metrics.get("varde_events_in_total")).toBe(sent.length);
  });
});
