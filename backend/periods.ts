// Calendar buckets in Norway's time zone (Europe/Oslo, via Intl's time-zone data): ISO weeks
// ("2026-W07", Monday first, week 1 holds the year's first Thursday) and months ("2026-02").
const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Oslo", year: "numeric", month: "2-digit", day: "2-digit" });

/** Local calendar date in Oslo of a Unix-seconds time. */
export function osloDate(unixS: number): { y: number; m: number; d: number } {
  const [y, m, d] = fmt.format(new Date(unixS * 1000)).split("-").map(Number);
  return { y, m, d };
}

export function isoWeek(unixS: number): string {
  const { y, m, d } = osloDate(unixS);
  const date = new Date(Date.UTC(y, m - 1, d));
  const dow = (date.getUTCDay() + 6) % 7; // Monday 0
  date.setUTCDate(date.getUTCDate() - dow + 3); // the Thursday of this week decides the year
  const wy = date.getUTCFullYear();
  const week = 1 + Math.floor((date.getTime() - Date.UTC(wy, 0, 1)) / 86400000 / 7);
  return `${wy}-W${String(week).padStart(2, "0")}`;
}

export function month(unixS: number): string {
  const { y, m } = osloDate(unixS);
  return `${y}-${String(m).padStart(2, "0")}`;
}

export function bucket(period: "week" | "month", unixS: number): string {
  return period === "week" ? isoWeek(unixS) : month(unixS);
}
