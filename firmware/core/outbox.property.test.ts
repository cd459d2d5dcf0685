// Property: whatever sequence of adds, acks, compactions and reboots happens, and wherever the power is
// cut inside a flash write, after the next boot the outbox holds exactly the accepted, un-acked records,
// in order, and never reuses a seq.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { FakeHal } from "./fake-hal.ts";
import { Outbox, CLS_CRITICAL, CLS_TELEMETRY, fromHex } from "./outbox.ts";
import { nodeSha256 } from "../../protocol/schema.ts";

type Op = { k: "add"; cls: number } | { k: "ack"; pick: number } | { k: "reboot" } | { k: "cut"; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("add" as const), cls: fc.constantFrom(CLS_CRITICAL, CLS_TELEMETRY) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("ack" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reboot" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cut" as const), at: fc.nat(80) }) },
);

describe("Outbox (property)", () => {
  it("keeps exactly the accepted, un-acked records across random reboots and power cuts", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 3, max: 10 }), fc.integer({ min: 80, max: 400 }), (ops, max, compactBytes) => {
        const hal = new FakeHal(nodeSha256);
        let ob = new Outbox(hal, max, compactBytes);
        ob.load();
        // model: seq -> cls of records that must be present
        const model = new Map<number, number>();
        let maxSeq = 0;
        const boot = () => {
          hal.powerCut = false;
          hal.tearAt = -1;
          ob = new Outbox(hal, max, compactBytes);
          ob.load();
        };
        for (const o of ops) {
          if (o.k === "reboot") boot();
          else if (o.k === "cut") hal.tearAt = o.at; // the next append is torn there and the power goes
          else if (o.k === "add") {
            const before = ob.pending.slice();
            const s = ob.add(o.cls, (seq) => new Uint8Array([seq & 255, seq >> 8, o.cls]));
            if (hal.powerCut) {
              boot();
              // an add cut short may or may not have landed (checked below), and the telemetry record
              // the drop policy gave up for it stays dropped; critical records must all still be there
              for (const [seq, cls] of [...model]) {
                if (ob.pending.some((r) => r.seq === seq)) continue;
                expect(cls).toBe(CLS_TELEMETRY);
                model.delete(seq);
              }
              continue;
            }
            if (s) {
              model.set(s, o.cls);
              maxSeq = Math.max(maxSeq, s);
            }
            // a record dropped by the policy is telemetry
            for (const b of before) if (!ob.pending.some((r) => r.seq === b.seq)) {
              expect(b.cls).toBe(CLS_TELEMETRY);
              model.delete(b.seq);
            }
          } else if (o.k === "ack" && ob.pending.length) {
            const r = ob.pending[o.pick % ob.pending.length];
            ob.ack(r.seq);
            model.delete(r.seq); // if the ack's write was cut, the record may still be there (an "extra")
            if (hal.powerCut) boot();
          }
        }
        boot();
        const seqs = ob.pending.map((r) => r.seq);
        // every record known to be accepted and not acked is there
        for (const s of model.keys()) if (s <= maxSeq) expect(seqs).toContain(s);
        // nothing else, except an add or ack whose write was cut (at most one per cut)
        const extra = seqs.filter((s) => !model.has(s));
        expect(extra.length).toBeLessThanOrEqual(ops.filter((o) => o.k === "cut").length);
        // in order, unique, and the payload matches its seq
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(seqs.length);
        for (const r of ob.pending) expect(fromHex(r.hex)[0]).toBe(r.seq & 255);
        expect(ob.nextSeq).toBeGreaterThan(Math.max(0, maxSeq, ...seqs));
        expect(ob.depth()).toBeLessThanOrEqual(max);
      }),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS || 300) },
    );
  });
});
