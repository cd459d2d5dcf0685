// Property tests: the firmware codec (protocol/pb.ts through gen/object-codec.ts and the generated keys)
// and protobufjs (schema.ts) agree on arbitrary Envelopes: same canonical bytes, same decoded plain
// objects, and both equal the conventions. Strings cross as UTF-8 byte strings (byte-strings.ts).
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { encodeEnvelope, decodeEnvelope } from "./gen/object-codec.ts";
import { encodeCanonical, decodeMessage, lookupType } from "./schema.ts";
import { arbitraryMessage, normalize } from "./arbitrary.ts";
import { toByteStrings, fromByteStrings } from "./byte-strings.ts";

const RUNS = Number(process.env.CODEC_RUNS || 300);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const Envelope = lookupType("Envelope");
const cat = (a: Uint8Array, b: Uint8Array) => {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
};

describe("firmware codec ⇄ protobufjs", () => {
  it("arbitrary Envelopes: same bytes, same decoded objects", () => {
    fc.assert(
      fc.property(arbitraryMessage(Envelope), (env) => {
        const a = encodeEnvelope(toByteStrings(env));
        expect(hex(a)).toBe(hex(encodeCanonical("Envelope", env)));
        const want = normalize(Envelope, env);
        expect(fromByteStrings(decodeEnvelope(a))).toEqual(decodeMessage("Envelope", a));
        expect(decodeMessage("Envelope", a)).toEqual(fromByteStrings(toByteStrings(want)));
      }),
      { numRuns: RUNS },
    );
  });

  it("unknown fields of every wire type are skipped", () => {
    // field numbers varde.proto does not use (200+), one per wire type the firmware must skip
    const junk = fc.constantFrom(
      [0xc0, 0x0c, 0x05], // 200 varint
      [0xc9, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8], // 201 fixed64
      [0xd2, 0x0c, 2, 0x41, 0x42], // 202 length-delimited
      [0xdd, 0x0c, 9, 9, 9, 9], // 203 fixed32
    );
    fc.assert(
      fc.property(arbitraryMessage(Envelope), junk, fc.boolean(), (env, j, before) => {
        const a = encodeCanonical("Envelope", env);
        const b = new Uint8Array(j);
        const bytes = before ? cat(b, a) : cat(a, b);
        expect(fromByteStrings(decodeEnvelope(bytes))).toEqual(decodeMessage("Envelope", a));
      }),
      { numRuns: RUNS },
    );
  });

  it("of two oneof members on the wire, the last wins (as in protobufjs)", () => {
    fc.assert(
      fc.property(arbitraryMessage(Envelope), arbitraryMessage(Envelope), (x, y) => {
        if (!Envelope.oneofs.body.fieldsArray.some((f) => x[f.name] != null)) return;
        if (!Envelope.oneofs.body.fieldsArray.some((f) => y[f.name] != null)) return;
        const bytes = cat(encodeCanonical("Envelope", x), encodeCanonical("Envelope", { [Object.keys(y).find((k) => Envelope.fields[k]?.partOf)!]: y[Object.keys(y).find((k) => Envelope.fields[k]?.partOf)!] }));
        const ours = fromByteStrings(decodeEnvelope(bytes));
        const theirs = decodeMessage("Envelope", bytes);
        const member = (o: any) => Envelope.oneofs.body.fieldsArray.map((f) => f.name).filter((n) => o[n] !== undefined);
        expect(member(ours)).toEqual(member(theirs));
      }),
      { numRuns: RUNS },
    );
  });
});
