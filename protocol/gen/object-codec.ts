// A generic protobuf codec for plain objects over the firmware's primitives (protocol/pb.ts) and the
// generated descriptors (messages.ts). Espruino subset: the golden vectors run through it, pb.ts,
// framing.ts and mac.ts on the real interpreter as well as in Node. Not part of a firmware bundle (the
// apps write and read fields by key, which costs no RAM); used by tests, the simulator's tools and the
// size checks.
//
// Conventions (shared with protocol/schema.ts; the golden vectors hold both to them):
//  * encode: null/undefined = absent; singular scalars at their default omitted; messages written when
//    present (even empty); repeated in order. Fields in ascending number order (canonical, as protobufjs).
//    A number that does not fit its type throws.
//  * decode: every singular scalar outside a oneof is present, at its default when not on the wire;
//    repeated fields are always arrays; messages and oneof members appear only when on the wire (of
//    several members of one oneof, the last on the wire wins). Enums are numbers; strings are byte strings
//    (UTF-8 bytes, one char each: pb.ts); bytes are Uint8Array. Unknown fields are skipped; malformed
//    input throws an Error.
import { pbOut, pbPos, pbBeg, pbEnd, pv, pbField, fNum, fWt, fVal, fEnd, unzz, pbStr } from "../pb.ts";
import { fieldsOf } from "./messages.ts";

const MAX_DEPTH = 16;

function fits(kind: string, v: any, name: string): void {
  if (kind === "b" || kind === "t" || kind === "y") return;
  if (typeof v !== "number" || v !== Math.floor(v)) throw new Error("pb: " + name + " is not an integer: " + v);
  const lo = kind === "u" || kind === "f" ? 0 : -2147483648;
  const hi = kind === "u" || kind === "f" ? 4294967295 : 2147483647;
  if (v < lo || v > hi) throw new Error("pb: " + name + " = " + v + " out of range");
}

function encodeFields(type: string, obj: any, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error("pb: nesting deeper than " + MAX_DEPTH);
  const fields = fieldsOf(type);
  if (!fields) throw new Error("pb: no message " + type);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = obj[f[0]];
    if (v === undefined || v === null) continue;
    const list = f[4] ? v : [v];
    for (let j = 0; j < list.length; j++) {
      const x = list[j];
      if (f[2] === "m") {
        pbBeg(f[1]);
        encodeFields(f[3], x, depth + 1);
        pbEnd();
      } else if (f[2] === "y") {
        pv(f[1], x.length ? bytesToStr(x) : "");
      } else {
        fits(f[2], x, type + "." + f[0]);
        pv(f[1], x);
      }
    }
  }
}

function bytesToStr(b: Uint8Array): string {
  return pbStr(b, 0, b.length);
}

/** Canonical bytes of message `type` (a name in messages.ts), written into buf at pos; returns the end. */
export function encodeInto(type: string, obj: any, buf: Uint8Array, pos: number): number {
  pbOut(buf, pos);
  encodeFields(type, obj, 0);
  return pbPos();
}

/** Canonical bytes of message `type`. Throws on a value that does not fit or a message over 4 KB. */
export function encode(type: string, obj: any): Uint8Array {
  const buf = new Uint8Array(4096);
  return new Uint8Array(buf.subarray(0, encodeInto(type, obj, buf, 0)));
}

function decodeFields(type: string, buf: Uint8Array, s: number, e: number, depth: number): any {
  if (depth > MAX_DEPTH) throw new Error("pb: nesting deeper than " + MAX_DEPTH);
  const fields = fieldsOf(type);
  if (!fields) throw new Error("pb: no message " + type);
  const out: any = {};
  // defaults first: singular scalars outside a oneof at their default, repeated fields empty
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f[4]) out[f[0]] = [];
    else if (f[2] !== "m" && !f[5]) out[f[0]] = f[2] === "t" ? "" : f[2] === "y" ? new Uint8Array(0) : f[2] === "b" ? false : 0;
  }
  // one pass over the wire: the last occurrence of a singular field wins, and of a oneof's members
  let p = s;
  while (p < e) {
    p = pbField(buf, p, e);
    let f: any = null;
    for (let i = 0; i < fields.length; i++) if ((fields[i][1] & 1023) >> 3 === fNum) f = fields[i];
    if (!f) continue; // unknown field: skipped
    if ((f[1] & 7) !== fWt) throw new Error("pb: field " + fNum + " has wire type " + fWt + ", expected " + (f[1] & 7));
    const v = value(f, buf, fVal, fEnd, depth);
    if (f[4]) out[f[0]].push(v);
    else {
      if (f[5]) for (let i = 0; i < fields.length; i++) if (fields[i][5] === f[5]) delete out[fields[i][0]];
      out[f[0]] = v;
    }
  }
  return out;
}

function value(f: any, buf: Uint8Array, v: number, end: number, depth: number): any {
  const k = f[2];
  if (k === "m") return decodeFields(f[3], buf, v, end, depth + 1);
  if (k === "t") return pbStr(buf, v, end);
  if (k === "y") return new Uint8Array(buf.subarray(v, end));
  if (k === "b") return v !== 0;
  if (k === "s") return unzz(v);
  if ((k === "i" || k === "e" || k === "x") && v > 2147483647) return v - 4294967296;
  return v;
}

/** Decodes message `type` from buf[s, e) (see the conventions above). */
export function decodeFrom(type: string, buf: Uint8Array, s: number, e: number): any {
  return decodeFields(type, buf, s, e, 0);
}

/** Decodes message `type`. Throws an Error on malformed bytes. */
export function decode(type: string, bytes: Uint8Array): any {
  return decodeFields(type, bytes, 0, bytes.length, 0);
}

export function encodeEnvelope(env: any): Uint8Array {
  return encode("Envelope", env);
}

export function decodeEnvelope(bytes: Uint8Array): any {
  return decode("Envelope", bytes);
}
