import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { hmacSha256, seal, open, MAC_LEN } from "./mac.ts";
import { nodeSha256 } from "./schema.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const fill = (v: number, n: number) => new Uint8Array(n).fill(v);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("HMAC-SHA256 (RFC 4231)", () => {
  it("test case 1", () => {
    expect(hex(hmacSha256(nodeSha256, fill(0x0b, 20), bytes("Hi There")))).toBe(
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    );
  });
  it("test case 2 (short key)", () => {
    expect(hex(hmacSha256(nodeSha256, bytes("Jefe"), bytes("what do ya want for nothing?")))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
  it("test case 6 (131-byte key, hashed first)", () => {
    expect(hex(hmacSha256(nodeSha256, fill(0xaa, 131), bytes("Test Using Larger Than Block-Size Key - Hash Key First")))).toBe(
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
  });
  it("test case 7 (long key and long data)", () => {
    const data = "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
    expect(hex(hmacSha256(nodeSha256, fill(0xaa, 131), bytes(data)))).toBe("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  });
  it("matches node:crypto on arbitrary keys and data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        expect(hex(hmacSha256(nodeSha256, key, data))).toBe(createHmac("sha256", key).update(data).digest("hex"));
      }),
      { numRuns: 200 },
    );
  });
});

describe("seal / open", () => {
  const key = fill(7, 32);
  it("round-trips and rejects any single changed byte, a wrong key, and short bodies", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, x) => {
        const body = seal(nodeSha256, key, payload);
        expect(body.length).toBe(payload.length + MAC_LEN);
        expect(open(nodeSha256, key, body)).toEqual(payload);
        const bad = body.slice();
        bad[at % bad.length] ^= x;
        expect(open(nodeSha256, key, bad)).toBeNull();
        expect(open(nodeSha256, fill(8, 32), body)).toBeNull();
      }),
      { numRuns: 200 },
    );
    expect(open(nodeSha256, key, new Uint8Array(MAC_LEN - 1))).toBeNull();
  });
});
