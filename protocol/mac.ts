// Frame authentication, shared by firmware and gateway (Espruino subset).
// body = payload || MAC, MAC = first MAC_LEN bytes of HMAC-SHA256(deviceKey, payload).
// The SHA-256 primitive is injected: Espruino has require("crypto").SHA256 but no HMAC,
// Node has crypto.createHash. The HMAC construction here matches RFC 4231 test vectors.

export const MAC_LEN = 8;
const BLOCK = 64;

export type Sha256 = (data: Uint8Array) => Uint8Array;

export function hmacSha256(sha256: Sha256, key: Uint8Array, data: Uint8Array): Uint8Array {
  let k = key;
  if (k.length > BLOCK) k = sha256(k);
  const inner = new Uint8Array(BLOCK + data.length);
  const outer = new Uint8Array(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    const kb = i < k.length ? k[i] : 0;
    inner[i] = kb ^ 0x36;
    outer[i] = kb ^ 0x5c;
  }
  inner.set(data, BLOCK);
  outer.set(sha256(inner), BLOCK);
  return sha256(outer);
}

/** payload || truncated MAC */
export function seal(sha256: Sha256, key: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + MAC_LEN);
  out.set(payload, 0);
  out.set(hmacSha256(sha256, key, payload).subarray(0, MAC_LEN), payload.length);
  return out;
}

/** Returns the payload (possibly empty) when the MAC is right, else null. Constant-time compare. */
export function open(sha256: Sha256, key: Uint8Array, body: Uint8Array): Uint8Array | null {
  if (body.length < MAC_LEN) return null;
  const n = body.length - MAC_LEN;
  const payload = body.subarray(0, n);
  const mac = hmacSha256(sha256, key, payload);
  let diff = 0;
  for (let i = 0; i < MAC_LEN; i++) diff |= mac[i] ^ body[n + i];
  return diff === 0 ? payload : null;
}
