// The benefit report (gevinstrealisering), per ISO week or month (Oslo time):
//  * doses handed out without a visit = dose events TAKEN in normal mode (VKP 1.1 "dispensed,
//    unassisted"); assisted doses (VKP 1.2) had staff present and count as visits made;
//  * avoided visits = unassisted doses (one visit per dose otherwise), avoided hours = avoided visits ×
//    (minutes per visit + driving minutes per visit) / 60 — the municipality's own figures (settings);
//  * the alarm chain's response time = acknowledged (by the response centre) − pressed (device clock),
//    for real alarms (not tests, not cancelled): median, 90th percentile and share within the
//    municipality's limit.
// The assumptions travel with the figures (JSON `assumptions`, and columns in the CSV).
import type { Queryable } from "./db.ts";
import type { Settings } from "./settings.ts";
import { lookupEnum } from "./enums.ts";
import { bucket } from "./periods.ts";

const DOSE = lookupEnum("DoseEventKind");
const MODE = lookupEnum("DoseMode");

export interface ReportRow {
  period: string;
  unassistedDoses: number;
  assistedDoses: number;
  missedDoses: number;
  avoidedVisits: number;
  avoidedHours: number;
  alarms: number;
  acknowledged: number;
  responseMedianS: number | null;
  responseP90S: number | null;
  withinLimitPct: number | null;
}

function quantile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export async function benefitReport(q: Queryable, s: Settings, o: { period: "week" | "month"; fromS: number; toS: number; devices?: number[] }) {
  const rows = new Map<string, ReportRow & { times: number[] }>();
  const row = (k: string) => {
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { period: k, unassistedDoses: 0, assistedDoses: 0, missedDoses: 0, avoidedVisits: 0, avoidedHours: 0, alarms: 0, acknowledged: 0, responseMedianS: null, responseP90S: null, withinLimitPct: null, times: [] }));
    return r;
  };
  const doses = await q.all(`SELECT time, scheduled, envelope FROM events WHERE type = 'dose' AND test = 0 AND time >= ? AND time < ?`, [o.fromS, o.toS]);
  for (const d of doses) {
    const dose = JSON.parse(d.envelope).dose ?? {};
    const r = row(bucket(o.period, Number(d.scheduled) || Number(d.time)));
    const kind = dose.kind ?? 0;
    const mode = dose.mode ?? 0;
    if (kind === DOSE.DOSE_TAKEN && mode === MODE.DOSE_MODE_NORMAL) r.unassistedDoses++;
    else if (kind === DOSE.DOSE_TAKEN && mode === MODE.DOSE_MODE_ASSISTED) r.assistedDoses++;
    else if (kind === DOSE.DOSE_MISSED || kind === DOSE.DOSE_NOT_COLLECTED) r.missedDoses++;
  }
  const alarms = await q.all(`SELECT pressed_at, ack_at FROM alarms WHERE category = 'alarm' AND cancelled = 0 AND pressed_at >= ? AND pressed_at < ?`, [o.fromS, o.toS]);
  for (const a of alarms) {
    const r = row(bucket(o.period, Number(a.pressed_at)));
    r.alarms++;
    if (a.ack_at) {
      r.acknowledged++;
      r.times.push(Math.max(0, Math.round(Number(a.ack_at) / 1000 - Number(a.pressed_at))));
    }
  }
  const perVisit = s.minutesPerVisit + s.drivingMinutesPerVisit;
  const out: ReportRow[] = [...rows.values()].sort((a, b) => a.period.localeCompare(b.period)).map(({ times, ...r }) => {
    times.sort((a, b) => a - b);
    r.avoidedVisits = r.unassistedDoses;
    r.avoidedHours = Math.round((r.avoidedVisits * perVisit) / 6) / 10;
    r.responseMedianS = quantile(times, 0.5);
    r.responseP90S = quantile(times, 0.9);
    r.withinLimitPct = times.length ? Math.round((1000 * times.filter((t) => t <= s.responseLimitMin * 60).length) / times.length) / 10 : null;
    return r;
  });
  const totals = out.reduce((t, r) => ({ unassistedDoses: t.unassistedDoses + r.unassistedDoses, avoidedVisits: t.avoidedVisits + r.avoidedVisits, avoidedHours: Math.round((t.avoidedHours + r.avoidedHours) * 10) / 10, alarms: t.alarms + r.alarms }), { unassistedDoses: 0, avoidedVisits: 0, avoidedHours: 0, alarms: 0 });
  return {
    period: o.period, fromS: o.fromS, toS: o.toS, rows: out, totals,
    assumptions: { minutesPerVisit: s.minutesPerVisit, drivingMinutesPerVisit: s.drivingMinutesPerVisit, responseLimitMin: s.responseLimitMin,
      avoidedVisit: "one home-care visit per dose handed out unassisted (VKP 1.1)", responseTime: "acknowledged by the response centre − pressed on the device (real alarms, not tests or cancels)" },
  };
}

const CSV_COLS: Array<keyof ReportRow> = ["period", "unassistedDoses", "assistedDoses", "missedDoses", "avoidedVisits", "avoidedHours", "alarms", "acknowledged", "responseMedianS", "responseP90S", "withinLimitPct"];

/** RFC 4180 CSV; a cell starting with = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
export function reportCsv(r: Awaited<ReturnType<typeof benefitReport>>): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@]/.test(s)) s = "'" + s;
    return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const head = [...CSV_COLS, "minutesPerVisit", "drivingMinutesPerVisit", "responseLimitMin"];
  const lines = [head.join(",")];
  for (const row of r.rows) lines.push([...CSV_COLS.map((c) => row[c]), r.assumptions.minutesPerVisit, r.assumptions.drivingMinutesPerVisit, r.assumptions.responseLimitMin].map(cell).join(","));
  return lines.join("\r\n") + "\r\n";
}
