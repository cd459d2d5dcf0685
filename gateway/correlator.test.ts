import { describe, it, expect } from "vitest";
import { Correlator, TimeoutError, CancelledError } from "./correlator.ts";
import { ManualClock } from "../test/support/manual-clock.ts";

const settled = async <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: Error) => ({ ok: false as const, e }));

describe("correlator (one timer, deadlines on monotonic time)", () => {
  it("resolves by key, times out what is not answered, keeps nothing after its deadline", async () => {
    const clock = new ManualClock();
    const c = new Correlator<string>(clock, 1000, (k) => `PUBACK for event ${k}`);
    const a = settled(c.wait("a"));
    clock.advance(400);
    const b = settled(c.wait("b"));
    expect(c.resolve("a", "stored")).toBe(true);
    expect(c.resolve("a", "again")).toBe(false); // a duplicate answer finds nothing
    clock.advance(599);
    expect(c.size).toBe(1);
    clock.advance(1 + 400);
    expect(c.size).toBe(0);
    expect(await a).toEqual({ ok: true, v: "stored" });
    const rb = await b;
    expect(rb.ok).toBe(false);
    expect((rb as { e: Error }).e).toBeInstanceOf(TimeoutError);
    expect((rb as { e: Error }).e.message).toBe("no PUBACK for event b within 1 s");
    expect(clock.pending).toBe(0); // no timer left behind
  });

  it("extend gives a fresh deadline (PUBACK came, now the application ack is awaited); a new wait supersedes the old", async () => {
    const clock = new ManualClock();
    const c = new Correlator(clock, 1000);
    const x = settled(c.wait("x"));
    const y = settled(c.wait("y"));
    clock.advance(900);
    c.extend("x");
    clock.advance(200); // y expired, x not
    expect([c.has("x"), c.has("y")]).toEqual([true, false]);
    expect((await y).ok).toBe(false);
    const x2 = settled(c.wait("x"));
    expect(((await x) as { e: Error }).e).toBeInstanceOf(CancelledError);
    c.resolve("x", undefined);
    expect((await x2).ok).toBe(true);
  });

  it("a wall-clock step (NTP, hours either way) neither expires a wait early nor holds it late", async () => {
    const clock = new ManualClock();
    const c = new Correlator(clock, 30_000);
    const w = settled(c.wait("e1"));
    clock.stepWall(+3 * 3600_000);
    clock.advance(29_000);
    expect(c.has("e1")).toBe(true);
    clock.stepWall(-6 * 3600_000);
    clock.advance(1_000);
    expect(c.has("e1")).toBe(false);
    expect((await w).ok).toBe(false);
  });

  it("clear cancels every wait", async () => {
    const clock = new ManualClock();
    const c = new Correlator(clock, 1000);
    const ws = [settled(c.wait("1")), settled(c.wait("2"))];
    c.clear("gateway stopping");
    for (const r of await Promise.all(ws)) expect((r as { e: Error }).e.message).toMatch(/gateway stopping/);
    expect(clock.pending).toBe(0);
  });
});
