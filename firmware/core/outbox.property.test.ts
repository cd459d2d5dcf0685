// Property: whatever sequence of adds, acks, compactions and reboots happens, and wherever the power is
// cut inside a flash write, after the next boot the outbox holds exactly the accepted, un-acked records,
// in order, never reuses a seq, and each record's bytes in flash are its own.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { fakeFlash, fakeReset } from "../hal/fake.ts";
import { bootOutbox, type OutboxModule } from "./outbox-test-env.ts";
import { CLS_CRITICAL, CLS_TELEMETRY } from "./outbox.ts";

type Op = { k: "add"; cls: number } | { k: "ack"; pick: number } | { k: "reboot" } | { k: "cut"; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("add" as const), cls: fc.constantFrom(CLS_CRITICAL, CLS_TELEMETRY) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("ack" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reboot" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cut" as const), at: fc.nat(80) }) },
);

/** Runs f; a power cut inside it (the fake flash throws) is swallowed: the device just stops. */
function powered<T>(f: () => T, otherwise: T): T {
  try {
    return f();
  } catch (e) {
    if (fakeFlash.powerCut) return otherwise;
    throw e;
  }
}

describe("flash outbox (property)", () => {
  it("keeps exactly the accepted, un-acked records across random reboots and power cuts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 3, max: 10 }), fc.integer({ min: 80, max: 400 }), async (ops, max, compactBytes) => {
        fakeReset();
        let ob: OutboxModule = await bootOutbox(max, compactBytes);
        const model = new Map<number, number>(); // seq -> cls of records that must be present
        let maxSeq = 0;
        let cuts = 0;
        for (const o of ops) {
          if (o.k === "reboot") ob = await bootOutbox(max, compactBytes);
          else if (o.k === "cut") fakeFlash.tearAt = o.at; // the next append is torn there and the power goes
          else if (o.k === "add") {
            const before = ob.obSeqs();
            // the record's bytes carry its seq-to-be, so a mix-up between records would show
            const tag = ob.obNext & 255;
            const s = powered(() => ob.obAdd(o.cls, 5, 1795000000, new Uint8Array([tag, o.cls]), 0, 2), -1);
            if (fakeFlash.powerCut) {
              cuts++;
              ob = await bootOutbox(max, compactBytes);
              // an add cut short may or may not have landed, and the telemetry record the drop policy
              // gave up for it stays dropped; critical records must all still be there
              const now = ob.obSeqs().map(Math.abs);
              for (const [seq, cls] of [...model]) {
                if (now.includes(seq)) continue;
                expect(cls).toBe(CLS_TELEMETRY);
                model.delete(seq);
              }
              continue;
            }
            if (s) {
              model.set(s, o.cls);
              maxSeq = Math.max(maxSeq, s);
            }
            const after = ob.obSeqs();
            for (const b of before) if (!after.includes(b)) {
              expect(b).toBeLessThan(0); // dropped by the policy: telemetry
              model.delete(-b);
            }
          } else if (o.k === "ack" && ob.obDepth()) {
            const q = ob.obSeqs();
            const seq = Math.abs(q[o.pick % q.length]);
            powered(() => ob.obAck(seq), false);
            model.delete(seq); // if the ack's write was cut, the record may still be there (an "extra")
            if (fakeFlash.powerCut) {
              cuts++;
              ob = await bootOutbox(max, compactBytes);
            }
          }
        }
        ob = await bootOutbox(max, compactBytes);
        const seqs = ob.obSeqs().map(Math.abs);
        for (const s of model.keys()) if (s <= maxSeq) expect(seqs).toContain(s);
        // nothing else, except an add or ack whose write was cut (at most one per cut)
        expect(seqs.filter((s) => !model.has(s)).length).toBeLessThanOrEqual(cuts);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(seqs.length);
        for (const s of seqs) {
          const r = ob.obRead(s)!;
          expect(parseInt(r[4].substr(0, 2), 16)).toBe(s & 255);
        }
        expect(ob.obNext).toBeGreaterThan(Math.max(0, maxSeq, ...seqs));
        expect(ob.obDepth()).toBeLessThanOrEqual(max);
      }),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS || 150) },
    );
  }, 120_000);
});
