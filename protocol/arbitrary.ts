// fast-check arbitraries built from protobufjs reflection (Node, tests only): any message of a schema as a
// plain object in the codec conventions (see schema.ts), with edge values weighted in. Also
// `normalize`, an independent statement of what decoding must return for such an object.
import fc from "fast-check";
import protobuf from "protobufjs";

const U32_EDGES = [0, 1, 127, 128, 16383, 16384, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const I32_EDGES = [0, 1, -1, 63, -64, 64, -65, 0x7fffffff, -0x80000000];

const u32 = fc.oneof(
  fc.constantFrom(...U32_EDGES),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([h, l]) => h * 65536 + l),
  fc.integer({ min: 0, max: 300 }),
);
const i32 = fc.oneof(fc.constantFrom(...I32_EDGES), fc.integer(), fc.integer({ min: -300, max: 300 }));

function scalar(f: protobuf.Field): fc.Arbitrary<any> {
  if (f.resolvedType instanceof protobuf.Enum) {
    const vals = Object.values(f.resolvedType.values);
    return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...vals) }, { weight: 1, arbitrary: i32 });
  }
  switch (f.type) {
    case "uint32":
    case "fixed32":
      return u32;
    case "int32":
    case "sint32":
    case "sfixed32":
      return i32;
    case "bool":
      return fc.boolean();
    case "string":
      return fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.string({ maxLength: 12 }));
    case "bytes":
      return fc.uint8Array({ maxLength: 12 });
    case "float":
      return fc.float();
    case "double":
      return fc.double();
  }
  throw new Error(`arbitrary: unsupported field type ${f.type} (${f.fullName})`);
}

function value(f: protobuf.Field, depth: number, maxDepth: number): fc.Arbitrary<any> {
  if (f.resolvedType instanceof protobuf.Type) return arbitraryMessage(f.resolvedType, depth + 1, maxDepth);
  return scalar(f);
}

/** Arbitrary plain object of message `type`: every field optional, at most one member per oneof. */
export function arbitraryMessage(type: protobuf.Type, depth = 0, maxDepth = 3): fc.Arbitrary<any> {
  type.resolveAll();
  const plain: { [k: string]: fc.Arbitrary<any> } = {};
  for (const f of type.fieldsArray) {
    if (f.partOf) continue;
    const isMsg = f.resolvedType instanceof protobuf.Type;
    if (isMsg && depth >= maxDepth) continue; // bound recursive schemas
    plain[f.name] = f.repeated ? fc.array(value(f, depth, maxDepth), { maxLength: isMsg ? 3 : 6 }) : value(f, depth, maxDepth);
  }
  const oneofs = type.oneofsArray.map((o) => {
    const members = o.fieldsArray.filter((f) => !(f.resolvedType instanceof protobuf.Type && depth >= maxDepth));
    if (members.length === 0) return fc.constant({});
    return fc.option(fc.oneof(...members.map((f) => value(f, depth, maxDepth).map((v) => ({ [f.name]: v })))), { nil: {} });
  });
  return fc
    .tuple(fc.record(plain, { requiredKeys: [] }), ...oneofs)
    .map(([base, ...picks]) => Object.assign({}, base, ...picks));
}

/** What a decoder must return for `obj` after a round trip (conventions in schema.ts / wire.ts). */
export function normalize(type: protobuf.Type, obj: any): any {
  const out: any = {};
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    const msg = f.resolvedType instanceof protobuf.Type ? (f.resolvedType as protobuf.Type) : null;
    const one = (x: any) => (msg ? normalize(msg, x) : f.type === "float" ? Math.fround(x) : f.type === "bool" ? !!x : x);
    if (f.repeated) out[f.name] = v == null ? [] : v.map(one);
    else if (msg || f.partOf) {
      if (v != null) out[f.name] = one(v);
    } else if (v != null) out[f.name] = one(v);
    else out[f.name] = f.resolvedType instanceof protobuf.Enum ? 0 : f.type === "string" ? "" : f.type === "bool" ? false : f.type === "bytes" ? new Uint8Array(0) : 0;
  }
  return out;
}
