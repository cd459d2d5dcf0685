// The backend against a real Mosquitto, as a gateway sees it: events (protobuf and JSON) are stored once
// and only then acked; duplicates are acked again but not stored twice; payloads that are no
// BackendEvent are refused with a clear message and not acked; a flood is stored completely.
// Run on SQLite by backend/contract.test.ts and on a real PostgreSQL by backend/postgres.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto } from "../test/support/mosquitto.ts";
import { until } from "../test/support/wait.ts";
import { filter, topic } from "../gateway/mqtt/topics.ts";
import { decodePayload, encodePayload } from "../gateway/mqtt/payload.ts";
import { startBackend, type BackendHandle } from "./index.ts";
import { makeEvent, testPatients } from "./test-events.ts";

export function contractSuite(name: string, dbSpec: () => Promise<{ spec: string; done: () => Promise<void> }>) {
  describe(name, () => {
    let broker: Mosquitto;
    let be: BackendHandle;
    let gw: MqttClient;
    let db: { spec: string; done: () => Promise<void> };
    const acked: string[] = [];
    const logs: string[] = [];
    const GW = "test-gw";

    beforeAll(async () => {
      broker = await Mosquitto.start({ persistence: false });
      db = await dbSpec();
      be = await startBackend({
        brokerUrl: broker.url, db: db.spec, http: { port: 0 }, instance: "t1",
        patients: testPatients([{ id: "p1", name: "Kari", team: "nord", devices: [1001] }]),
        log: (_l, m) => logs.push(m),
      });
      gw = await mqtt.connectAsync(broker.url, { clientId: "fake-gateway", protocolVersion: 5 });
      gw.on("message", (_t, p) => acked.push(...decodePayload("EventAck", new Uint8Array(p)).eventIds));
      await gw.subscribeAsync(filter("ack", GW), { qos: 1 });
    }, 60_000);
    afterAll(async () => {
      await gw?.endAsync();
      await be?.stop();
      await db?.done();
      await broker?.stop();
    });

    const publish = (ev: ReturnType<typeof makeEvent>, format: "protobuf" | "json" = "protobuf") =>
      gw.publishAsync(topic("event", { gateway: GW, device: ev.device, type: ev.type }), encodePayload(format, "BackendEvent", ev), { qos: 1 });
    const count = async (id: string) => Number((await be.db.get(`SELECT COUNT(*) AS n FROM events WHERE event_id = ?`, [id]))!.n);

    it("stores an alarm (protobuf) once, then acks it; the duplicate is acked, not stored again; it is in the queue", async () => {
      const ev = makeEvent({ gateway: GW, device: 1001, boot: 7, seq: 1, type: "alarm", body: { alarm: {} } });
      await publish(ev);
      await until(() => acked.includes(ev.eventId), 10_000, "EventAck for " + ev.eventId);
      expect(await count(ev.eventId)).toBe(1);
      await publish(ev);
      await until(() => acked.filter((x) => x === ev.eventId).length === 2, 10_000, "second ack");
      expect(await count(ev.eventId)).toBe(1);
      const alarms = await be.db.all(`SELECT * FROM alarms WHERE event_id = ?`, [ev.eventId]);
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({ category: "alarm", state: "open", priority: 1 });
    });

    it("reads the documented JSON payload; a cancel marks its alarm; a test alarm is a test", async () => {
      const cancel = makeEvent({ gateway: GW, device: 1001, boot: 7, seq: 2, type: "alarm", body: { alarm: { cancel: true, alarmSeq: 1 } } });
      const test = makeEvent({ gateway: GW, device: 1001, boot: 7, seq: 3, type: "alarm", body: { alarm: { test: true } }, test: true });
      await publish(cancel, "json");
      await publish(test, "json");
      await until(() => acked.includes(cancel.eventId) && acked.includes(test.eventId), 10_000, "acks");
      const rows = await be.db.all(`SELECT seq, category, cancelled FROM alarms WHERE device = 1001 ORDER BY seq`);
      expect(rows.map((r) => [Number(r.seq), r.category, Number(r.cancelled)])).toEqual([[1, "alarm", 1], [3, "test", 0]]);
    });

    it("refuses a payload that is no BackendEvent, with a message naming the topic; nothing stored, nothing acked", async () => {
      const before = be.contract.stats.rejected;
      const t = topic("event", { gateway: GW, device: 1001, type: "alarm" });
      await gw.publishAsync(t, Buffer.from("{not json"), { qos: 1 });
      await gw.publishAsync(t, Buffer.from([0xff, 0xff, 0xff]), { qos: 1 });
      await gw.publishAsync(t, encodePayload("json", "BackendEvent", { gateway: GW, device: 1001, type: "alarm" }), { qos: 1 });
      await until(() => be.contract.stats.rejected === before + 3, 10_000, "3 rejections");
      expect(logs.some((l) => l.includes(t) && /not a BackendEvent/.test(l))).toBe(true);
      expect(logs.some((l) => /no event_id/.test(l))).toBe(true);
    });

    it("a flood of 3,000 events from 3 gateways (with duplicates and garbage between) is stored completely, once, and acked", async () => {
      const ids: string[] = [];
      const events: ReturnType<typeof makeEvent>[] = [];
      const gws = ["flood-a", "flood-b", "flood-c"];
      const flood = await mqtt.connectAsync(broker.url, { clientId: "flooder", protocolVersion: 5 });
      const floodAcks = new Set<string>();
      flood.on("message", (_t, p) => decodePayload("EventAck", new Uint8Array(p)).eventIds.forEach((x: string) => floodAcks.add(x)));
      await flood.subscribeAsync(gws.map((g) => filter("ack", g)), { qos: 1 });
      const pubs: Promise<unknown>[] = [];
      for (let i = 1; i <= 3000; i++) {
        const g = gws[i % 3];
        const ev = makeEvent({ gateway: g, device: 5000 + (i % 50), boot: 1, seq: i, type: i % 10 === 0 ? "alarm" : "heartbeat", body: i % 10 === 0 ? { alarm: {} } : { heartbeat: { batteryPct: 80 } } });
        ids.push(ev.eventId);
        events.push(ev);
        pubs.push(flood.publishAsync(topic("event", { gateway: g, device: ev.device, type: ev.type }), encodePayload(i % 2 ? "json" : "protobuf", "BackendEvent", ev), { qos: 1 }));
        if (i % 100 === 0) pubs.push(flood.publishAsync(topic("event", { gateway: g, device: ev.device, type: ev.type }), encodePayload("protobuf", "BackendEvent", ev), { qos: 1 })); // a duplicate
        if (i % 500 === 0) pubs.push(flood.publishAsync(topic("event", { gateway: g, device: 1, type: "alarm" }), Buffer.from("garbage"), { qos: 1 }));
      }
      await Promise.all(pubs);
      // like a gateway: what has no application ack after a while is published again (a broker may drop
      // QoS 1 messages past its queue limit for a slow subscriber — Mosquitto's max_queued_messages)
      const byId = new Map(events.map((e) => [e.eventId, e]));
      let rounds = 0;
      while (!ids.every((x) => floodAcks.has(x))) {
        await until(() => ids.every((x) => floodAcks.has(x)), 3000, "acks").catch(() => undefined);
        const missing = ids.filter((x) => !floodAcks.has(x));
        if (missing.length === 0) break;
        if (++rounds > 30) throw new Error(`${missing.length} flood events never acked; backend stats ${JSON.stringify(be.contract.stats)}`);
        await Promise.all(missing.map((x) => { const ev = byId.get(x)!; return flood.publishAsync(topic("event", { gateway: ev.gateway, device: ev.device, type: ev.type }), encodePayload("protobuf", "BackendEvent", ev), { qos: 1 }); }));
      }
      const n = Number((await be.db.get(`SELECT COUNT(*) AS n FROM events WHERE gateway IN ('flood-a', 'flood-b', 'flood-c')`))!.n);
      expect(n).toBe(3000);
      const alarms = Number((await be.db.get(`SELECT COUNT(*) AS n FROM alarms WHERE gateway IN ('flood-a', 'flood-b', 'flood-c')`))!.n);
      expect(alarms).toBe(300);
      await flood.endAsync();
    }, 120_000);
  });
}

