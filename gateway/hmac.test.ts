import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { hmacSha256, macAt, macEquals, macInto } from "./hmac.ts";
import { MAC_LEN } from "../protocol/mac.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("gateway HMAC-SHA256 (cached pad states, plain JavaScript)", () => {
  it("gives node:crypto's bytes for any key and message length (one and several blocks, keys over 64 bytes)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.uint8Array({ minLength: 0, maxLength: 300 }), (key, msg) => {
        expect(hex(hmacSha256(key, msg))).toBe(createHmac("sha256", key).update(msg).digest("hex"));
      }),
      { numRuns: 500 },
    );
  });

  it("RFC 4231 test case 2", () => {
    const key = new TextEncoder().encode("Jefe");
    const msg = new TextEncoder().encode("what do ya want for nothing?");
    expect(hex(hmacSha256(key, msg))).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("the frame MAC is the first bytes, written in place; a wrong key, message or MAC does not match", () => {
    const key = new Uint8Array(32).fill(9);
    const msg = new Uint8Array([8, 1, 16, 2]);
    const out = new Uint8Array(MAC_LEN + 2).fill(0xee);
    macInto(key, msg, out, 1);
    expect(hex(out.subarray(1, 1 + MAC_LEN))).toBe(createHmac("sha256", key).update(msg).digest("hex").slice(0, 2 * MAC_LEN));
    expect([out[0], out[MAC_LEN + 1]]).toEqual([0xee, 0xee]); // nothing outside its place
    const mac = out.slice(1, 1 + MAC_LEN);
    expect(macEquals(key, msg, mac)).toBe(true);
    expect(macEquals(new Uint8Array(32).fill(8), msg, mac)).toBe(false);
    expect(macEquals(key, new Uint8Array([8, 1, 16, 3]), mac)).toBe(false);
    mac[MAC_LEN - 1] ^= 1;
    expect(macEquals(key, msg, mac)).toBe(false);
    expect(macEquals(key, msg, mac.subarray(1))).toBe(false);
  });

  it("over a range of a larger buffer: the same MAC as over a copy of that range, nothing outside it read or written", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(20), fc.nat(20), (key, msg, before, after) => {
        const buf = new Uint8Array(before + msg.length + MAC_LEN + after).fill(0xa5);
        buf.set(msg, before);
        const end = before + msg.length;
        macInto(key, buf, buf, end, before, end);
        const want = createHmac("sha256", key).update(msg).digest().subarray(0, MAC_LEN);
        expect(hex(buf.subarray(end, end + MAC_LEN))).toBe(hex(want));
        expect([...buf.subarray(0, before), ...buf.subarray(end + MAC_LEN)].every((b) => b === 0xa5)).toBe(true);
        expect(macAt(key, buf, before, end, buf, end)).toBe(true);
        expect(macAt(key, buf, before, end, buf, end + after + 1)).toBe(false); // the MAC would run past the buffer
        buf[end + MAC_LEN - 1] ^= 1;
        expect(macAt(key, buf, before, end, buf, end)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
