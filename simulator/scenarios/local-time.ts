// Oslo wall time for scenarios, from Node's Intl (the real tz database) — deliberately independent of
// the firmware's own DST arithmetic (firmware/dispenser/oslo-time.ts), so scenarios check it rather
// than repeat it. The documented rules for dose times (firmware/dispenser/schedule.ts) are applied
// here again: a wall time in the spring gap is due at the first instant after the gap; one in the
// autumn overlap at its first occurrence; a second dose landing on the same instant moves 60 s later.

const fmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Oslo", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  second: "2-digit", hourCycle: "h23",
});

/** "YYYY-MM-DD HH:MM:SS" in Oslo for Unix seconds t. */
export function osloStamp(t: number): string {
  const p: Record<string, string> = {};
  for (const x of fmt.formatToParts(new Date(t * 1000))) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** Unix seconds of an Oslo wall time "YYYY-MM-DD HH:MM[:SS]", with the gap/overlap rules above. */
export function osloToUnix(stamp: string): number {
  if (stamp.endsWith("Z")) return Date.parse(stamp) / 1000;
  const full = stamp.length === 16 ? stamp + ":00" : stamp;
  const wall = Date.parse(full.replace(" ", "T") + "Z") / 1000; // the wall time read as if it were UTC
  const hits = [wall - 7200, wall - 3600].filter((t) => osloStamp(t) === full);
  if (hits.length) return Math.min(...hits);
  // in the spring gap: the first instant whose wall time is past it
  for (let t = wall - 7200; t < wall; t += 60) if (osloStamp(t) > full) return t;
  throw new Error(`cannot place Oslo wall time ${stamp}`);
}

/** Weekday of a local date "YYYY-MM-DD": 0 = Monday .. 6 = Sunday. */
export function weekdayOf(date: string): number {
  return (new Date(date + "T12:00:00Z").getUTCDay() + 6) % 7;
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(date + "T12:00:00Z") + n * 86400_000).toISOString().slice(0, 10);
}

/** Dose instants of one local day for doses {minute, weekdays}, ascending and unique. */
export function dosesOn(date: string, doses: Array<{ minute: number; weekdays: number }>): number[] {
  const wd = weekdayOf(date);
  const out = doses
    .filter((d) => d.weekdays === 0 || (d.weekdays & (1 << wd)) !== 0)
    .map((d) => osloToUnix(`${date} ${String(Math.floor(d.minute / 60)).padStart(2, "0")}:${String(d.minute % 60).padStart(2, "0")}`))
    .sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) if (out[i] <= out[i - 1]) out[i] = out[i - 1] + 60;
  return out;
}

/** Minutes after local midnight in Norway (Europe/Oslo) of an instant in ms (a ScheduledDose.minute). */
export function osloMinute(ms: number): number {
  const [h, m] = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Oslo", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(ms).split(":").map(Number);
  return h * 60 + m;
}
