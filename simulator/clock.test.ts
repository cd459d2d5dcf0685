import { describe, expect, it } from "vitest";
import { RealtimeClock, VirtualClock } from "./clock.ts";

describe("VirtualClock", () => {
  it("runs events in time order, same-instant events in scheduling order", () => {
    const c = new VirtualClock({ startMs: 0 });
    const seen: string[] = [];
    c.schedule(20, () => seen.push("b@" + c.now()));
    c.schedule(10, () => seen.push("a@" + c.now()));
    c.schedule(20, () => seen.push("c@" + c.now()));
    const x = c.schedule(15, () => seen.push("cancelled"));
    c.cancel(x);
    c.runFor(19);
    expect(seen).toEqual(["a@10"]);
    expect(c.now()).toBe(19);
    c.runFor(100);
    expect(seen).toEqual(["a@10", "b@20", "c@20"]);
    expect(c.now()).toBe(119);
  });

  it("is deterministic for a seed", () => {
    const a = new VirtualClock({ seed: 42 }).rng;
    const b = new VirtualClock({ seed: 42 }).rng;
    const c = new VirtualClock({ seed: 43 }).rng;
    const sa = [a.u32(), a.u32(), a.fork("x").u32()];
    expect([b.u32(), b.u32(), b.fork("x").u32()]).toEqual(sa);
    expect(c.u32()).not.toBe(sa[0]);
  });

  it("stops a zero-delay event storm with an error naming the cause", () => {
    const c = new VirtualClock({ maxEventsPerInstant: 1000 });
    const again = (): void => void c.schedule(0, again);
    c.schedule(0, again);
    expect(() => c.runFor(1)).toThrow(/rescheduling itself with zero delay/);
  });

  it("runUntilTrue stops at the event that makes the condition true", () => {
    const c = new VirtualClock({ startMs: 0 });
    let hit = false;
    c.schedule(5000, () => (hit = true));
    expect(c.runUntilTrue(() => hit, 10_000)).toBe(true);
    expect(c.now()).toBe(5000);
    expect(c.runUntilTrue(() => false, 1000)).toBe(false);
    expect(c.now()).toBe(6000);
  });
});

describe("RealtimeClock", () => {
  it("fires scheduled events on the wall clock and can cancel them", async () => {
    const c = new RealtimeClock({ seed: 1 });
    const seen: number[] = [];
    c.schedule(20, () => seen.push(1));
    const t = c.schedule(10, () => seen.push(2));
    c.cancel(t);
    await c.runFor(60);
    expect(seen).toEqual([1]);
    c.stop();
  });
});
