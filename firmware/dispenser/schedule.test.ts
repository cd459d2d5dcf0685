import { describe, expect, it } from "vitest";
import { daysFromCivil, dstEnd, dstStart, formatLocal, localMinute } from "./oslo-time.ts";
import { dosesOnDay, nextDose, nthDose, prevDose, validateSchedule, type Schedule } from "./schedule.ts";

function sched(minutes: number[], weekdays = 0): Schedule {
  return { version: 1, doses: minutes.map((m) => ({ minute: m, weekdays })), earlyMin: 0, lateMin: 0, collectMin: 0, remindEveryMin: 0 };
}
const iso = (t: number) => new Date(t * 1000).toISOString().slice(0, 16);

describe("schedule", () => {
  it("validates with errors naming the field", () => {
    expect(validateSchedule(sched([480, 1200]))).toBe("");
    expect(validateSchedule(sched([1440]))).toContain("doses[0].minute 1440");
    expect(validateSchedule({ ...sched([480]), version: 0 })).toContain("version");
    expect(validateSchedule(sched([480, 480]))).toContain("repeats");
    expect(validateSchedule(sched([]))).toContain("at least one");
  });

  it("every dose of every day exactly once across 2026-2028, including both DST days", () => {
    const s = sched([150, 480, 720, 1230]); // 02:30 hits the gap and the overlap
    let t = Date.parse("2026-01-01T00:00:00Z") / 1000;
    const end = Date.parse("2029-01-01T00:00:00Z") / 1000;
    const seen = new Set<number>();
    let n = 0;
    while ((t = nextDose(s, t)) < end) {
      expect(seen.has(t)).toBe(false);
      seen.add(t);
      n++;
    }
    const days = (daysFromCivil(2029, 1, 1) - daysFromCivil(2026, 1, 1));
    expect(n).toBe(days * 4);
  });

  it("spring gap: 02:30 is due at 03:00 CEST once; autumn overlap: 02:30 due at the first occurrence once", () => {
    const s = sched([150]);
    for (const y of [2026, 2027]) {
      const spring = Math.floor(dstStart(y) / 86400);
      expect(dosesOnDay(s, spring)).toEqual([dstStart(y)]);
      expect(formatLocal(dstStart(y)).slice(11)).toBe("03:00");
      const autumn = Math.floor(dstEnd(y) / 86400);
      const a = dosesOnDay(s, autumn);
      expect(a.length).toBe(1);
      expect(a[0]).toBe(dstEnd(y) - 1800); // 00:30 UTC = 02:30 CEST, before the clocks go back
      // walking through the overlap yields it once
      expect(nextDose(s, a[0])).toBeGreaterThan(dstEnd(y) + 86400 - 7200);
    }
    // two doses inside the gap stay distinct
    const two = dosesOnDay(sched([130, 170]), Math.floor(dstStart(2026) / 86400));
    expect(two).toEqual([dstStart(2026), dstStart(2026) + 60]);
  });

  it("weekday masks use the local date (Monday = bit 0)", () => {
    const s = sched([30], 1); // 00:30 on Mondays: Sunday 23:30 UTC
    const t = nextDose(s, Date.parse("2026-11-18T00:00:00Z") / 1000);
    expect(iso(t)).toBe("2026-11-22T23:30");
    expect(localMinute(t)).toBe(30);
    expect(iso(nthDose(s, t - 1, 2))).toBe("2026-11-29T23:30");
    expect(prevDose(s, t)).toBe(t - 7 * 86400);
  });
});
