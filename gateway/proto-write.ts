// Protobuf fields written by hand into a buffer sized beforehand, for the two messages the gateway encodes
// once per event: the ack to the device (wire.ts ackFrame) and the BackendEvent (mqtt/event-encode.ts).
// Each writer takes the position and returns the position after what it wrote; each *Len gives the bytes
// a field's value takes after its one-byte tag (every tag these messages use fits one byte).

/** bytes of the varint of a uint32 */
export function uintLen(v: number): number {
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}
/** bytes of an int32's varint (a negative int32 is sign-extended to 64 bits: 10 bytes) */
export function intLen(v: number): number {
  return v < 0 ? 10 : uintLen(v);
}
/** bytes of a string after its tag: length varint and UTF-8 */
export function strLen(s: string): number {
  const n = Buffer.byteLength(s, "utf8");
  return uintLen(n) + n;
}

/** The varint of a uint32. */
export function putUint(b: Uint8Array, p: number, v: number): number {
  v >>>= 0;
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}
export function uintField(b: Uint8Array, p: number, tag: number, v: number): number {
  b[p++] = tag;
  return putUint(b, p, v);
}
export function intField(b: Uint8Array, p: number, tag: number, v: number): number {
  if (v >= 0) return uintField(b, p, tag, v);
  b[p++] = tag;
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
/** a bool field that is true (false ones are left out) */
export function trueField(b: Uint8Array, p: number, tag: number): number {
  b[p++] = tag;
  b[p++] = 1;
  return p;
}
export function fixed32Field(b: Uint8Array, p: number, tag: number, v: number): number {
  b[p++] = tag;
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
  return p + 4;
}
export function strField(b: Buffer, p: number, tag: number, s: string): number {
  p = uintField(b, p, tag, Buffer.byteLength(s, "utf8"));
  return p + b.write(s, p, "utf8");
}
export function bytesField(b: Uint8Array, p: number, tag: number, bytes: Uint8Array): number {
  p = uintField(b, p, tag, bytes.length);
  b.set(bytes, p);
  return p + bytes.length;
}
