// The BackendEvent in protobuf, written field by field (it is encoded once per event, the relay's hot
// path): the same bytes as the canonical encoder (protocol/schema.ts encodeCanonical — ascending field
// numbers, zero values left out; event-encode.test.ts compares them), except that `envelope` (field 11) is
// the device's authenticated Envelope bytes as received, copied, not decoded and encoded again. For a
// canonical device payload (the firmware's codec is held to the canonical bytes by the golden vectors)
// that is exactly what re-encoding would give.
import protobuf from "protobufjs";
import type { BackendEvent } from "./topics.ts";

/** `ev` with `envelope` given as the Envelope's bytes. */
export type BackendEventBytes = Omit<BackendEvent, "envelope"> & { envelope: Uint8Array };

export function encodeBackendEvent(ev: BackendEventBytes): Buffer {
  const w = protobuf.Writer.create();
  if (ev.eventId) w.uint32(0x0a).string(ev.eventId);
  if (ev.gateway) w.uint32(0x12).string(ev.gateway);
  if (ev.device) w.uint32(0x18).uint32(ev.device);
  if (ev.kind) w.uint32(0x20).int32(ev.kind);
  if (ev.type) w.uint32(0x2a).string(ev.type);
  if (ev.time) w.uint32(0x30).uint32(ev.time);
  if (ev.received) w.uint32(0x38).uint32(ev.received);
  if (ev.late) w.uint32(0x40).bool(true);
  if (ev.historical) w.uint32(0x48).bool(true);
  for (const c of ev.codes) {
    w.uint32(0x52).fork();
    if (c.system) w.uint32(0x0a).string(c.system);
    if (c.code) w.uint32(0x12).string(c.code);
    if (c.display) w.uint32(0x1a).string(c.display);
    w.ldelim();
  }
  w.uint32(0x5a).bytes(ev.envelope); // present even when empty: a message field that is set
  if (ev.label) w.uint32(0x62).string(ev.label);
  if (ev.test) w.uint32(0x68).bool(true);
  if (ev.scheduled) w.uint32(0x70).uint32(ev.scheduled);
  const b = w.finish();
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}
