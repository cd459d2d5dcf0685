// The frame MAC of protocol/mac.ts (the first MAC_LEN bytes of HMAC-SHA256(device key, payload)) for the
// gateway's hot path: two per device event (check the frame, seal its ack). node:crypto's createHmac costs
// a native object, a key import and three buffers per call (about 3.4 µs each on the bench machine, a tenth
// of the relay's CPU); frames are short (one or two SHA-256 blocks), so most of that is set-up. Here the
// key's inner and outer pad states are hashed once per key and kept, and each MAC is the remaining 2–5
// SHA-256 block compressions in plain JavaScript into preallocated arrays: no allocation per call.
// Same bytes as node:crypto (hmac.test.ts compares over random keys and lengths, RFC 4231 vectors too).
import { createHash } from "node:crypto";
import { MAC_LEN } from "../protocol/mac.ts";

// prettier-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);
/** the block being filled (the message's tail with its padding) */
const BLOCK = new Uint8Array(64);
/** the hash state being worked on */
const S = new Int32Array(8);

/** One SHA-256 compression of the 64 bytes at b[off] into state s. */
function compress(s: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) W[i] = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15];
    const y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = s[0], bb = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  s[0] = (s[0] + a) | 0;
  s[1] = (s[1] + bb) | 0;
  s[2] = (s[2] + c) | 0;
  s[3] = (s[3] + d) | 0;
  s[4] = (s[4] + e) | 0;
  s[5] = (s[5] + f) | 0;
  s[6] = (s[6] + g) | 0;
  s[7] = (s[7] + h) | 0;
}

/** Hashes data[start…end) (after `prefixBytes` already compressed into s) to the end, padding included. */
function finish(s: Int32Array, data: Uint8Array, start: number, end: number, prefixBytes: number): void {
  const n = end - start;
  let off = start;
  for (; off + 64 <= end; off += 64) compress(s, data, off);
  const rest = end - off;
  BLOCK.fill(0);
  for (let i = 0; i < rest; i++) BLOCK[i] = data[off + i]; // no subarray: a view is an allocation per MAC
  BLOCK[rest] = 0x80;
  if (rest >= 56) {
    compress(s, BLOCK, 0);
    BLOCK.fill(0);
  }
  const bits = (prefixBytes + n) * 8; // frames are at most 256 bytes: the length fits in 32 bits
  BLOCK[60] = bits >>> 24;
  BLOCK[61] = (bits >>> 16) & 0xff;
  BLOCK[62] = (bits >>> 8) & 0xff;
  BLOCK[63] = bits & 0xff;
  compress(s, BLOCK, 0);
}

/** A key's inner and outer pad states (after its one block each): words 0–7 inner, 8–15 outer. */
const pads = new WeakMap<Uint8Array, Int32Array>();
function padStates(key: Uint8Array): Int32Array {
  let p = pads.get(key);
  if (p) return p;
  const k = key.length > 64 ? createHash("sha256").update(key).digest() : key;
  const ipad = new Uint8Array(64);
  const opad = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    const kb = i < k.length ? k[i] : 0;
    ipad[i] = kb ^ 0x36;
    opad[i] = kb ^ 0x5c;
  }
  p = new Int32Array(16);
  const s = new Int32Array(IV);
  compress(s, ipad, 0);
  p.set(s, 0);
  s.set(IV);
  compress(s, opad, 0);
  p.set(s, 8);
  pads.set(key, p);
  return p;
}

const INNER = new Uint8Array(32);

/** Computes the full HMAC-SHA256 of data[start…end) into S (the key's pad states are cached: keep passing the same key array). */
function hmacIntoState(key: Uint8Array, data: Uint8Array, start: number, end: number): void {
  const p = padStates(key);
  for (let i = 0; i < 8; i++) S[i] = p[i];
  finish(S, data, start, end, 64);
  for (let i = 0; i < 8; i++) {
    const w = S[i];
    INNER[i * 4] = w >>> 24;
    INNER[i * 4 + 1] = (w >>> 16) & 0xff;
    INNER[i * 4 + 2] = (w >>> 8) & 0xff;
    INNER[i * 4 + 3] = w & 0xff;
  }
  for (let i = 0; i < 8; i++) S[i] = p[8 + i];
  finish(S, INNER, 0, 32, 64);
}

/** Writes the MAC_LEN-byte frame MAC of data[start…end) (default: all of it) under `key` into out[at…]. */
export function macInto(key: Uint8Array, data: Uint8Array, out: Uint8Array, at: number, start = 0, end = data.length): void {
  hmacIntoState(key, data, start, end);
  for (let i = 0; i < MAC_LEN; i++) out[at + i] = (S[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}

/** True when `mac` is the frame MAC of `data` under `key`; compares every byte (no early exit). */
export function macEquals(key: Uint8Array, data: Uint8Array, mac: Uint8Array): boolean {
  if (mac.length !== MAC_LEN) return false;
  return macAt(key, data, 0, data.length, mac, 0);
}

/** True when mac[macAt…macAt+MAC_LEN) is the frame MAC of data[start…end) under `key` (every byte compared). */
export function macAt(key: Uint8Array, data: Uint8Array, start: number, end: number, mac: Uint8Array, at: number): boolean {
  if (at + MAC_LEN > mac.length) return false;
  hmacIntoState(key, data, start, end);
  let diff = 0;
  for (let i = 0; i < MAC_LEN; i++) diff |= ((S[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff) ^ mac[at + i];
  return diff === 0;
}

/** The full 32-byte HMAC-SHA256 (for tests against node:crypto). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  hmacIntoState(key, data, 0, data.length);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (S[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
  return out;
}
