import { describe, it, expect } from "vitest";
import protobuf from "protobufjs";
import { schemaCodec, encodeCanonical, decodeMessage, sealFrame, openFrame, nodeSha256, ZERO_KEY, lookupType } from "./schema.ts";
import { seal } from "./mac.ts";

const root = protobuf.parse(`syntax = "proto3"; package b;
message B { int64 at = 1; uint64 big = 2; map<string, uint32> counts = 3; map<string, B> kids = 4; bytes raw = 5; sint64 neg = 6; }`).root;
const c = schemaCodec(root, "b");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("schema.ts (Node codec)", () => {
  it("64-bit fields: numbers when safe, decimal strings beyond; accepts number, string, bigint", () => {
    const bytes = c.encodeCanonical("B", { at: 1767225600123, big: "18446744073709551615", neg: -5n });
    expect(c.decodeMessage("B", bytes)).toEqual({ at: 1767225600123, big: "18446744073709551615", counts: {}, kids: {}, raw: new Uint8Array(0), neg: -5 });
    expect(() => c.encodeCanonical("B", { at: 1.5 })).toThrow(/B\.at: 64-bit integer expected/);
  });

  it("map fields are plain objects, nested messages converted", () => {
    const obj = { counts: { a: 1, b: 0 }, kids: { x: { at: 2 } }, raw: new Uint8Array([1, 2]) };
    const back = c.decodeMessage("B", c.encodeCanonical("B", obj));
    expect(back.counts).toEqual({ a: 1, b: 0 });
    expect(back.kids.x.at).toBe(2);
    expect(back.raw).toEqual(new Uint8Array([1, 2]));
    expect(back.raw).not.toBeInstanceOf(Buffer);
  });

  it("32-bit range errors name the field instead of wrapping", () => {
    expect(() => encodeCanonical("Envelope", { seq: -1 })).toThrow(/Envelope\.seq: uint32 expected, got -1/);
    expect(() => encodeCanonical("Envelope", { fault: { detail: 2 ** 31 } })).toThrow(/Envelope\.fault\.detail: sint32/);
    expect(() => encodeCanonical("Envelope", { alarm: 3 })).toThrow(/Envelope\.alarm: object expected/);
    expect(() => lookupType("Nope")).toThrow(/varde\.proto has no message Nope/);
  });

  it("malformed bytes throw an Error naming the type", () => {
    expect(() => decodeMessage("Envelope", new Uint8Array([0x08]))).toThrow(/Envelope: malformed protobuf/);
  });

  it("last oneof member on the wire wins, also nested in a merged message", () => {
    const a = encodeCanonical("Envelope", { alarm: { hold: true } });
    const b = encodeCanonical("Envelope", { fault: { code: 1 } });
    const both = new Uint8Array([...a, ...b]);
    const d = decodeMessage("Envelope", both);
    expect(d.fault).toEqual({ code: 1, cleared: false, detail: 0 });
    expect(d.alarm).toBeUndefined();
    expect(decodeMessage("Envelope", new Uint8Array([...b, ...a])).alarm).toEqual({ test: false, cancel: false, alarmSeq: 0, hold: true });
  });

  it("sealFrame / openFrame: right key opens, wrong key is null, good MAC over garbage throws", () => {
    const key = new Uint8Array(32).fill(3);
    const f = sealFrame(key, { device: 5, seq: 1, alarm: {} });
    const body = f.subarray(3, f.length - 2);
    expect(openFrame(key, body).device).toBe(5);
    expect(openFrame(ZERO_KEY, body)).toBeNull();
    expect(() => openFrame(key, seal(nodeSha256, key, new Uint8Array([0xff])))).toThrow(/malformed/);
    expect(hex(nodeSha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
