// Dose schedule in Oslo wall-clock time -> concrete dose instants (Unix seconds, UTC).
// A schedule is the decoded `Schedule` downlink (protocol/varde.proto): doses at `minute` after
// local midnight, on the weekdays of the mask (bit 0 = Monday .. bit 6 = Sunday, 0 = every day;
// the weekday is that of the LOCAL calendar date).
//
// Daylight saving (see oslo-time.ts fromLocal):
//  * spring gap: a dose at 02:00..02:59 on the last Sunday of March is due at 03:00 CEST, once;
//  * autumn overlap: a dose at 02:00..02:59 on the last Sunday of October is due at its FIRST
//    occurrence (CEST), once; the second pass through that hour does not repeat it.
// Every dose of every local day therefore maps to exactly one instant. A dose's identity is that
// instant ("scheduled" in DoseEvent). If two doses of the same day land on the same instant (only
// possible inside the spring gap), the later one is moved 60 s later per collision, so identities
// stay unique and neither is skipped.
// Espruino subset.
import { fromLocal, localDay, weekday } from "./oslo-time.ts";

export interface ScheduledDose {
  minute: number;
  weekdays: number;
}

export interface Schedule {
  version: number;
  doses: ScheduledDose[];
  earlyMin: number;
  lateMin: number;
  collectMin: number;
  remindEveryMin: number;
}

/** Largest number of doses per day a schedule may hold (bounded lists; protocol caps repeated doses at 12). */
export const MAX_DOSES = 12;

/** Returns an error text naming the bad field, or "" when the schedule is usable. */
export function validateSchedule(s: any): string {
  if (!s || typeof s !== "object") return "schedule missing";
  if (!(s.version > 0)) return "version must be > 0";
  const d = s.doses;
  if (!d || !d.length) return "doses: at least one dose needed";
  if (d.length > MAX_DOSES) return "doses: at most " + MAX_DOSES + " per day";
  for (let i = 0; i < d.length; i++) {
    const m = d[i].minute || 0;
    if (m < 0 || m > 1439 || Math.floor(m) !== m) return "doses[" + i + "].minute " + m + " not in 0..1439";
    const w = d[i].weekdays || 0;
    if (w < 0 || w > 127) return "doses[" + i + "].weekdays " + w + " not a 7-bit mask";
    for (let j = 0; j < i; j++) if ((d[j].minute || 0) === m && (d[j].weekdays || 0) === w) return "doses[" + i + "] repeats doses[" + j + "]";
  }
  return "";
}

// Small cache of dosesOnDay() for the schedule object last asked about (the dose cycle asks for the
// same few days many times per step; the DST arithmetic is slow on Espruino). Bounded: 8 days.
let cacheFor: Schedule | null = null;
let cacheDays: any = {};
let cacheN = 0;

/** Dose instants of local day `day` (days since epoch in Oslo wall time), ascending, unique. */
export function dosesOnDay(s: Schedule, day: number): number[] {
  if (cacheFor !== s || cacheN >= 8) {
    cacheFor = s;
    cacheDays = {};
    cacheN = 0;
  }
  const hit = cacheDays[day];
  if (hit) return hit;
  const list = computeDay(s, day);
  cacheDays[day] = list;
  cacheN++;
  return list;
}

function computeDay(s: Schedule, day: number): number[] {
  const bit = 1 << weekday(day);
  const out: number[] = [];
  for (let i = 0; i < s.doses.length; i++) {
    const w = s.doses[i].weekdays || 0;
    if (w !== 0 && (w & bit) === 0) continue;
    out.push(fromLocal(day, s.doses[i].minute || 0));
  }
  out.sort(function (a, b) {
    return a - b;
  });
  for (let k = 1; k < out.length; k++) if (out[k] <= out[k - 1]) out[k] = out[k - 1] + 60;
  return out;
}

/** The first dose instant strictly after `after`, or -1 when the schedule has no dose in 8 days. */
export function nextDose(s: Schedule, after: number): number {
  const d0 = localDay(after) - 1; // a dose on the previous local day can still lie after `after` (gap shift)
  for (let day = d0; day < d0 + 9; day++) {
    const list = dosesOnDay(s, day);
    for (let i = 0; i < list.length; i++) if (list[i] > after) return list[i];
  }
  return -1;
}

/** The n-th (1-based) dose instant strictly after `after`, or -1. Bounded by n (callers pass small n). */
export function nthDose(s: Schedule, after: number, n: number): number {
  let t = after;
  for (let i = 0; i < n; i++) {
    t = nextDose(s, t);
    if (t < 0) return -1;
  }
  return t;
}

/** The last dose instant strictly before `before`, or -1. */
export function prevDose(s: Schedule, before: number): number {
  const d0 = localDay(before) + 1;
  for (let day = d0; day > d0 - 9; day--) {
    const list = dosesOnDay(s, day);
    for (let i = list.length - 1; i >= 0; i--) if (list[i] < before) return list[i];
  }
  return -1;
}
