// Reading the backend contract (docs/backend-contract.md) as the exporter consumes it: BackendEvent
// payloads from MQTT (protobuf by default, JSON when the gateway runs payload_format = "json"), and
// recorded event streams in files. Both forms are decoded to the same plain object (protocol/schema.ts
// conventions: camelCase, enums as numbers), so the exporter never sees which one arrived.
//
// A recorded stream is a text file with one event per line, any of:
//   {"topic": "varde/v1/gw/device/2001/event/dose", "payload": { ...BackendEvent JSON... }}
//   {"topic": "...", "payloadBase64": "..."}          (the MQTT payload bytes: protobuf or JSON)
//   { ...BackendEvent JSON... }                        (no topic)
//   varde/v1/gw/device/2001/event/dose {...}           (`mosquitto_sub -v` with JSON payloads)
// Blank lines and lines starting with # are ignored. A line that is none of these is an error naming
// the file and the line.
import * as fs from "node:fs";
import { decodeMessage, encodeCanonical, lookupType } from "../../protocol/schema.ts";
import { parseTopic, type BackendEvent } from "../../gateway/mqtt/topics.ts";

export type { BackendEvent };

/** Decodes an MQTT payload (protobuf or JSON bytes) of the event topic. */
export function decodeEventPayload(bytes: Uint8Array): BackendEvent {
  if (bytes.length > 0 && bytes[0] === 0x7b /* { */) {
    let obj: unknown;
    try {
      obj = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch (e) {
      throw new Error(`not valid JSON for BackendEvent: ${(e as Error).message}`);
    }
    return fromJson(obj);
  }
  return normalise(decodeMessage("BackendEvent", bytes));
}

/** A BackendEvent from its protobuf JSON form (enum names or numbers, camelCase or snake_case names). */
export function fromJson(obj: unknown): BackendEvent {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error("a BackendEvent must be a JSON object");
  const t = lookupType("BackendEvent");
  let msg;
  try {
    msg = t.fromObject(obj as Record<string, unknown>);
  } catch (e) {
    throw new Error(`not a BackendEvent: ${(e as Error).message}`);
  }
  return normalise(decodeMessage("BackendEvent", encodeCanonical("BackendEvent", t.toObject(msg, { longs: Number, enums: Number }))));
}

function normalise(ev: any): BackendEvent {
  if (!ev.eventId) throw new Error("BackendEvent without event_id");
  return { codes: [], envelope: {}, label: "", test: false, late: false, historical: false, scheduled: 0, kind: 0, received: 0, gateway: "", ...ev };
}

/** Checks that an event arrived on its own topic (type and device levels agree with the payload). */
export function checkTopic(topic: string, ev: BackendEvent): string | undefined {
  const t = parseTopic(topic);
  if (!t || t.name !== "event") return `topic ${topic} is not an event topic (varde/v1/{gateway}/device/{device}/event/{type})`;
  if (t.params.type !== ev.type || Number(t.params.device) !== ev.device || t.params.gateway !== ev.gateway)
    return `topic ${topic} does not match its event ${ev.eventId} (gateway ${ev.gateway}, device ${ev.device}, type ${ev.type})`;
  return undefined;
}

/** Parses one line of a recorded stream; null for blank and comment lines. */
export function parseStreamLine(line: string): { topic?: string; event: BackendEvent } | null {
  const s = line.trim();
  if (s === "" || s.startsWith("#")) return null;
  if (!s.startsWith("{")) {
    const sp = s.indexOf(" ");
    if (sp < 0) throw new Error("neither JSON nor `<topic> <payload>`");
    const topic = s.slice(0, sp);
    return withTopic(topic, decodeEventPayload(Buffer.from(s.slice(sp + 1).trim(), "utf8")));
  }
  let obj: any;
  try {
    obj = JSON.parse(s);
  } catch (e) {
    throw new Error(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj.topic === "string" && obj.payload !== undefined) return withTopic(obj.topic, fromJson(obj.payload));
  if (typeof obj.topic === "string" && typeof obj.payloadBase64 === "string") return withTopic(obj.topic, decodeEventPayload(Buffer.from(obj.payloadBase64, "base64")));
  return { event: fromJson(obj) };
}

function withTopic(topic: string, event: BackendEvent): { topic: string; event: BackendEvent } {
  const bad = checkTopic(topic, event);
  if (bad) throw new Error(bad);
  return { topic, event };
}

/** Reads a recorded stream file; errors name the file and line. */
export function readEventStream(file: string): BackendEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`event stream ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: BackendEvent[] = [];
  text.split("\n").forEach((line, i) => {
    let r;
    try {
      r = parseStreamLine(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${(e as Error).message} (one event per line: see backend/fhir/events.ts)`);
    }
    if (r) out.push(r.event);
  });
  return out;
}
