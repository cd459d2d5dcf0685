// Property: over a link that drops, corrupts, splits and duplicates bytes in both directions, every
// reliable event reaches the gateway (at least once, identified by boot:seq), the device's outbox ends
// empty once the link heals, and the gateway never sees an event it was not sent.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { FakeHal } from "./fake-hal.ts";
import { Outbox, CLS_CRITICAL, CLS_TELEMETRY } from "./outbox.ts";
import { Clock } from "./clock.ts";
import { State } from "./state.ts";
import { Link, loadIdentity } from "./link.ts";
import { nodeSha256 } from "../../protocol/schema.ts";
import { FakeGateway } from "../build/fake-gateway.ts";

const KEY = "5a".repeat(32);

describe("Link (property)", () => {
  it("delivers every reliable event through a lossy, corrupting link", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (seed, gaps, loss, corrupt) => {
          const hal = new FakeHal(nodeSha256, { "varde.id": JSON.stringify({ id: 9, key: KEY, kind: "alarm" }) });
          hal.seed = seed;
          const ident = loadIdentity(hal)!;
          const clock = new Clock(hal);
          const outbox = new Outbox(hal, 32, 2048);
          outbox.load();
          const link = new Link(hal, ident, clock, outbox, new State(hal), 1, 20);
          const gw = new FakeGateway(ident.key, true);
          let r = seed;
          const rnd = () => {
            r = (r * 1103515245 + 12345) % 2147483648;
            return r / 2147483648;
          };
          let lossy = true;
          const mangle = (b: Uint8Array): Uint8Array[] => {
            if (lossy && rnd() < loss) return [];
            const c = b.slice();
            if (lossy && rnd() < corrupt) c[Math.floor(rnd() * c.length)] ^= 1 << Math.floor(rnd() * 8);
            const cut = Math.floor(rnd() * c.length);
            const parts = [c.subarray(0, cut), c.subarray(cut)];
            return lossy && rnd() < 0.1 ? parts.concat([c]) : parts; // sometimes duplicated
          };
          const pump = () => {
            for (const f of hal.sent.splice(0)) gw.feed(mangle(f));
            for (const f of gw.replies.splice(0)) for (const p of mangle(f)) hal.deliver(p);
          };
          const sent: number[] = [];
          for (const g of gaps) {
            for (let t = 0; t < g; t += 250) {
              hal.advance(250);
              pump();
            }
            sent.push(link.sendReliable({ alarm: { test: g % 2 === 0 } }, g % 3 === 0 ? CLS_TELEMETRY : CLS_CRITICAL));
            pump();
          }
          // the link heals; backoff is capped at 20 s
          lossy = false;
          for (let t = 0; t < 120_000 && outbox.depth() > 0; t += 250) {
            hal.advance(250);
            pump();
          }
          expect(outbox.depth()).toBe(0);
          const got = new Set(gw.with("alarm").map((e) => e.seq));
          for (const s of sent) expect(got.has(s)).toBe(true);
          for (const s of got) expect(sent).toContain(s);
          expect(gw.badMac).toBe(0); // corruption is caught by the CRC before the MAC
        },
      ),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS || 60) },
    );
  });
});
