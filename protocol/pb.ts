// Protobuf (proto3) primitives for the firmware (Espruino subset: runs on the device, in the simulator
// and in Node). Lean by design (docs/firmware-memory.md): no descriptor tables or message objects in
// RAM. The app writes and reads fields by KEY, a constant generated from varde.proto into
// protocol/gen/fields.ts, which esbuild inlines into the code in flash:
//
//   key = field number * 8 + wire type (+ ZZ when the field is sint32: zigzag)
//   wire types used on the device link: 0 varint (uint32, int32/enum >= 0, bool), 5 fixed32, 2 length
//   delimited (string, bytes, message). The generator refuses anything else on the device link.
//
// Writer: pbOut(buf, pos) starts writing into buf; pv(key, v) writes one scalar or string field and
// omits it at its default (0, false, ""), so output is canonical and matches protobufjs; pbBeg(key) /
// pbEnd() wrap a nested message (always written, even empty: a oneof member has explicit presence);
// pbPos() is the position after the last byte. Writing past the buffer throws (frames have a hard cap).
// Reader: pr(buf, s, e, key, n) finds field key in buf[s, e): a scalar's value (0 when absent) or, for
// a length-delimited field, its start offset with its end in prEnd (-1 when absent). n picks the n-th
// occurrence (repeated fields); without n the last occurrence wins (proto3 rule for singular fields).
// Unknown fields are skipped. Malformed input throws an Error; work is bounded by the input length.
//
// Strings are BYTE strings on the device: Espruino boards have 8-bit strings, so text is carried as its
// UTF-8 bytes, one char per byte, and never re-encoded (a board cannot hold a char above 0xFF anyway).
// Node callers convert with Buffer.from(s, "latin1") / .toString("latin1").

/** Added to a key when the field is sint32 (zigzag). Field numbers stay below 128 on the device link. */
export const ZZ = 1024;
const TWO32 = 4294967296;

let ob: Uint8Array = new Uint8Array(0);
let op = 0;
/** start offsets of the nested messages being written */
let nest: number[] = [];

/** Starts writing into buf at pos. */
export function pbOut(buf: Uint8Array, pos: number): void {
  ob = buf;
  op = pos;
  nest = [];
}

/** Position after the last byte written. */
export function pbPos(): number {
  return op;
}

function put(b: number): void {
  if (op >= ob.length) throw new Error("pb: message too long");
  ob[op++] = b;
}

function putVarint(v: number): void {
  while (v >= 128) {
    put((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  put(v);
}

/** Writes field `key` = v; omitted at the default (0, false, "", undefined). */
export function pv(key: number, v: any): void {
  if (!v) return;
  const wt = key & 7;
  putVarint(key & 1023);
  if (wt === 2) {
    // a byte string: one byte per char (see the top of this file)
    putVarint(v.length);
    for (let i = 0; i < v.length; i++) put(v.charCodeAt(i) & 255);
    return;
  }
  if (v === true) v = 1;
  if (key & ZZ) v = v < 0 ? -2 * v - 1 : 2 * v;
  else if (v < 0) {
    v += TWO32;
    if (wt === 0) {
      // a negative int32/enum is sign-extended to 64 bits: 10 bytes, as protobufjs writes it
      for (let k = 0; k < 4; k++) {
        put((v % 128) + 128);
        v = Math.floor(v / 128);
      }
      put(v + 0xf0); // bits 28..31, then the sign bits 32..34, continued
      for (let k = 0; k < 4; k++) put(0xff);
      put(1);
      return;
    }
  }
  if (wt === 5) {
    for (let k = 0; k < 4; k++) {
      put(v % 256);
      v = Math.floor(v / 256);
    }
  } else putVarint(v);
}

/** Opens nested message field `key`; close with pbEnd(). */
export function pbBeg(key: number): void {
  putVarint(key & 1023);
  put(0); // one length byte reserved; pbEnd widens it when the body is 128 bytes or more
  nest.push(op);
}

export function pbEnd(): void {
  const s = nest.pop() as number;
  const n = op - s;
  if (n < 128) {
    ob[s - 1] = n;
    return;
  }
  // two length bytes (a frame body is < 256 bytes): shift the body right by one
  put(0);
  for (let i = op - 1; i > s; i--) ob[i] = ob[i - 1];
  ob[s - 1] = (n % 128) + 128;
  ob[s] = Math.floor(n / 128);
}

/** End offset of the length-delimited field pr() returned last. */
export let prEnd = 0;
/** The field pbField() read last: number, wire type, value (varint or fixed32 value, or the start of a
 *  length-delimited field) and the end of a length-delimited field. */
export let fNum = 0;
export let fWt = 0;
export let fVal = 0;
export let fEnd = 0;
/** Position after the varint read by getVarint. */
let rp = 0;

function getVarint(buf: Uint8Array, p: number, e: number): number {
  let v = 0;
  let m = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= e) throw new Error("pb: truncated varint");
    const b = buf[p++];
    if (i < 5) v += (b & 127) * m; // bits above 32 are dropped (uint32 / int32 semantics)
    m *= 128;
    if (b < 128) {
      rp = p;
      return v % TWO32;
    }
  }
  throw new Error("pb: varint longer than 10 bytes");
}

/** Reads the field that starts at p (< e) into fNum/fWt/fVal/fEnd; returns the position after it. */
export function pbField(buf: Uint8Array, p: number, e: number): number {
  const tag = getVarint(buf, p, e);
  p = rp;
  fWt = tag & 7;
  fNum = Math.floor(tag / 8);
  if (fNum === 0) throw new Error("pb: field number 0");
  if (fWt === 0) {
    fVal = getVarint(buf, p, e);
    return rp;
  }
  if (fWt === 5 || fWt === 1) {
    const end = p + (fWt === 5 ? 4 : 8);
    if (end > e) throw new Error("pb: truncated fixed field");
    fVal = buf[p] + buf[p + 1] * 256 + buf[p + 2] * 65536 + buf[p + 3] * 16777216;
    return end;
  }
  if (fWt === 2) {
    const len = getVarint(buf, p, e);
    p = rp;
    if (len > e - p) throw new Error("pb: length beyond the message");
    fVal = p;
    fEnd = p + len;
    return fEnd;
  }
  throw new Error("pb: wire type " + fWt);
}

/** A sint32 value from its zigzag encoding. */
export function unzz(v: number): number {
  return v % 2 ? -(v + 1) / 2 : v / 2;
}

/**
 * Field `key` in buf[s, e): scalar value (0 when absent) or, for a length-delimited field, its start
 * (end in prEnd; -1 when absent). n: the n-th occurrence (0 = first); default the last.
 */
export function pr(buf: Uint8Array, s: number, e: number, key: number, n?: number): number {
  const want = (key & 1023) >> 3;
  const wt = key & 7;
  let found = wt === 2 ? -1 : 0;
  let seen = 0;
  let p = s;
  while (p < e) {
    p = pbField(buf, p, e);
    if (fNum !== want) continue;
    if (fWt !== wt) throw new Error("pb: field " + fNum + " has wire type " + fWt + ", expected " + wt);
    if (n === undefined || seen === n) {
      found = fVal;
      if (wt === 2) prEnd = fEnd;
      if (n !== undefined) break;
    }
    seen++;
  }
  if (found === -1) return -1;
  return key & ZZ ? unzz(found) : found;
}

/** The bytes buf[s, e) as a byte string (one char per byte). */
export function pbStr(buf: Uint8Array, s: number, e: number): string {
  let t = "";
  for (let i = s; i < e; i++) t += String.fromCharCode(buf[i]);
  return t;
}
