// Generic table-driven protobuf (proto3) encoder/decoder for the firmware. Espruino subset only
// (see docs/architecture.md): no TextEncoder, no 64-bit integers, no sign-sensitive bit ops on uint32.
// The per-message descriptor table is generated into codec.ts by generate.ts from varde.proto.
//
// Table format (kept as one string per message so it costs few JsVars and can live in flash):
//   spec = "|" entry ( "|" entry )*      entries sorted by ascending field number
//   entry = num "," name "," kind [ "," ref [ "," mod ] ]   (trailing empty ref/mod left out)
//   kind: u uint32, i int32, e enum (int32 on the wire), s sint32 (zigzag), b bool, f fixed32,
//         x sfixed32, t string, y bytes, m message (ref = message name)
//   (no 64-bit integers, no float/double: the generator refuses them on the device link, keeping this
//   file small for the firmware bundle budget)
//   mod:  "" singular, "p" repeated packed, "r" repeated unpacked, "o<name>" member of oneof <name>
//         (explicit presence: written whenever not null/undefined, even at its default)
//
// Strings: encoded from JS string code units (surrogate pairs -> 4-byte UTF-8). On an Espruino build
// without Unicode strings a non-ASCII literal is already bytes and would be encoded twice, so device-side
// strings (firmware version, board id, errors) are ASCII; decoded non-ASCII text is only displayed.
//
// Conventions (shared with protocol/schema.ts; the golden vectors hold both to them):
//  * encode: null/undefined = absent. Singular scalars at their default (0, false, "", empty bytes)
//    are omitted; messages are written when present (even if empty); empty repeated omitted.
//    Fields are written in ascending number order, so output is canonical and matches protobufjs.
//  * decode: every singular scalar outside a oneof is present, at its default when not on the wire;
//    repeated fields are always arrays; singular messages and oneof members appear only when on the
//    wire (the last oneof member on the wire wins). Enums are numbers, bytes are Uint8Array.
//    Unknown fields are skipped. Malformed input (including invalid UTF-8 in a string) throws an Error;
//    work is bounded by the input length.

export type Table = { [type: string]: string };

const TWO32 = 4294967296;
const MAX_DEPTH = 16;

// [num, name, kind, ref, mod], ref and mod "" when left out
function entry(spec: string, i: number): string[] {
  const j = spec.indexOf("|", i + 1);
  const e = spec.substring(i + 1, j < 0 ? spec.length : j).split(",");
  while (e.length < 5) e.push("");
  return e;
}

function fail(msg: string): never {
  throw new Error("protobuf: " + msg);
}

// ---------------------------------------------------------------- encoding
// put*(buf, pos, ...) write at pos when buf is non-null and return the new position; with buf null
// they only measure, so one code path computes sizes (pass 1) and writes (pass 2).

function putVarint(buf: Uint8Array | null, pos: number, v: number): number {
  while (v >= 128) {
    if (buf) buf[pos] = (v % 128) + 128;
    pos++;
    v = Math.floor(v / 128);
  }
  if (buf) buf[pos] = v;
  return pos + 1;
}

function putFixed(buf: Uint8Array | null, pos: number, v: number): number {
  for (let k = 0; k < 4; k++) {
    if (buf) buf[pos + k] = v % 256;
    v = Math.floor(v / 256);
  }
  return pos + 4;
}

// UTF-8 from UTF-16 code units; a lone surrogate becomes U+FFFD (as protobufjs and TextEncoder do).
function putUtf8(buf: Uint8Array | null, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + (c - 0xd800) * 1024 + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x80) {
      if (buf) buf[pos] = c;
      pos += 1;
    } else if (c < 0x800) {
      if (buf) {
        buf[pos] = 0xc0 | (c >> 6);
        buf[pos + 1] = 0x80 | (c & 63);
      }
      pos += 2;
    } else if (c < 0x10000) {
      if (buf) {
        buf[pos] = 0xe0 | (c >> 12);
        buf[pos + 1] = 0x80 | ((c >> 6) & 63);
        buf[pos + 2] = 0x80 | (c & 63);
      }
      pos += 3;
    } else {
      if (buf) {
        buf[pos] = 0xf0 | (c >> 18);
        buf[pos + 1] = 0x80 | ((c >> 12) & 63);
        buf[pos + 2] = 0x80 | ((c >> 6) & 63);
        buf[pos + 3] = 0x80 | (c & 63);
      }
      pos += 4;
    }
  }
  return pos;
}

function isInt(v: any, lo: number, hi: number): boolean {
  return typeof v === "number" && Math.floor(v) === v && v >= lo && v <= hi;
}

function wireType(kind: string): number {
  if (kind === "f" || kind === "x") return 5;
  if (kind === "t" || kind === "y" || kind === "m") return 2;
  return 0;
}

function isDefault(kind: string, v: any): boolean {
  if (kind === "t") return v === "";
  if (kind === "y") return v.length === 0;
  if (kind === "b") return !v;
  return v === 0;
}

// One value of a scalar or message kind (without tag).
function putValue(t: Table, kind: string, ref: string, v: any, buf: Uint8Array | null, pos: number, where: string, depth: number): number {
  if (kind === "u") {
    if (!isInt(v, 0, TWO32 - 1)) fail(where + ": uint32 expected, got " + v);
    return putVarint(buf, pos, v);
  }
  if (kind === "i" || kind === "e") {
    if (!isInt(v, -2147483648, 2147483647)) fail(where + ": int32 expected, got " + v);
    if (v >= 0) return putVarint(buf, pos, v);
    // negative int32 is sign-extended to 64 bits: 10 bytes = the low 32 bits, then all ones
    let u = v + TWO32;
    for (let k = 0; k < 4; k++) {
      if (buf) buf[pos + k] = (u % 128) + 128;
      u = Math.floor(u / 128);
    }
    if (buf) {
      buf[pos + 4] = u + 0xf0; // bits 28..31, bits 32..34 set, continuation
      buf[pos + 5] = buf[pos + 6] = buf[pos + 7] = buf[pos + 8] = 0xff;
      buf[pos + 9] = 0x01;
    }
    return pos + 10;
  }
  if (kind === "s") {
    if (!isInt(v, -2147483648, 2147483647)) fail(where + ": sint32 expected, got " + v);
    return putVarint(buf, pos, v >= 0 ? v * 2 : -v * 2 - 1);
  }
  if (kind === "b") return putVarint(buf, pos, v ? 1 : 0);
  if (kind === "f" || kind === "x") {
    if (kind === "f" ? !isInt(v, 0, TWO32 - 1) : !isInt(v, -2147483648, 2147483647)) fail(where + ": 32-bit integer expected, got " + v);
    return putFixed(buf, pos, v < 0 ? v + TWO32 : v);
  }
  if (kind === "t") {
    if (typeof v !== "string") fail(where + ": string expected, got " + typeof v);
    pos = putVarint(buf, pos, putUtf8(null, 0, v));
    return putUtf8(buf, pos, v);
  }
  if (kind === "y") {
    if (!(v instanceof Uint8Array)) fail(where + ": Uint8Array expected");
    pos = putVarint(buf, pos, v.length);
    if (buf) buf.set(v, pos);
    return pos + v.length;
  }
  // message
  if (typeof v !== "object") fail(where + ": object expected, got " + typeof v);
  pos = putVarint(buf, pos, putMessage(t, ref, v, null, 0, depth + 1));
  return putMessage(t, ref, v, buf, pos, depth + 1);
}

function checkDepth(type: string, depth: number): void {
  if (depth > MAX_DEPTH) fail(type + ": nesting deeper than " + MAX_DEPTH);
}

function putMessage(t: Table, type: string, obj: any, buf: Uint8Array | null, pos: number, depth: number): number {
  checkDepth(type, depth);
  const spec = t[type];
  if (spec === undefined) fail("unknown message type " + type);
  let i = 0;
  while (i >= 0 && i < spec.length) {
    // read the name first: absent fields cost no allocation (this runs on Espruino)
    const c = spec.indexOf(",", i);
    const v = obj[spec.substring(c + 1, spec.indexOf(",", c + 1))];
    if (v === undefined || v === null) {
      i = spec.indexOf("|", i + 1);
      continue;
    }
    const e = entry(spec, i);
    i = spec.indexOf("|", i + 1);
    const num = +e[0];
    const name = e[1];
    const kind = e[2];
    const mod = e[4];
    const where = type + "." + name;
    const wt = wireType(kind);
    if (mod === "r" || mod === "p") {
      if (!(v instanceof Array)) fail(where + ": array expected");
      if (v.length === 0) continue;
      if (mod === "p") {
        let n = 0;
        for (let k = 0; k < v.length; k++) n = putValue(t, kind, e[3], v[k], null, n, where, depth);
        pos = putVarint(buf, pos, num * 8 + 2);
        pos = putVarint(buf, pos, n);
        for (let k = 0; k < v.length; k++) pos = putValue(t, kind, e[3], v[k], buf, pos, where, depth);
      } else {
        for (let k = 0; k < v.length; k++) {
          pos = putVarint(buf, pos, num * 8 + wt);
          pos = putValue(t, kind, e[3], v[k], buf, pos, where, depth);
        }
      }
      continue;
    }
    if (mod === "" && kind !== "m" && isDefault(kind, v)) continue;
    pos = putVarint(buf, pos, num * 8 + wt);
    pos = putValue(t, kind, e[3], v, buf, pos, where, depth);
  }
  return pos;
}

/** Encodes obj as message `type` of table t (canonical bytes). Throws on values that do not fit their field. */
export function encodeWith(t: Table, type: string, obj: any): Uint8Array {
  if (obj === null || typeof obj !== "object") fail(type + ": object expected, got " + obj);
  const n = putMessage(t, type, obj, null, 0, 0);
  const buf = new Uint8Array(n);
  putMessage(t, type, obj, buf, 0, 0);
  return buf;
}

// ---------------------------------------------------------------- decoding

type Reader = { b: Uint8Array; p: number };

// Reads a varint (at most 10 bytes) and returns its low 32 bits as an unsigned number.
function getVarint(r: Reader, end: number): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (r.p >= end) fail("truncated varint at byte " + r.p);
    const c = r.b[r.p++];
    if (k < 4) v += (c & 127) * mul;
    else if (k === 4) v += (c & 15) * mul;
    mul *= 128;
    if (c < 128) return v;
  }
  return fail("varint longer than 10 bytes at byte " + r.p);
}

// Checks that n more bytes (a fixedN value) are there.
function need(r: Reader, n: number, end: number): void {
  if (r.p + n > end) fail("truncated fixed" + n * 8 + " at byte " + r.p);
}

function getFixed(r: Reader, end: number): number {
  need(r, 4, end);
  const b = r.b;
  const p = r.p;
  r.p += 4;
  return b[p] + b[p + 1] * 256 + b[p + 2] * 65536 + b[p + 3] * 16777216;
}

// Tags and lengths are at most 5 varint bytes and fit 32 (tag) / 31 (length) bits, as protobufjs
// requires: the 5th byte may carry at most `last` (15 for a tag, 7 for a length).
function getShort(r: Reader, end: number, last: number, what: string): number {
  const at = r.p;
  const v = getVarint(r, end);
  if (r.p - at > 5 || (r.p - at === 5 && r.b[r.p - 1] > last)) fail("invalid " + what + " encoding at byte " + at);
  return v;
}

function getLength(r: Reader, end: number): number {
  const n = getShort(r, end, 7, "length");
  if (n > end - r.p) fail("length " + n + " runs past the end at byte " + r.p);
  return n;
}

// Strict UTF-8 (proto3 strings must be valid UTF-8; protobufjs rejects invalid ones too):
// overlong forms, surrogates, code points above U+10FFFF and truncated sequences throw.
function getUtf8(b: Uint8Array, p: number, end: number): string {
  let s = "";
  while (p < end) {
    const at = p;
    const c = b[p++];
    let cp = c;
    let extra = 0;
    let min = 0;
    if (c >= 0xc2 && c < 0xe0) { cp = c & 31; extra = 1; min = 0x80; }
    else if (c >= 0xe0 && c < 0xf0) { cp = c & 15; extra = 2; min = 0x800; }
    else if (c >= 0xf0 && c < 0xf5) { cp = c & 7; extra = 3; min = 0x10000; }
    else if (c >= 0x80) fail("invalid UTF-8 at byte " + at);
    for (let k = 0; k < extra; k++) {
      if (p >= end || (b[p] & 0xc0) !== 0x80) fail("invalid UTF-8 at byte " + at);
      cp = cp * 64 + (b[p++] & 63);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail("invalid UTF-8 at byte " + at);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      s += String.fromCharCode(0xd800 + Math.floor(cp / 1024));
      s += String.fromCharCode(0xdc00 + (cp % 1024));
    } else s += String.fromCharCode(cp);
  }
  return s;
}

function skip(r: Reader, wt: number, end: number): void {
  if (wt === 0) getVarint(r, end);
  else if (wt === 1) {
    need(r, 8, end);
    r.p += 8;
  } else if (wt === 2) {
    const n = getLength(r, end); // not `r.p += getLength(..)`: that reads r.p before the length is consumed
    r.p += n;
  } else if (wt === 5) {
    need(r, 4, end);
    r.p += 4;
  } else fail("unsupported wire type " + wt + " at byte " + r.p); // groups (3, 4) are not used
}

function getScalar(r: Reader, kind: string, end: number): any {
  if (kind === "f") return getFixed(r, end);
  if (kind === "x") {
    const v = getFixed(r, end);
    return v >= 2147483648 ? v - TWO32 : v;
  }
  const v = getVarint(r, end);
  if (kind === "u") return v;
  if (kind === "b") return v !== 0;
  if (kind === "s") return v % 2 ? -(v + 1) / 2 : v / 2;
  return v >= 2147483648 ? v - TWO32 : v; // i, e
}

function defaultOf(kind: string): any {
  if (kind === "t") return "";
  if (kind === "y") return new Uint8Array(0);
  if (kind === "b") return false;
  return 0;
}

function getMessage(t: Table, type: string, r: Reader, end: number, obj: any, depth: number): any {
  checkDepth(type, depth);
  const spec = t[type];
  if (obj === null) {
    obj = {};
    // defaults, read in place (no per-entry arrays): |num,name,kind[,ref[,mod]]
    let i = 0;
    while (i >= 0 && i < spec.length) {
      const next = spec.indexOf("|", i + 1);
      const stop = next < 0 ? spec.length : next;
      const c1 = spec.indexOf(",", i);
      const c2 = spec.indexOf(",", c1 + 1);
      const c3 = spec.indexOf(",", c2 + 1);
      const c4 = c3 < 0 || c3 > stop ? -1 : spec.indexOf(",", c3 + 1);
      const mod = c4 < 0 || c4 > stop ? "" : spec.charAt(c4 + 1); // "|" or "" when the entry has no mod
      const name = spec.substring(c1 + 1, c2);
      const kind = spec.charAt(c2 + 1);
      if (mod === "r" || mod === "p") obj[name] = [];
      else if (mod !== "o" && kind !== "m") obj[name] = defaultOf(kind);
      i = next;
    }
  }
  while (r.p < end) {
    const tag = getShort(r, end, 15, "tag");
    const num = Math.floor(tag / 8);
    const wt = tag % 8;
    if (num === 0) fail("field number 0 at byte " + r.p);
    const at = spec.indexOf("|" + num + ",");
    if (at < 0) {
      skip(r, wt, end);
      continue;
    }
    const e = entry(spec, at);
    const name = e[1];
    const kind = e[2];
    const mod = e[4];
    const want = wireType(kind);
    if (mod === "r" || mod === "p") {
      const arr = obj[name];
      if (wt === 2 && want !== 2) {
        // packed run (accepted whatever the schema prefers)
        const len = getLength(r, end);
        const stop = r.p + len;
        while (r.p < stop) arr.push(getScalar(r, kind, stop));
      } else if (wt === want) {
        arr.push(kind === "m" ? getNested(t, e[3], r, end, null, depth) : getOne(r, kind, end));
      } else skip(r, wt, end);
      continue;
    }
    if (wt !== want) {
      skip(r, wt, end);
      continue;
    }
    if (mod.charAt(0) === "o") {
      // a new oneof member replaces any other member of the same oneof
      let i = 0;
      while (i >= 0 && i < spec.length) {
        const o = entry(spec, i);
        i = spec.indexOf("|", i + 1);
        if (o[4] === mod && o[1] !== name) delete obj[o[1]];
      }
    }
    obj[name] = kind === "m" ? getNested(t, e[3], r, end, obj[name] || null, depth) : getOne(r, kind, end);
  }
  return obj;
}

function getOne(r: Reader, kind: string, end: number): any {
  if (kind === "t" || kind === "y") {
    const n = getLength(r, end);
    const p = r.p;
    r.p += n;
    return kind === "t" ? getUtf8(r.b, p, p + n) : r.b.slice(p, p + n);
  }
  return getScalar(r, kind, end);
}

// An embedded message; a second occurrence of a singular message field merges into the first (protobuf rule).
function getNested(t: Table, type: string, r: Reader, end: number, into: any, depth: number): any {
  const n = getLength(r, end);
  const stop = r.p + n;
  const obj = getMessage(t, type, r, stop, into, depth + 1);
  r.p = stop;
  return obj;
}

/** Decodes bytes as message `type` of table t. Throws an Error on malformed input. */
export function decodeWith(t: Table, type: string, bytes: Uint8Array): any {
  if (t[type] === undefined) fail("unknown message type " + type);
  if (!(bytes instanceof Uint8Array)) fail("Uint8Array expected");
  return getMessage(t, type, { b: bytes, p: 0 }, bytes.length, null, 0);
}
