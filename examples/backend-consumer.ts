// Example integrator backend for docs/backend-contract.md: subscribes to a gateway's events, stores each
// one (here: prints it), deduplicates by event_id, and only then sends the application ack that lets the
// event leave the gateway's outbox. Also shows acknowledging an alarm. It reads both payload formats the
// gateway can send ([mqtt] payload_format = "protobuf" or "json") and answers in the format it received.
//   node --import tsx examples/backend-consumer.ts mqtt://127.0.0.1:1883 home-gw-1
//   node --import tsx examples/backend-consumer.ts mqtt://127.0.0.1:1883 home-gw-1 --mqtt-version 4 --ack-alarms-as nurse
// (--mqtt-version 4 for the gateway's embedded broker, which speaks MQTT 3.1.1; --username u takes the
// password from $VARDE_BACKEND_PASSWORD, so it is not in the shell history.)
// A real backend stores events in its database before acking and keeps the seen-id set there too.
import mqtt from "mqtt";
import { fileURLToPath } from "node:url";
import { decodePayload, encodePayload } from "../gateway/mqtt/payload.ts";
import { filter, topic } from "../gateway/mqtt/topics.ts";
import { describeEvent } from "../gateway/describe.ts";
import { codeLabel } from "../gateway/codes.ts"; // a VKP code means nothing without its system URL

export interface ConsumerOptions {
  url: string;
  gateway: string;
  /** persistent session id: the broker keeps events for us while we are down */
  clientId?: string;
  /** 5 (default) or 4 (MQTT 3.1.1, e.g. the gateway's embedded broker) */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  /** store the event; resolve only when it is durable on our side */
  store: (ev: any) => Promise<void> | void;
  /** acknowledge alarms automatically as this responder (demo only) */
  autoAckAlarmsAs?: string;
}

/** One line for a person: when, which device, what happened in words, the flags and codes, the event id in full. */
export function formatEvent(ev: any): string {
  const when = new Date((ev.time ?? 0) * 1000).toISOString();
  const flags = [ev.test ? "test" : "", ev.late ? "late" : "", ev.historical ? "historical" : ""].filter(Boolean);
  const codes = (ev.codes ?? []).map((c: any) => `${codeLabel(c)} ${c.display}`).join(", ");
  return `${when} device ${ev.device}${ev.label ? ` (${ev.label})` : ""}: ${describeEvent(ev.type, ev.envelope)}${flags.length ? ` [${flags.join(", ")}]` : ""}${codes ? `  ${codes}` : ""}  event ${ev.eventId}`;
}

export async function runConsumer(o: ConsumerOptions): Promise<{ close(): Promise<void>; seen: Set<string> }> {
  const seen = new Set<string>();
  const v = o.protocolVersion ?? 5;
  const c = await mqtt.connectAsync(o.url, {
    protocolVersion: v,
    clientId: o.clientId ?? `varde-backend-${o.gateway}`,
    clean: false,
    username: o.username,
    password: o.password,
    ...(v === 5 ? { properties: { sessionExpiryInterval: 7 * 86400 } } : {}),
  });
  c.on("message", async (t, payload) => {
    if (!t.includes("/event/")) return;
    // a payload starting with "{" is the JSON form (payload_format = "json"); answer in the same form
    const format = payload[0] === 0x7b ? "json" : "protobuf";
    let ev: any;
    try {
      ev = decodePayload("BackendEvent", new Uint8Array(payload));
    } catch (e) {
      console.error(`${t}: not a BackendEvent (${(e as Error).message}); ignored`);
      return;
    }
    if (!seen.has(ev.eventId)) {
      await o.store(ev); // first durable on our side ...
      seen.add(ev.eventId);
      if (o.autoAckAlarmsAs && ev.type === "alarm" && !ev.envelope?.alarm?.cancel) {
        const req = { correlationId: `ack-${ev.eventId}`, device: ev.device, alarmSeq: ev.envelope.seq, responder: o.autoAckAlarmsAs };
        c.publish(topic("command", { gateway: o.gateway, command: "ack-alarm" }), encodePayload(format, "CommandRequest", req), { qos: 1 });
      }
    }
    // ... then acked (also for a duplicate: our earlier ack may have been lost)
    c.publish(topic("ack", { gateway: o.gateway }), encodePayload(format, "EventAck", { eventIds: [ev.eventId] }), { qos: 1 });
  });
  await c.subscribeAsync(filter("event", o.gateway), { qos: 1 });
  return { close: () => c.endAsync(), seen };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const version = opt("--mqtt-version");
  const ackAs = opt("--ack-alarms-as");
  const username = opt("--username");
  const password = process.env.VARDE_BACKEND_PASSWORD;
  const [url = "mqtt://127.0.0.1:1883", gateway = "home-gw-1"] = args;
  if (version !== undefined && version !== "4" && version !== "5") {
    console.error(`--mqtt-version ${version}: use 4 (MQTT 3.1.1) or 5`);
    process.exit(2);
  }
  try {
    await runConsumer({ url, gateway, protocolVersion: version === "4" ? 4 : 5, username, password, autoAckAlarmsAs: ackAs, store: (ev) => console.log(formatEvent(ev)) });
  } catch (e) {
    console.error(`cannot connect to ${url}: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`listening for ${gateway} events on ${url} (Ctrl-C to stop)`);
}
