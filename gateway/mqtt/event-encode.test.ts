import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { encodeBackendEvent } from "./event-encode.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";

describe("BackendEvent encoder of the hot path", () => {
  it("gives the canonical encoder's bytes (envelope spliced in as the device's canonical bytes)", () => {
    const code = fc.record({ system: fc.constantFrom("VKP", "SCAIP", ""), code: fc.string({ maxLength: 6 }), display: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "grapheme", maxLength: 200 })) });
    const env = fc.oneof(
      fc.record({ device: fc.nat(0xffffffff), boot: fc.nat(0xffffffff), seq: fc.nat(0xffffffff), time: fc.nat(0xffffffff), alarm: fc.record({ cancel: fc.boolean(), test: fc.boolean() }) }),
      fc.record({ device: fc.nat(0xffffffff), seq: fc.nat(1000), late: fc.boolean(), dose: fc.record({ kind: fc.nat(4), slot: fc.nat(27), delayS: fc.integer({ min: -100000, max: 100000 }) }) }),
      fc.constant({}),
    );
    fc.assert(
      fc.property(
        fc.record({
          eventId: fc.string(), gateway: fc.string(), device: fc.nat(0xffffffff), kind: fc.integer({ min: -3, max: 2 }), type: fc.string(), time: fc.nat(0xffffffff), received: fc.nat(0xffffffff),
          late: fc.boolean(), historical: fc.boolean(), codes: fc.array(code, { maxLength: 3 }), envelope: env, label: fc.oneof(fc.string(), fc.string({ unit: "grapheme", maxLength: 300 })), test: fc.boolean(), scheduled: fc.nat(0xffffffff),
        }),
        (ev) => {
          const canonical = encodeCanonical("BackendEvent", ev);
          const fast = encodeBackendEvent({ ...ev, envelope: encodeCanonical("Envelope", ev.envelope) });
          expect(new Uint8Array(fast)).toEqual(canonical);
          expect(decodeMessage("BackendEvent", fast).eventId).toBe(ev.eventId);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
