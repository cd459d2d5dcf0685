// Node-side codec for varde.proto, built on protobufjs (the gateway, tools and tests use it).
// It follows the SAME plain-object conventions as the firmware codec (protocol/pb.ts, gen/object-codec.ts), and the
// golden vectors (protocol/vectors/vectors.json) hold both codecs to the same bytes:
//  * names are protobufjs camelCase (`alarmSeq`, `timeSync`); enums are numbers; bytes are Uint8Array.
//  * encode: null/undefined = absent; singular scalars at their default (0, false, "", empty) are
//    omitted; messages are written when present, even empty; ascending field numbers (canonical).
//    32-bit values out of range throw (the firmware codec throws too) instead of being wrapped.
//  * decode: every singular scalar outside a oneof is present (default when not on the wire);
//    repeated fields are arrays (maybe empty); singular messages and oneof members appear only when
//    they were on the wire (for a oneof the last member on the wire wins).
//  * 64-bit fields (backend messages only) decode to a number when |v| <= 2^53-1, else a decimal
//    string; encode accepts number, decimal string, bigint or Long. Map fields decode to plain objects.
import protobuf from "protobufjs";
import Long from "long";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { encodeFrame } from "./framing.ts";
import { seal, open } from "./mac.ts";

protobuf.util.Long = Long;
protobuf.configure();

export const PROTO_PATH = join(dirname(fileURLToPath(import.meta.url)), "varde.proto");
export const PACKAGE = "varde.v1";

/** protobufjs root of varde.proto (camelCase field names), fully resolved. */
export const root: protobuf.Root = protobuf.loadSync(PROTO_PATH);
root.resolveAll();

/** The all-zero key: the gateway seals Hello with it (it may not know the device yet). */
export const ZERO_KEY = new Uint8Array(32);

/** Looks up a message type by short ("Envelope") or full ("varde.v1.Envelope") name. */
export function lookupType(typeName: string): protobuf.Type {
  return lookupIn(root, PACKAGE, typeName);
}

/** An enum of varde.proto by short name, as {NAME: number}: the one source of enum numbers in Node code. */
export function enumValues(enumName: string): Readonly<Record<string, number>> {
  try {
    return root.lookupEnum(PACKAGE + "." + enumName).values;
  } catch {
    throw new Error(`protocol/varde.proto has no enum ${enumName}`);
  }
}

/** The name of an enum value ("FAULT_MOTOR_JAM"), or the number as text when the schema has none. */
export function enumName(enumName: string, value: number): string {
  const e = root.lookupEnum(PACKAGE + "." + enumName);
  return e.valuesById[value] ?? String(value);
}

function lookupIn(r: protobuf.Root, pkg: string, typeName: string): protobuf.Type {
  const full = typeName.includes(".") ? typeName : pkg + "." + typeName;
  try {
    return r.lookupType(full);
  } catch {
    throw new Error(`protocol/varde.proto has no message ${typeName} (looked for ${full})`);
  }
}

/** The same codec over another protobufjs root (tests use it on schemas with every field kind). */
export function schemaCodec(r: protobuf.Root, pkg: string) {
  r.resolveAll();
  return {
    encodeCanonical: (typeName: string, obj: any): Uint8Array => encodeType(lookupIn(r, pkg, typeName), obj),
    decodeMessage: (typeName: string, bytes: Uint8Array): any => decodeType(lookupIn(r, pkg, typeName), bytes),
  };
}

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const RANGE: { [t: string]: [number, number] } = {
  uint32: [0, 4294967295], fixed32: [0, 4294967295],
  int32: [-2147483648, 2147483647], sint32: [-2147483648, 2147483647], sfixed32: [-2147483648, 2147483647],
};

function toLong(v: unknown, unsigned: boolean, where: string): Long {
  if (Long.isLong(v)) return v as Long;
  if (typeof v === "bigint" || typeof v === "string") return Long.fromString(String(v), unsigned);
  if (typeof v === "number" && Number.isSafeInteger(v)) return Long.fromNumber(v, unsigned);
  throw new Error(`${where}: 64-bit integer expected (number, string, bigint or Long), got ${String(v)}`);
}

// plain object -> protobufjs-ready object (range checks, 64-bit conversion, enum numbers)
function toWireValue(f: protobuf.Field, v: any, where: string): any {
  if (f.resolvedType instanceof protobuf.Type) {
    if (typeof v !== "object") throw new Error(`${where}: object expected, got ${typeof v}`);
    return toWire(f.resolvedType, v, where);
  }
  if (f.resolvedType instanceof protobuf.Enum) {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`${where}: enum number expected, got ${String(v)}`);
    return v;
  }
  if (LONG_TYPES.has(f.type)) return toLong(v, f.type === "uint64" || f.type === "fixed64", where);
  const r = RANGE[f.type];
  if (r && (!Number.isInteger(v) || v < r[0] || v > r[1])) throw new Error(`${where}: ${f.type} expected, got ${String(v)}`);
  if (f.type === "string" && typeof v !== "string") throw new Error(`${where}: string expected, got ${typeof v}`);
  if (f.type === "bytes" && !(v instanceof Uint8Array)) throw new Error(`${where}: Uint8Array expected`);
  if ((f.type === "float" || f.type === "double") && typeof v !== "number") throw new Error(`${where}: number expected`);
  if (f.type === "bool") return !!v;
  return v;
}

function toWire(type: protobuf.Type, obj: any, where: string): any {
  const out: any = {};
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    const w = where + "." + f.name;
    if (f.map) {
      const m: any = {};
      for (const k of Object.keys(v)) m[k] = toWireValue(f, v[k], w + "[" + k + "]");
      out[f.name] = m;
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new Error(`${w}: array expected`);
      out[f.name] = v.map((x: any, i: number) => toWireValue(f, x, w + "[" + i + "]"));
    } else out[f.name] = toWireValue(f, v, w);
  }
  return out;
}

/** Canonical protobuf bytes of `typeName` (short or full name) from a plain object. */
export function encodeCanonical(typeName: string, obj: any): Uint8Array {
  return encodeType(lookupType(typeName), obj);
}

function encodeType(type: protobuf.Type, obj: any): Uint8Array {
  if (obj === null || typeof obj !== "object") throw new Error(`${type.name}: object expected`);
  const w = toWire(type, obj, type.name);
  const bytes = type.encode(w).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length).slice();
}

// protobufjs message -> plain object with the conventions above
function fromWireValue(f: protobuf.Field, v: any): any {
  if (f.resolvedType instanceof protobuf.Type) return fromWire(f.resolvedType, v);
  if (LONG_TYPES.has(f.type)) {
    const l = typeof v === "number" ? Long.fromNumber(v) : Long.fromValue(v);
    const s = l.toString();
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (f.type === "bytes") return new Uint8Array(v);
  return v;
}

function fromWire(type: protobuf.Type, msg: any): any {
  const out: any = {};
  for (const f of type.fieldsArray) {
    const own = Object.prototype.hasOwnProperty.call(msg, f.name) && msg[f.name] != null;
    if (f.map) {
      const m: any = {};
      if (own) for (const k of Object.keys(msg[f.name])) m[k] = fromWireValue(f, msg[f.name][k]);
      out[f.name] = m;
    } else if (f.repeated) {
      out[f.name] = own ? msg[f.name].map((x: any) => fromWireValue(f, x)) : [];
    } else if (f.partOf || f.resolvedType instanceof protobuf.Type) {
      if (own) out[f.name] = fromWireValue(f, msg[f.name]);
    } else {
      out[f.name] = fromWireValue(f, own ? msg[f.name] : defaultOf(f));
    }
  }
  return out;
}

function defaultOf(f: protobuf.Field): any {
  if (f.resolvedType instanceof protobuf.Enum) return 0;
  if (f.type === "string") return "";
  if (f.type === "bool") return false;
  if (f.type === "bytes") return new Uint8Array(0);
  return 0;
}

// Which member of each oneof came LAST on the wire, per message instance (protobufjs keeps them all).
// Only consulted when a decoded message has two members of one oneof set, i.e. non-canonical input.
function lastOneofMember(type: protobuf.Type, bytes: Uint8Array, oneof: protobuf.OneOf): string | undefined {
  const r = protobuf.Reader.create(bytes);
  let last: string | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const f = type.fieldsById[tag >>> 3];
    if (f && f.partOf === oneof) last = f.name;
    r.skipType(tag & 7);
  }
  return last;
}

// Re-reads nested messages so oneof conflicts anywhere in the tree resolve to the last member.
function resolveOneofs(type: protobuf.Type, bytes: Uint8Array, plain: any): void {
  for (const o of type.oneofsArray) {
    const set = o.fieldsArray.filter((f) => plain[f.name] !== undefined);
    if (set.length > 1) {
      const keep = lastOneofMember(type, bytes, o);
      for (const f of set) if (f.name !== keep) delete plain[f.name];
    }
  }
  // nested singular messages: their bytes are the concatenation of every occurrence (protobuf merge)
  const r = protobuf.Reader.create(bytes);
  const chunks = new Map<protobuf.Field, Uint8Array[]>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const f = type.fieldsById[tag >>> 3];
    if (f && !f.map && (tag & 7) === 2 && f.resolvedType instanceof protobuf.Type) {
      const sub = r.bytes();
      if (!chunks.has(f)) chunks.set(f, []);
      chunks.get(f)!.push(sub);
    } else r.skipType(tag & 7);
  }
  for (const [f, list] of chunks) {
    const sub = f.resolvedType as protobuf.Type;
    if (f.repeated) list.forEach((b, i) => plain[f.name][i] && resolveOneofs(sub, b, plain[f.name][i]));
    else if (plain[f.name] !== undefined) resolveOneofs(sub, new Uint8Array(Buffer.concat(list)), plain[f.name]);
  }
}

/** Decodes `typeName` into a plain object (conventions above). Throws an Error on malformed bytes. */
export function decodeMessage(typeName: string, bytes: Uint8Array): any {
  return decodeType(lookupType(typeName), bytes);
}

function decodeType(type: protobuf.Type, bytes: Uint8Array): any {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (e) {
    throw new Error(`${type.name}: malformed protobuf (${(e as Error).message})`);
  }
  const plain = fromWire(type, msg);
  if (hasOneofs(type)) resolveOneofs(type, bytes, plain);
  return plain;
}

const oneofCache = new Map<protobuf.Type, boolean>();
function hasOneofs(type: protobuf.Type, seen: Set<protobuf.Type> = new Set()): boolean {
  const c = oneofCache.get(type);
  if (c !== undefined) return c;
  if (seen.has(type)) return false;
  seen.add(type);
  let r = type.oneofsArray.length > 0;
  for (const f of type.fieldsArray) if (!r && f.resolvedType instanceof protobuf.Type) r = hasOneofs(f.resolvedType, seen);
  oneofCache.set(type, r);
  return r;
}

/** SHA-256 for mac.ts on Node. */
export function nodeSha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** A complete frame (marker, length, Envelope + MAC, CRC) for `env`, authenticated with `key`. */
export function sealFrame(key: Uint8Array, env: any): Uint8Array {
  return encodeFrame(seal(nodeSha256, key, encodeCanonical("Envelope", env)));
}

/**
 * Checks the MAC of a frame body (from FrameParser) with `key` and decodes the Envelope.
 * Returns null when the MAC is wrong (wrong key, tampering); throws when the MAC is right but the
 * payload is not a valid Envelope (a peer bug, not line noise).
 */
export function openFrame(key: Uint8Array, body: Uint8Array): any | null {
  const payload = open(nodeSha256, key, body);
  if (payload === null) return null;
  return decodeMessage("Envelope", payload);
}
