import { describe, expect, it } from "vitest";
import {
  civilFromDays,
  daysFromCivil,
  dstEnd,
  dstStart,
  formatLocal,
  fromLocal,
  localDay,
  localMinute,
  osloOffset,
  weekday,
} from "./oslo-time.ts";

// Reference: Node's Intl with the real tz database for Europe/Oslo.
const fmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Oslo",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  weekday: "short",
});
function intlParts(t: number) {
  const p: Record<string, string> = {};
  for (const x of fmt.formatToParts(new Date(t * 1000))) p[x.type] = x.value;
  return p;
}

describe("oslo-time", () => {
  it("civil day arithmetic agrees with Date for 1970..2100", () => {
    for (let d = 0; d < 47500; d += 1) {
      const iso = new Date(d * 86400000).toISOString().slice(0, 10);
      const c = civilFromDays(d);
      expect(`${c[0]}-${String(c[1]).padStart(2, "0")}-${String(c[2]).padStart(2, "0")}`).toBe(iso);
      if (d % 97 === 0) expect(daysFromCivil(c[0], c[1], c[2])).toBe(d);
    }
    expect(weekday(daysFromCivil(2026, 11, 23))).toBe(0); // a Monday
  });

  it("DST boundaries of 2026 and 2027", () => {
    expect(new Date(dstStart(2026) * 1000).toISOString()).toBe("2026-03-29T01:00:00.000Z");
    expect(new Date(dstEnd(2026) * 1000).toISOString()).toBe("2026-10-25T01:00:00.000Z");
    expect(new Date(dstStart(2027) * 1000).toISOString()).toBe("2027-03-28T01:00:00.000Z");
    expect(new Date(dstEnd(2027) * 1000).toISOString()).toBe("2027-10-31T01:00:00.000Z");
  });

  it("matches Intl Europe/Oslo for every hour (and the half hours) of 2026-2030", () => {
    const from = Date.parse("2026-01-01T00:00:00Z") / 1000;
    const to = Date.parse("2031-01-01T00:00:00Z") / 1000;
    const wd = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let n = 0;
    for (let t = from; t < to; t += 1800) {
      const p = intlParts(t);
      const c = civilFromDays(localDay(t));
      const min = localMinute(t);
      const got = `${c[0]}-${c[1]}-${c[2]} ${Math.floor(min / 60)}:${min % 60} ${wd[weekday(localDay(t))]}`;
      const want = `${+p.year}-${+p.month}-${+p.day} ${+p.hour}:${+p.minute} ${p.weekday}`;
      if (got !== want) expect(`${t}: ${got}`).toBe(`${t}: ${want}`);
      n++;
    }
    expect(n).toBe(87648);
  });

  it("fromLocal inverts local time for every existing wall minute step, and resolves the gap and the overlap", () => {
    const d0 = daysFromCivil(2026, 1, 1);
    const d1 = daysFromCivil(2031, 1, 1);
    for (let day = d0; day < d1; day++) {
      for (let minute = 0; minute < 1440; minute += 30) {
        const t = fromLocal(day, minute);
        const spring = day === Math.floor(dstStart(civilFromDays(day)[0]) / 86400);
        if (spring && minute >= 120 && minute < 180) {
          expect(t).toBe(dstStart(civilFromDays(day)[0]));
          expect(formatLocal(t).slice(11)).toBe("03:00");
          continue;
        }
        expect(localDay(t)).toBe(day);
        expect(localMinute(t)).toBe(minute);
        // the overlap: the earlier of the two instants is chosen
        if (localMinute(t - 3600) === minute && localDay(t - 3600) === day) throw new Error("not the first occurrence");
      }
    }
    // autumn 2026: 02:30 occurs at 00:30 UTC (CEST) and 01:30 UTC (CET); the first one wins
    const oct = daysFromCivil(2026, 10, 25);
    expect(new Date(fromLocal(oct, 150) * 1000).toISOString()).toBe("2026-10-25T00:30:00.000Z");
    expect(osloOffset(fromLocal(oct, 150))).toBe(7200);
    // spring 2027: 02:30 does not exist; due at 03:00 CEST
    const mar = daysFromCivil(2027, 3, 28);
    expect(new Date(fromLocal(mar, 150) * 1000).toISOString()).toBe("2027-03-28T01:00:00.000Z");
  });
});
