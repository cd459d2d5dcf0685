import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ackFrame, macMatches, sealEnvelope, splitBody } from "./wire.ts";
import { decodeMessage, encodeCanonical, sealFrame } from "../protocol/schema.ts";
import { FrameParser } from "../protocol/framing.ts";

const body = (frame: Uint8Array) => {
  let b: Uint8Array | null = null;
  new FrameParser((x) => (b = x)).push(frame);
  return b!;
};

describe("gateway wire helpers", () => {
  it("ackFrame gives the canonical sealed frame, byte for byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), (key, device, boot, ack, time) => {
        expect(new Uint8Array(ackFrame(key, device, boot, ack, time))).toEqual(sealFrame(key, { device, boot, ack, time }));
      }),
    );
  });

  it("sealEnvelope matches protocol/schema.ts sealFrame; splitBody decodes once and the MAC is checked separately", () => {
    const key = new Uint8Array(32).fill(5);
    const env = { device: 1001, boot: 0xdeadbeef, seq: 7, time: 1_796_000_000, dose: { kind: 1, slot: 3, delayS: -60 } };
    const frame = sealEnvelope(key, env);
    expect(frame).toEqual(sealFrame(key, env));
    const f = splitBody(body(frame))!;
    expect(f.env.seq).toBe(7);
    expect(f.env.dose.delayS).toBe(-60);
    expect(f.env.alarm).toBeNull(); // a member not on the wire
    expect(macMatches(key, f)).toBe(true);
    expect(macMatches(new Uint8Array(32), f)).toBe(false);
    f.body[f.body.length - 1] ^= 1; // the MAC's last byte
    expect(macMatches(key, f)).toBe(false);
  });

  it("of two body members the last one wins, as with the canonical decoder", () => {
    const a = encodeCanonical("Envelope", { device: 1, alarm: {} });
    const b = encodeCanonical("Envelope", { heartbeat: { batteryPct: 5 } });
    const f = splitBody(new Uint8Array([...a, ...b, ...new Uint8Array(8)]))!;
    expect([f.env.alarm, f.env.heartbeat?.batteryPct]).toEqual([null, 5]);
    expect(decodeMessage("Envelope", new Uint8Array([...a, ...b]))).toMatchObject({ heartbeat: { batteryPct: 5 } });
  });
});
