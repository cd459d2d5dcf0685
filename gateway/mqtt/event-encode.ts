// The BackendEvent in protobuf, written field by field (it is encoded once per event, the relay's hot
// path): the same bytes as the canonical encoder (protocol/schema.ts encodeCanonical — ascending field
// numbers, zero values left out; event-encode.test.ts compares them), except that `envelope` (field 11) is
// the device's authenticated Envelope bytes as received, copied, not decoded and encoded again. For a
// canonical device payload (the firmware's codec is held to the canonical bytes by the golden vectors)
// that is exactly what re-encoding would give.
// Two passes — sizes, then bytes into one Buffer of exactly that size — so an event costs one allocation
// (a protobufjs Writer allocated an operation object per field and a state per nested message: garbage
// that, at thousands of events a second, pushed in-flight events into the old generation).
import type { BackendEvent } from "./topics.ts";
import { bytesField, intField, intLen, strField, strLen, trueField, uintField, uintLen } from "../proto-write.ts";

/** `ev` with `envelope` given as the Envelope's bytes. */
export type BackendEventBytes = Omit<BackendEvent, "envelope"> & { envelope: Uint8Array };

type Code = BackendEvent["codes"][number];

function codeLen(c: Code): number {
  return (c.system ? 1 + strLen(c.system) : 0) + (c.code ? 1 + strLen(c.code) : 0) + (c.display ? 1 + strLen(c.display) : 0);
}

export function encodeBackendEvent(ev: BackendEventBytes): Buffer {
  let n = 0;
  if (ev.eventId) n += 1 + strLen(ev.eventId);
  if (ev.gateway) n += 1 + strLen(ev.gateway);
  if (ev.device) n += 1 + uintLen(ev.device);
  if (ev.kind) n += 1 + intLen(ev.kind | 0);
  if (ev.type) n += 1 + strLen(ev.type);
  if (ev.time) n += 1 + uintLen(ev.time);
  if (ev.received) n += 1 + uintLen(ev.received);
  if (ev.late) n += 2;
  if (ev.historical) n += 2;
  for (const c of ev.codes) {
    const l = codeLen(c);
    n += 1 + uintLen(l) + l;
  }
  n += 1 + uintLen(ev.envelope.length) + ev.envelope.length; // present even when empty: a message field that is set
  if (ev.label) n += 1 + strLen(ev.label);
  if (ev.test) n += 2;
  if (ev.scheduled) n += 1 + uintLen(ev.scheduled);

  const b = Buffer.allocUnsafe(n); // every byte is written below
  let p = 0;
  if (ev.eventId) p = strField(b, p, 0x0a, ev.eventId);
  if (ev.gateway) p = strField(b, p, 0x12, ev.gateway);
  if (ev.device) p = uintField(b, p, 0x18, ev.device);
  if (ev.kind) p = intField(b, p, 0x20, ev.kind | 0);
  if (ev.type) p = strField(b, p, 0x2a, ev.type);
  if (ev.time) p = uintField(b, p, 0x30, ev.time);
  if (ev.received) p = uintField(b, p, 0x38, ev.received);
  if (ev.late) p = trueField(b, p, 0x40);
  if (ev.historical) p = trueField(b, p, 0x48);
  for (const c of ev.codes) {
    p = uintField(b, p, 0x52, codeLen(c));
    if (c.system) p = strField(b, p, 0x0a, c.system);
    if (c.code) p = strField(b, p, 0x12, c.code);
    if (c.display) p = strField(b, p, 0x1a, c.display);
  }
  p = bytesField(b, p, 0x5a, ev.envelope);
  if (ev.label) p = strField(b, p, 0x62, ev.label);
  if (ev.test) p = trueField(b, p, 0x68);
  if (ev.scheduled) p = uintField(b, p, 0x70, ev.scheduled);
  if (p !== n) throw new Error(`BackendEvent encoder: wrote ${p} bytes, sized ${n} (a bug in gateway/mqtt/event-encode.ts)`);
  return b;
}
