// Property tests: the firmware codec (gen/wire.ts + generated table) and protobufjs (schema.ts) agree on
// arbitrary messages: same canonical bytes, same decoded plain objects, and both equal the conventions.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import protobuf from "protobufjs";
import { encodeEnvelope, decodeEnvelope } from "./gen/codec.ts";
import { encodeWith, decodeWith } from "./gen/wire.ts";
import { reachable } from "./gen/generate.ts";
import { encodeCanonical, decodeMessage, lookupType, schemaCodec } from "./schema.ts";
import { arbitraryMessage, normalize } from "./arbitrary.ts";

const RUNS = Number(process.env.CODEC_RUNS || 300);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// Every field kind the firmware codec supports, including what varde.proto does not use yet.
const ALL_KINDS = `
syntax = "proto3";
package t;
enum Color { RED = 0; GREEN = 1; BLUE = 2; NEG = -5; }
message Inner { uint32 a = 1; repeated Inner kids = 2; string label = 3; }
message All {
  uint32 u = 1; int32 i = 2; sint32 s = 3; bool b = 4; fixed32 f = 5; sfixed32 x = 6; reserved 7, 8; // float/double: not on the device link
  string t = 9; bytes y = 10; Color e = 11; Inner m = 12;
  repeated uint32 ru = 13; repeated sint32 rs = 14 [packed = false]; repeated string rt = 15; repeated Inner rm = 16;
  repeated Color re = 17; repeated bool rb = 18; repeated fixed32 rf = 19; repeated sfixed32 rd = 20; repeated bytes ry = 21;
  oneof pick { uint32 ou = 22; string ot = 23; Inner om = 24; }
  optional uint32 pu = 25;
  uint32 far_away = 300;
}
// fields All does not know, one per wire type: decoders must skip them
message Junk { uint32 v = 100; fixed64 w = 101; string l = 102; fixed32 k = 103; Inner n = 104; repeated sint32 p = 105; }
// same numbers and types, packing flipped: decoders must accept both forms
message Flip {
  repeated uint32 ru = 13 [packed = false]; repeated sint32 rs = 14 [packed = true]; repeated Color re = 17 [packed = false];
  repeated bool rb = 18 [packed = false]; repeated fixed32 rf = 19 [packed = false]; repeated sfixed32 rd = 20 [packed = false];
}
`;
const testRoot = protobuf.parse(ALL_KINDS).root;
const testTable = reachable(testRoot, "t.All").table;
const node = schemaCodec(testRoot, "t");
const All = testRoot.lookupType("t.All");

describe("firmware codec ⇄ protobufjs", () => {
  it("arbitrary Envelopes: same bytes, same decoded objects", () => {
    const Envelope = lookupType("Envelope");
    fc.assert(
      fc.property(arbitraryMessage(Envelope), (env) => {
        const a = encodeEnvelope(env);
        expect(hex(a)).toBe(hex(encodeCanonical("Envelope", env)));
        const want = normalize(Envelope, env);
        expect(decodeEnvelope(a)).toEqual(want);
        expect(decodeMessage("Envelope", a)).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it("every field kind (schema with all kinds): same bytes, same decoded objects", () => {
    fc.assert(
      fc.property(arbitraryMessage(All), (obj) => {
        const a = encodeWith(testTable, "All", obj);
        expect(hex(a)).toBe(hex(node.encodeCanonical("All", obj)));
        const want = normalize(All, obj);
        expect(decodeWith(testTable, "All", a)).toEqual(want);
        expect(node.decodeMessage("All", a)).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it("repeated scalars decode from packed and unpacked encodings alike", () => {
    const Flip = testRoot.lookupType("t.Flip");
    fc.assert(
      fc.property(arbitraryMessage(Flip), (obj) => {
        const flipped = node.encodeCanonical("Flip", obj);
        const want = normalize(All, obj);
        expect(decodeWith(testTable, "All", flipped)).toEqual(want);
        expect(node.decodeMessage("All", flipped)).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it("unknown fields of every wire type are skipped", () => {
    const Junk = testRoot.lookupType("t.Junk");
    const junk = fc.record({
      v: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      w: fc.constantFrom(1, 2 ** 40, "18446744073709551615"),
      l: fc.string({ minLength: 1 }),
      k: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      n: fc.constant({ a: 1, label: "x" }),
      p: fc.array(fc.integer(), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(arbitraryMessage(All), junk, fc.boolean(), (obj, j, before) => {
        const a = node.encodeCanonical("All", obj);
        const b = node.encodeCanonical("Junk", j);
        const cat = new Uint8Array(a.length + b.length);
        cat.set(before ? b : a);
        cat.set(before ? a : b, (before ? b : a).length);
        const want = normalize(All, obj);
        expect(decodeWith(testTable, "All", cat)).toEqual(want);
        expect(node.decodeMessage("All", cat)).toEqual(want);
      }),
      { numRuns: RUNS },
    );
    expect(Junk.fieldsArray.length).toBe(6);
  });

  it("non-canonical input decodes the same in both: repeated message merges, last oneof member wins", () => {
    fc.assert(
      fc.property(arbitraryMessage(All), arbitraryMessage(All), (x, y) => {
        // protobuf: the concatenation of two encodings is the merge of the two messages
        const a = node.encodeCanonical("All", x);
        const b = node.encodeCanonical("All", y);
        const cat = new Uint8Array(a.length + b.length);
        cat.set(a);
        cat.set(b, a.length);
        expect(decodeWith(testTable, "All", cat)).toEqual(node.decodeMessage("All", cat));
      }),
      { numRuns: RUNS },
    );
  });
});
