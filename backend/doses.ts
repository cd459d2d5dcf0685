// Doses per patient, read from the stored dose, supply and fault events of the patient's devices:
//  * timeline: scheduled time, taken (with its delay), missed, not collected, reminder, dispensed ahead
//    (travel), released (FAULT_DOSE_RELEASED: a missed dose fell into the tray), refill needed, refilled;
//  * adherence % per ISO week (Oslo time) = taken / (taken + missed + not collected), by scheduled time;
//  * the follow-up list: every missed or not-collected dose, open until a nurse records her follow-up.
import type { Queryable, Row } from "./db.ts";
import type { Patient, PatientRegistry } from "./patients.ts";
import { canSeePatient, type User } from "./auth.ts";
import { lookupEnum } from "./enums.ts";
import { isoWeek } from "./periods.ts";

const DOSE = lookupEnum("DoseEventKind");
const MODE = lookupEnum("DoseMode");
const FAULT = lookupEnum("FaultCode");
const KIND_NAME: Record<number, string> = {
  [DOSE.DOSE_TAKEN]: "taken", [DOSE.DOSE_MISSED]: "missed", [DOSE.DOSE_NOT_COLLECTED]: "not_collected",
  [DOSE.DOSE_REMINDER]: "reminder", [DOSE.DOSE_DISPENSED]: "dispensed",
};
const MODE_NAME: Record<number, string> = { [MODE.DOSE_MODE_NORMAL]: "normal", [MODE.DOSE_MODE_ASSISTED]: "assisted", [MODE.DOSE_MODE_TRAVEL]: "travel" };

export interface TimelineItem {
  eventId: string; device: number; time: number; scheduled: number | null; what: string; mode?: string;
  delayS?: number; slot?: number; remaining?: number; late: boolean;
  followup?: { by: string; at: number; note: string } | null;
}

function item(r: Row): TimelineItem | null {
  const env = JSON.parse(r.envelope);
  const base = { eventId: r.event_id, device: Number(r.device), time: Number(r.time), late: !!r.late };
  if (r.type === "dose") {
    const d = env.dose ?? {};
    return { ...base, scheduled: Number(r.scheduled) || null, what: KIND_NAME[d.kind ?? 0] ?? `kind ${d.kind}`, mode: MODE_NAME[d.mode ?? 0], delayS: d.delayS ?? 0, slot: d.slot ?? 0, remaining: d.remaining,
      followup: r.fu_by ? { by: r.fu_by, at: Number(r.fu_at), note: r.fu_note } : null };
  }
  if (r.type === "supply") return { ...base, scheduled: null, what: env.supply?.refilled ? "refilled" : "refill_needed", remaining: env.supply?.remaining };
  if (r.type === "fault" && env.fault?.code === FAULT.FAULT_DOSE_RELEASED) return { ...base, scheduled: null, what: env.fault.cleared ? "released_cleared" : "released", slot: env.fault.detail };
  return null;
}

const DOSE_ROWS = `SELECT e.*, f.by_user AS fu_by, f.at AS fu_at, f.note AS fu_note FROM events e LEFT JOIN followups f ON f.event_id = e.event_id`;

export async function timeline(q: Queryable, p: Patient, o: { sinceS?: number; limit?: number } = {}): Promise<TimelineItem[]> {
  if (p.devices.length === 0) return [];
  const marks = p.devices.map(() => "?").join(", ");
  const rows = await q.all(`${DOSE_ROWS} WHERE e.device IN (${marks}) AND e.type IN ('dose', 'supply', 'fault') AND e.time >= ? ORDER BY COALESCE(NULLIF(e.scheduled, 0), e.time) DESC LIMIT ?`, [
    ...p.devices, o.sinceS ?? 0, Math.min(o.limit ?? 500, 5000),
  ]);
  return rows.map(item).filter((x): x is TimelineItem => x !== null);
}

export interface WeekAdherence { week: string; taken: number; missed: number; notCollected: number; percent: number | null }

export function adherenceByWeek(items: TimelineItem[]): WeekAdherence[] {
  const w = new Map<string, WeekAdherence>();
  for (const i of items) {
    if (!["taken", "missed", "not_collected", "dispensed"].includes(i.what)) continue;
    if (i.what === "dispensed" && i.mode !== "travel") continue;
    const k = isoWeek(i.scheduled ?? i.time);
    const a = w.get(k) ?? { week: k, taken: 0, missed: 0, notCollected: 0, percent: null };
    w.set(k, a);
    if (i.what === "taken" || i.what === "dispensed") a.taken++;
    else if (i.what === "missed") a.missed++;
    else a.notCollected++;
  }
  for (const a of w.values()) {
    const n = a.taken + a.missed + a.notCollected;
    a.percent = n ? Math.round((1000 * a.taken) / n) / 10 : null;
  }
  return [...w.values()].sort((a, b) => a.week.localeCompare(b.week));
}

/** Missed and not-collected doses of the patients the user may see; open ones first. */
export async function followups(q: Queryable, u: User, patients: PatientRegistry, o: { limit?: number } = {}) {
  const rows = await q.all(`${DOSE_ROWS} WHERE e.type = 'dose' AND e.test = 0 ORDER BY e.time DESC LIMIT ?`, [Math.min(o.limit ?? 2000, 10000)]);
  const out = [];
  for (const r of rows) {
    const it = item(r);
    if (!it || (it.what !== "missed" && it.what !== "not_collected")) continue;
    const p = patients.byDevice.get(Number(r.device));
    if (!canSeePatient(u, p)) continue;
    out.push({ ...it, patient: p ? { id: p.id, name: p.name, team: p.team } : null });
  }
  out.sort((a, b) => Number(!!a.followup) - Number(!!b.followup) || b.time - a.time);
  return out;
}
