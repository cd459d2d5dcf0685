// The gateway's view of the device-link codec: a thin layer over protocol/schema.ts (protobufjs,
// canonical encoding, same plain-object conventions as the firmware codec — see that file) plus the
// two helpers the gateway needs on top: reading an envelope before its MAC is checked (to learn which
// device key to check it with) and naming the oneof body member present.
import protobuf from "protobufjs";
import { MAC_LEN } from "../protocol/mac.ts";
import { CRC_LEN, crc16, encodeFrame, HEADER_LEN, MAGIC0, MAGIC1 } from "../protocol/framing.ts";
import { macAt, macInto } from "./hmac.ts";
import { fixed32Field, uintField, uintLen } from "./proto-write.ts";
import { decodeMessage, encodeCanonical, lookupType, nodeSha256, openFrame, sealFrame, ZERO_KEY } from "../protocol/schema.ts";

export { decodeMessage, nodeSha256, openFrame, sealFrame, ZERO_KEY };

export function type(name: string): protobuf.Type {
  return lookupType(name);
}
export function encodeMessage(typeName: string, obj: Record<string, any>): Uint8Array {
  return encodeCanonical(typeName, obj);
}
export function encodeEnvelope(env: Record<string, any>): Uint8Array {
  return encodeCanonical("Envelope", env);
}
export function decodeEnvelope(bytes: Uint8Array): any {
  return decodeMessage("Envelope", bytes);
}

/**
 * A frame body, decoded ONCE: the Envelope (to learn which device key checks it), the payload bytes and
 * the MAC. The MAC is checked afterwards with macMatches(); nothing in `env` may be trusted before.
 * Null when the body is too short or not an Envelope.
 *
 * The envelope is protobufjs's own decoded message (its generated decoder, no conversion pass): field names
 * and enum numbers as in protocol/schema.ts; fields not on the wire read as their defaults (message fields
 * as null); of two members of the body oneof the last one wins, as with the canonical decoder.
 */
export function splitBody(body: Uint8Array): SplitBody | null {
  if (body.length <= MAC_LEN) return null;
  const payload = body.subarray(0, body.length - MAC_LEN);
  let env: any;
  try {
    env = envelopeType().decode(payload);
  } catch {
    return null;
  }
  return { env, payload, body };
}

/** A frame body split by splitBody(): `payload` is the body without its MAC (a view, not a copy). */
export interface SplitBody {
  env: any;
  payload: Uint8Array;
  body: Uint8Array;
}

let envelope: protobuf.Type | null = null;
function envelopeType(): protobuf.Type {
  return (envelope ??= lookupType("Envelope"));
}

/**
 * The gateway's ack of a reliable device frame, {device, boot, ack, time}, sealed with the device key: the
 * same bytes as sealEnvelope() (canonical: ascending fields, zero values left out; wire.test.ts compares),
 * written by hand, straight into a buffer of its exact size (one allocation: it is sent once per event).
 */
export function ackFrame(key: Uint8Array, device: number, boot: number, ack: number, time: number): Uint8Array {
  const len = (device ? 1 + uintLen(device) : 0) + (boot ? 5 : 0) + (ack ? 1 + uintLen(ack) : 0) + (time ? 5 : 0);
  const b = Buffer.allocUnsafe(HEADER_LEN + len + MAC_LEN + CRC_LEN); // every byte is written below
  let i = HEADER_LEN;
  if (device) i = uintField(b, i, 0x08, device);
  if (boot) i = fixed32Field(b, i, 0x15, boot);
  if (ack) i = uintField(b, i, 0x20, ack);
  if (time) i = fixed32Field(b, i, 0x2d, time);
  macInto(key, b, b, i, HEADER_LEN, i);
  i += MAC_LEN;
  b[0] = MAGIC0;
  b[1] = MAGIC1;
  b[2] = i - HEADER_LEN;
  const crc = crc16(b, 2, i);
  b[i++] = crc >> 8;
  b[i++] = crc & 0xff;
  return b;
}

/** Check of a split frame's MAC under `key` (hmac.ts: every byte compared, no early exit; no copy or view made). */
export function macMatches(key: Uint8Array, f: SplitBody): boolean {
  return macAt(key, f.body, 0, f.payload.length, f.body, f.payload.length);
}

/** A complete frame for `env` sealed with `key` (same bytes as protocol/schema.ts sealFrame). */
export function sealEnvelope(key: Uint8Array, env: Record<string, any>): Uint8Array {
  const payload = encodeCanonical("Envelope", env);
  const body = new Uint8Array(payload.length + MAC_LEN);
  body.set(payload, 0);
  macInto(key, payload, body, payload.length);
  return encodeFrame(body);
}

/** Splits a frame body into its envelope WITHOUT checking the MAC (only to pick the key to check). */
export function peekBody(body: Uint8Array): { env: any; payload: Uint8Array } | null {
  if (body.length <= MAC_LEN) return null;
  const payload = body.subarray(0, body.length - MAC_LEN);
  try {
    return { env: decodeEnvelope(payload), payload };
  } catch {
    return null;
  }
}

/** Oneof body members of Envelope, in field order. */
export const BODY_NAMES = [
  "alarm", "dose", "heartbeat", "fault", "alarmAck", "hello", "info", "timeSync", "battery",
  "schedule", "scheduleAck", "config", "configAck", "command", "status", "supply",
];
/** Name of the body member present in a decoded envelope, or "" for a bare ack. */
export function bodyName(env: any): string {
  for (const n of BODY_NAMES) if (env[n] !== undefined && env[n] !== null) return n;
  return "";
}
