// Example integrator backend for docs/backend-contract.md: subscribes to a gateway's events, stores
// each one (here: prints it), deduplicates by event_id, and only then sends the application ack
// that lets the event leave the gateway's outbox. Also shows acknowledging an alarm.
//   node --import tsx examples/backend-consumer.ts mqtt://127.0.0.1:1883 home-gw-1
// A real backend stores events in its database before acking and keeps the seen-id set there too.
import mqtt from "mqtt";
import { fileURLToPath } from "node:url";
import { decodeMessage, encodeMessage } from "../gateway/wire.ts";
import { topic } from "../gateway/mqtt/topics.ts";
import { codeLabel } from "../gateway/codes.ts"; // a VKP code means nothing without its system URL

export interface ConsumerOptions {
  url: string;
  gateway: string;
  /** persistent session id: the broker keeps events for us while we are down */
  clientId?: string;
  /** store the event; resolve only when it is durable on our side */
  store: (ev: any) => Promise<void> | void;
  /** acknowledge alarms automatically as this responder (demo only) */
  autoAckAlarmsAs?: string;
}

export async function runConsumer(o: ConsumerOptions): Promise<{ close(): Promise<void>; seen: Set<string> }> {
  const seen = new Set<string>();
  const c = await mqtt.connectAsync(o.url, { protocolVersion: 5, clientId: o.clientId ?? `varde-backend-${o.gateway}`, clean: false, properties: { sessionExpiryInterval: 7 * 86400 } });
  c.on("message", async (t, payload) => {
    if (!t.includes("/event/")) return;
    const ev = decodeMessage("BackendEvent", new Uint8Array(payload));
    if (!seen.has(ev.eventId)) {
      await o.store(ev); // first durable on our side ...
      seen.add(ev.eventId);
      if (o.autoAckAlarmsAs && ev.type === "alarm" && !ev.envelope.alarm?.cancel) {
        const req = { correlationId: `ack-${ev.eventId}`, device: ev.device, alarmSeq: ev.envelope.seq, responder: o.autoAckAlarmsAs };
        c.publish(topic("command", { gateway: o.gateway, command: "ack-alarm" }), Buffer.from(encodeMessage("CommandRequest", req)), { qos: 1 });
      }
    }
    // ... then acked (also for a duplicate: our earlier ack may have been lost)
    c.publish(topic("ack", { gateway: o.gateway }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
  });
  await c.subscribeAsync(`varde/v1/${o.gateway}/device/+/event/#`, { qos: 1 });
  return { close: () => c.endAsync(), seen };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [url = "mqtt://127.0.0.1:1883", gateway = "home-gw-1"] = process.argv.slice(2);
  await runConsumer({
    url,
    gateway,
    store: (ev) => console.log(`${new Date(ev.time * 1000).toISOString()} device ${ev.device} ${ev.type}${ev.late ? " (late)" : ""}${ev.historical ? " (historical)" : ""} ${ev.codes.map((c: any) => `${codeLabel(c)} ${c.display}`).join(", ")} [${ev.eventId}]`),
  });
  console.log(`listening for ${gateway} events on ${url}`);
}
