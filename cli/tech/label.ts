// The short label printed at provisioning and stuck on the device: "<id>-<check>".
// The check code is the first 25 bits of SHA-256("varde-label" | id | key) in Crockford base32 (5 chars,
// no I/L/O/U to misread). It lets a technician confirm that a sticker, the registry entry and the device
// all agree (probe prints it too) without ever showing the secret key.
import { createHash } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** 5-character Crockford base32 check code over the id and the 64-hex key. */
export function checkCode(id: number, keyHex: string): string {
  const h = createHash("sha256").update(`varde-label|${id}|${keyHex.toLowerCase()}`).digest();
  const bits = (h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3];
  let out = "";
  for (let i = 0; i < 5; i++) out += ALPHABET[(bits >>> (27 - 5 * i)) & 31];
  return out;
}

/** "1001-7KQ2M": what goes on the sticker. */
export function deviceLabel(id: number, keyHex: string): string {
  return `${id}-${checkCode(id, keyHex)}`;
}
