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

/** `ev` with `envelope` given as the Envelope's bytes. */
export type BackendEventBytes = Omit<BackendEvent, "envelope"> & { envelope: Uint8Array };

type Code = BackendEvent["codes"][number];

/** bytes of a varint of the uint32 v */
function uintLen(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}
/** bytes of an int32 field's varint (a negative int32 is sign-extended to 64 bits: 10 bytes) */
function intLen(v: number): number {
  return v < 0 ? 10 : uintLen(v);
}
/** bytes of a string field after its tag: length varint + UTF-8 */
function strLen(s: string): number {
  const n = Buffer.byteLength(s, "utf8");
  return uintLen(n) + n;
}
function codeLen(c: Code): number {
  return (c.system ? 1 + strLen(c.system) : 0) + (c.code ? 1 + strLen(c.code) : 0) + (c.display ? 1 + strLen(c.display) : 0);
}

function putUint(b: Buffer, p: number, v: number): number {
  v >>>= 0;
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}
function putInt(b: Buffer, p: number, v: number): number {
  if (v >= 0) return putUint(b, p, v);
  let lo = v >>> 0;
  let hi = 0xffffffff; // sign extension of a negative int32
  while (hi !== 0 || lo > 0x7f) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[p++] = lo;
  return p;
}
function putStr(b: Buffer, p: number, tag: number, s: string): number {
  b[p++] = tag;
  p = putUint(b, p, Buffer.byteLength(s, "utf8"));
  return p + b.write(s, p, "utf8");
}

export function encodeBackendEvent(ev: BackendEventBytes): Buffer {
  let n = 0;
  if (ev.eventId) n += 1 + strLen(ev.eventId);
  if (ev.gateway) n += 1 + strLen(ev.gateway);
  if (ev.device) n += 1 + uintLen(ev.device >>> 0);
  if (ev.kind) n += 1 + intLen(ev.kind | 0);
  if (ev.type) n += 1 + strLen(ev.type);
  if (ev.time) n += 1 + uintLen(ev.time >>> 0);
  if (ev.received) n += 1 + uintLen(ev.received >>> 0);
  if (ev.late) n += 2;
  if (ev.historical) n += 2;
  for (const c of ev.codes) {
    const l = codeLen(c);
    n += 1 + uintLen(l) + l;
  }
  n += 1 + uintLen(ev.envelope.length) + ev.envelope.length; // present even when empty: a message field that is set
  if (ev.label) n += 1 + strLen(ev.label);
  if (ev.test) n += 2;
  if (ev.scheduled) n += 1 + uintLen(ev.scheduled >>> 0);

  const b = Buffer.allocUnsafe(n); // every byte is written below
  let p = 0;
  if (ev.eventId) p = putStr(b, p, 0x0a, ev.eventId);
  if (ev.gateway) p = putStr(b, p, 0x12, ev.gateway);
  if (ev.device) {
    b[p++] = 0x18;
    p = putUint(b, p, ev.device);
  }
  if (ev.kind) {
    b[p++] = 0x20;
    p = putInt(b, p, ev.kind | 0);
  }
  if (ev.type) p = putStr(b, p, 0x2a, ev.type);
  if (ev.time) {
    b[p++] = 0x30;
    p = putUint(b, p, ev.time);
  }
  if (ev.received) {
    b[p++] = 0x38;
    p = putUint(b, p, ev.received);
  }
  if (ev.late) {
    b[p++] = 0x40;
    b[p++] = 1;
  }
  if (ev.historical) {
    b[p++] = 0x48;
    b[p++] = 1;
  }
  for (const c of ev.codes) {
    b[p++] = 0x52;
    p = putUint(b, p, codeLen(c));
    if (c.system) p = putStr(b, p, 0x0a, c.system);
    if (c.code) p = putStr(b, p, 0x12, c.code);
    if (c.display) p = putStr(b, p, 0x1a, c.display);
  }
  b[p++] = 0x5a;
  p = putUint(b, p, ev.envelope.length);
  b.set(ev.envelope, p);
  p += ev.envelope.length;
  if (ev.label) p = putStr(b, p, 0x62, ev.label);
  if (ev.test) {
    b[p++] = 0x68;
    b[p++] = 1;
  }
  if (ev.scheduled) {
    b[p++] = 0x70;
    p = putUint(b, p, ev.scheduled);
  }
  if (p !== n) throw new Error(`BackendEvent encoder: wrote ${p} bytes, sized ${n} (a bug in gateway/mqtt/event-encode.ts)`);
  return b;
}
