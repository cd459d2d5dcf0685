// The gateway's view of the device-link codec: a thin layer over protocol/schema.ts (protobufjs,
// canonical encoding, same plain-object conventions as the firmware codec — see that file) plus the
// two helpers the gateway needs on top: reading an envelope before its MAC is checked (to learn which
// device key to check it with) and naming the oneof body member present.
import type protobuf from "protobufjs";
import { MAC_LEN } from "../protocol/mac.ts";
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
