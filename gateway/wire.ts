// The gateway's view of the device-link codec: a thin layer over protocol/schema.ts (protobufjs,
// canonical encoding, same plain-object conventions as the firmware codec — see that file) plus the
// two helpers the gateway needs on top: reading an envelope before its MAC is checked (to learn which
// device key to check it with) and naming the oneof body member present.
import { createHmac, timingSafeEqual } from "node:crypto";
import type protobuf from "protobufjs";
import { MAC_LEN } from "../protocol/mac.ts";
import { encodeFrame } from "../protocol/framing.ts";
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
 */
export function splitBody(body: Uint8Array): { env: any; payload: Uint8Array; mac: Uint8Array } | null {
  if (body.length <= MAC_LEN) return null;
  const payload = body.subarray(0, body.length - MAC_LEN);
  try {
    return { env: decodeEnvelope(payload), payload, mac: body.subarray(body.length - MAC_LEN) };
  } catch {
    return null;
  }
}

/** The truncated HMAC-SHA256 of protocol/mac.ts, with node:crypto's HMAC (same bytes, one native call). */
export function macOf(key: Uint8Array, payload: Uint8Array): Buffer {
  return createHmac("sha256", key).update(payload).digest().subarray(0, MAC_LEN);
}

/** Constant-time check of a frame's MAC. */
export function macMatches(key: Uint8Array, payload: Uint8Array, mac: Uint8Array): boolean {
  return mac.length === MAC_LEN && timingSafeEqual(macOf(key, payload), mac);
}

/** A complete frame for `env` sealed with `key` (same bytes as protocol/schema.ts sealFrame). */
export function sealEnvelope(key: Uint8Array, env: Record<string, any>): Uint8Array {
  const payload = encodeCanonical("Envelope", env);
  const body = new Uint8Array(payload.length + MAC_LEN);
  body.set(payload, 0);
  body.set(macOf(key, payload), payload.length);
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
