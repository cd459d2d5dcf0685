// Fuzzing every decoder on random and mutated bytes: each either returns or throws an Error (never
// another value, never hangs, never grows without bound). Short budget here; for a long run:
//   FUZZ_RUNS=200000 npx vitest run protocol/fuzz.test.ts
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { decodeEnvelope, decode } from "./gen/object-codec.ts";
import { MESSAGE_NAMES, fieldsOf } from "./gen/messages.ts";
import { fromByteStrings } from "./byte-strings.ts";
import { decodeMessage, encodeCanonical, openFrame, nodeSha256, ZERO_KEY } from "./schema.ts";
import { FrameParser, encodeFrame, MAX_FRAME } from "./framing.ts";
import { open, seal } from "./mac.ts";
import { VECTORS_PATH } from "./vectors/build.ts";

const RUNS = Number(process.env.FUZZ_RUNS || 2000); // ~1.5 s in the normal run
const vectors: any[] = JSON.parse(readFileSync(VECTORS_PATH, "utf8")).vectors;
const payloads = vectors.map((v) => new Uint8Array(Buffer.from(v.payload, "hex")));
const testKey = new Uint8Array(Buffer.from(JSON.parse(readFileSync(VECTORS_PATH, "utf8")).testKey, "hex"));

// random bytes, or a golden payload with bytes flipped / inserted / deleted / truncated / duplicated
const mutated = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(
      fc.constantFrom(...payloads),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 6 }),
    )
    .map(([p, edits]) => {
      let b = Array.from(p);
      for (const [at, v, op] of edits) {
        const i = b.length ? at % b.length : 0;
        if (op === 0) b[i] = v;
        else if (op === 1) b.splice(i, 0, v);
        else if (op === 2) b.splice(i, 1);
        else if (op === 3) b = b.slice(0, i);
        else b = b.concat(b.slice(i));
      }
      return new Uint8Array(b);
    }),
);

/** Runs f; it may return or throw an Error, nothing else. A hang shows as the test's own timeout
 *  (no wall-clock bound per call: tests never gate on the machine's speed). */
function onlyErrors(f: () => unknown): unknown {
  let out: unknown;
  try {
    out = f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    out = e;
  }
  return out;
}

describe("fuzz", () => {
  it("decodeEnvelope and decode(type): only Errors; same verdict and object as protobufjs", () => {
    const types = MESSAGE_NAMES;
    fc.assert(
      fc.property(mutated, fc.constantFrom(...types), (bytes, type) => {
        const a = onlyErrors(() => decodeEnvelope(bytes));
        const b = onlyErrors(() => decodeMessage("Envelope", bytes));
        // on canonical input (what a sender writes) both accept it and agree; on other input the firmware
        // may be stricter (a known field with the wrong wire type, groups) or take the last of repeated
        // singular messages where protobufjs merges them: it only has to fail cleanly
        if (!(b instanceof Error) && Buffer.from(encodeCanonical("Envelope", b)).equals(Buffer.from(bytes))) {
          expect(a).not.toBeInstanceOf(Error);
          expect(fromByteStrings(a)).toEqual(b);
        }
        onlyErrors(() => decode(type, bytes));
        onlyErrors(() => decodeMessage(type, bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("FrameParser: never throws, stays bounded, and every body it emits has a good length", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated, mutated.map((p) => (p.length ? encodeFrame(p.subarray(0, 251)) : p))), { maxLength: 8 }), (chunks) => {
        const bodies: Uint8Array[] = [];
        const p = new FrameParser((b) => bodies.push(b));
        for (const c of chunks) {
          p.push(c);
          expect(p.len).toBeLessThanOrEqual(MAX_FRAME * 2);
        }
        for (const b of bodies) expect(b.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it("mac open / openFrame: null or a payload for any body, never another exception than Error", () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), (bytes, sealIt) => {
        const body = sealIt ? seal(nodeSha256, testKey, bytes) : bytes;
        const p = open(nodeSha256, testKey, body);
        if (sealIt) expect(p).toEqual(bytes);
        else expect(p === null || p instanceof Uint8Array).toBe(true);
        onlyErrors(() => openFrame(testKey, body));
        expect(openFrame(ZERO_KEY, seal(nodeSha256, testKey, bytes))).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});
