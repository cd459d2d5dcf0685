// Europe/Oslo local time without a time-zone database (Espruino has none, and no Date.UTC).
// Rule (EU, since 1996): CET = UTC+1; CEST = UTC+2 from the last Sunday of March 01:00 UTC
// to the last Sunday of October 01:00 UTC. Norway has followed it since 1980 in this form; the
// firmware only needs years from now on. Every function works on Unix seconds and integer
// "day numbers" (days since 1970-01-01), with civil-calendar arithmetic from H. Hinnant's
// days_from_civil / civil_from_days (proleptic Gregorian), so no Date object is needed.
// Espruino subset: no destructuring, no **, no Math.trunc.

export const HOUR = 3600;
export const DAY = 86400;
const CET = HOUR;
const CEST = 2 * HOUR;

/** Floor division that is right for negative numbers too (Math.trunc is missing on Espruino). */
function fdiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = fdiv(yy, 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12; // March = 0
  const doy = fdiv(153 * mp + 2, 5) + d - 1;
  const doe = yoe * 365 + fdiv(yoe, 4) - fdiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day number, as [year, month 1..12, day 1..31]. */
export function civilFromDays(days: number): number[] {
  const z = days + 719468;
  const era = fdiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = fdiv(doe - fdiv(doe, 1460) + fdiv(doe, 36524) - fdiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + fdiv(yoe, 4) - fdiv(yoe, 100));
  const mp = fdiv(5 * doy + 2, 153);
  const d = doy - fdiv(153 * mp + 2, 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d];
}

/** Weekday of a day number: 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday). */
export function weekday(days: number): number {
  return (((days + 3) % 7) + 7) % 7;
}

/** Day number of the last Sunday of month m (1..12) in year y. */
export function lastSunday(y: number, m: number): number {
  const last = m === 12 ? daysFromCivil(y + 1, 1, 1) - 1 : daysFromCivil(y, m + 1, 1) - 1;
  return last - ((weekday(last) + 1) % 7);
}

/** Unix seconds when summer time starts in year y (last Sunday of March, 01:00 UTC). */
export function dstStart(y: number): number {
  return lastSunday(y, 3) * DAY + HOUR;
}

/** Unix seconds when summer time ends in year y (last Sunday of October, 01:00 UTC). */
export function dstEnd(y: number): number {
  return lastSunday(y, 10) * DAY + HOUR;
}

/** Year (UTC) of a Unix time. */
export function utcYear(t: number): number {
  return civilFromDays(fdiv(t, DAY))[0];
}

// One-year cache of the DST boundaries: the firmware asks for offsets many times per step, and the
// calendar arithmetic is slow on Espruino. [cFrom, cTo) is the UTC year the boundaries belong to.
let cFrom = 1;
let cTo = 0;
let cStart = 0;
let cEnd = 0;

/** Offset of Oslo local time from UTC at instant t, in seconds (3600 or 7200). */
export function osloOffset(t: number): number {
  if (t < cFrom || t >= cTo) {
    const y = utcYear(t);
    cFrom = daysFromCivil(y, 1, 1) * DAY;
    cTo = daysFromCivil(y + 1, 1, 1) * DAY;
    cStart = dstStart(y);
    cEnd = dstEnd(y);
  }
  return t >= cStart && t < cEnd ? CEST : CET;
}

/** Local Oslo wall-clock seconds since 1970-01-01 00:00 local, for instant t. */
export function toLocal(t: number): number {
  return t + osloOffset(t);
}

/** Local day number (days since 1970-01-01 in Oslo wall time) of instant t. */
export function localDay(t: number): number {
  return fdiv(toLocal(t), DAY);
}

/** Minutes after local midnight (0..1439) of instant t. */
export function localMinute(t: number): number {
  const l = toLocal(t);
  return fdiv(l - fdiv(l, DAY) * DAY, 60);
}

/**
 * The instant of local wall time `minute` (0..1439) on local day `day`, with a defined answer for
 * times that do not exist or occur twice:
 *  - spring gap (02:00..02:59 on the last Sunday of March does not exist): the first instant after
 *    the gap, 03:00 CEST (= the DST start instant, 01:00 UTC);
 *  - autumn overlap (02:00..02:59 on the last Sunday of October occurs twice): the FIRST occurrence
 *    (still in CEST).
 */
export function fromLocal(day: number, minute: number): number {
  const wall = day * DAY + minute * 60;
  const summer = wall - CEST;
  if (osloOffset(summer) === CEST) return summer; // also the first occurrence in the overlap
  const winter = wall - CET;
  if (osloOffset(winter) === CET) return winter;
  // Neither reading is valid: the wall time lies in the spring gap.
  return dstStart(civilFromDays(day)[0]);
}

/** "YYYY-MM-DD HH:MM" in Oslo local time, for logs and test messages. */
export function formatLocal(t: number): string {
  const l = toLocal(t);
  const d = civilFromDays(fdiv(l, DAY));
  const min = localMinute(t);
  function p2(n: number): string {
    return n < 10 ? "0" + n : "" + n;
  }
  return d[0] + "-" + p2(d[1]) + "-" + p2(d[2]) + " " + p2(fdiv(min, 60)) + ":" + p2(min % 60);
}
