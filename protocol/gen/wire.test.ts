// Unit tests of the table-driven codec on hand-computed bytes (protobuf encoding spec), independent of protobufjs.
import { describe, it, expect } from "vitest";
import { encodeWith, decodeWith } from "./wire.ts";
import type { Table } from "./wire.ts";
import { encodeEnvelope, decodeEnvelope, FaultCode } from "./codec.ts";

const T: Table = {
  M: "|1,u,u,,|2,i,i,,|3,s,s,,|4,b,b,,|5,t,t,,|6,y,y,,|7,f,f,,|8,x,x,,|11,m,m,M,|12,p,u,,p|13,r,u,,r|14,a,u,,oz|15,c,t,,oz",
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const enc = (o: any) => hex(encodeWith(T, "M", o));
const dec = (h: string) => decodeWith(T, "M", unhex(h));

describe("wire encoding", () => {
  it("varints at the 7-bit boundaries and uint32 above 2^31", () => {
    expect(enc({ u: 1 })).toBe("0801");
    expect(enc({ u: 127 })).toBe("087f");
    expect(enc({ u: 128 })).toBe("088001");
    expect(enc({ u: 0x80000000 })).toBe("088080808008");
    expect(enc({ u: 0xffffffff })).toBe("08ffffffff0f");
  });
  it("negative int32 is ten bytes, sint32 zigzags", () => {
    expect(enc({ i: -1 })).toBe("10ffffffffffffffffff01");
    expect(enc({ i: -2147483648 })).toBe("1080808080f8ffffffff01");
    expect(enc({ s: -1 })).toBe("1801");
    expect(enc({ s: 1 })).toBe("1802");
    expect(enc({ s: -2147483648 })).toBe("18ffffffff0f");
    expect(enc({ s: 2147483647 })).toBe("18feffffff0f");
  });
  it("strings are UTF-8 (2, 3 and 4-byte sequences), bytes verbatim", () => {
    expect(enc({ t: "ø€😀" })).toBe("2a09c3b8e282acf09f9880");
    expect(enc({ y: new Uint8Array([0, 255]) })).toBe("320200ff");
    expect(enc({ t: "\ud800" })).toBe("2a03efbfbd"); // lone surrogate -> U+FFFD
  });
  it("fixed widths are little-endian", () => {
    expect(enc({ f: 0xdeadbeef, x: -2 })).toBe("3defbeadde45feffffff");
  });
  it("defaults omitted, empty messages and oneof defaults kept, ascending order", () => {
    expect(enc({ u: 0, i: 0, s: 0, b: false, t: "", y: new Uint8Array(0), p: [], r: [] })).toBe("");
    expect(enc({ m: {} })).toBe("5a00");
    expect(enc({ a: 0 })).toBe("7000");
    expect(enc({ c: "" })).toBe("7a00");
    expect(enc({ b: true, u: 2 })).toBe("08022001");
  });
  it("packed and unpacked repeated", () => {
    expect(enc({ p: [1, 300] })).toBe("6203" + "01ac02");
    expect(enc({ r: [1, 0] })).toBe("68016800");
  });
  it("rejects values that do not fit, naming the field", () => {
    expect(() => enc({ u: -1 })).toThrow(/M\.u: uint32 expected/);
    expect(() => enc({ u: 2 ** 32 })).toThrow(/M\.u/);
    expect(() => enc({ u: 1.5 })).toThrow(/M\.u/);
    expect(() => enc({ s: 2 ** 31 })).toThrow(/M\.s: sint32/);
    expect(() => enc({ t: 5 })).toThrow(/M\.t: string expected/);
    expect(() => enc({ p: 5 })).toThrow(/M\.p: array expected/);
    expect(() => encodeWith(T, "Nope", {})).toThrow(/unknown message type Nope/);
    expect(() => encodeWith(T, "M", null)).toThrow(/M: object expected/);
    expect(() => enc({ m: 5 })).toThrow(/M\.m: object expected/);
  });
});

describe("wire decoding", () => {
  it("fills defaults; messages and oneof members only when present", () => {
    expect(dec("")).toEqual({ u: 0, i: 0, s: 0, b: false, t: "", y: new Uint8Array(0), f: 0, x: 0, p: [], r: [] });
    expect(dec("7000").a).toBe(0);
    expect(dec("7000").c).toBeUndefined();
  });
  it("reads values back", () => {
    const o = dec("08ffffffff0f" + "10ffffffffffffffffff01" + "18ffffffff0f" + "2a09c3b8e282acf09f9880");
    expect([o.u, o.i, o.s, o.t]).toEqual([0xffffffff, -1, -2147483648, "ø€😀"]);
  });
  it("accepts packed and unpacked for any repeated scalar", () => {
    expect(dec("6201016802").p).toEqual([1]);
    expect(dec("6801" + "6a020203").r).toEqual([1, 2, 3]);
  });
  it("last oneof member wins; a repeated singular message merges", () => {
    const o = dec("7005" + "7a0161");
    expect(o.c).toBe("a");
    expect(o.a).toBeUndefined();
    expect(dec("5a020801" + "5a021802").m).toMatchObject({ u: 1, s: 1 });
  });
  it("skips unknown fields of every wire type", () => {
    // field 20 varint, 21 fixed64, 22 length-delimited, 23 fixed32, then u = 5
    expect(dec("a0019601" + "a9010102030405060708" + "b20103616263" + "bd0101020304" + "0805").u).toBe(5);
  });
  it("malformed input throws Errors that say where", () => {
    expect(() => dec("08")).toThrow(/truncated varint/);
    expect(() => dec("08ffffffffffffffffffff01")).toThrow(/longer than 10 bytes/);
    expect(() => dec("2a05616263")).toThrow(/runs past the end/);
    expect(() => dec("0b")).toThrow(/wire type 3/);
    expect(() => dec("0001")).toThrow(/field number 0/);
    expect(() => dec("3d0102")).toThrow(/truncated fixed32/);
    expect(() => dec("5a050801")).toThrow(/runs past the end/);
    expect(() => dec("5a03080101")).toThrow(/field number 0/);
  });
  it("invalid UTF-8 in a string throws (as protobufjs does); valid 1-4 byte sequences decode", () => {
    for (const h of ["ff61", "c0af", "eda080", "f4908080", "c3", "e282", "80"]) expect(() => dec("2a" + (h.length / 2).toString(16).padStart(2, "0") + h)).toThrow(/invalid UTF-8/);
    expect(dec("2a0a" + "41" + "c3b8" + "e282ac" + "f09f9880").t).toBe("Aø€😀");
    expect(dec("2a03efbfbd").t).toBe("\ufffd");
  });
  it("bounds nesting depth", () => {
    let h = "";
    for (let k = 0; k < 40; k++) h = "5a" + (h.length / 2).toString(16).padStart(2, "0") + h;
    expect(() => dec(h.slice(0, 200))).toThrow(Error);
  });
});

describe("generated Envelope codec", () => {
  it("round-trips a fault and exports enums as plain objects", () => {
    expect(FaultCode.FAULT_MOTOR_JAM).toBe(1);
    const env = { device: 7, seq: 3, fault: { code: FaultCode.FAULT_MOTOR_JAM, detail: -5 } };
    expect(decodeEnvelope(encodeEnvelope(env)).fault).toEqual({ code: 1, cleared: false, detail: -5 });
  });
});
