// The device list, worst state first: lost (no contact) → active faults → battery low → outbox backlog
// or refill needed → fine; within a state, the longest silent first. Active faults are the fault codes
// whose newest fault event is not "cleared"; the lost/back history comes from the stored events.
import type { Queryable } from "./db.ts";
import type { PatientRegistry } from "./patients.ts";
import { canSeePatient, type User } from "./auth.ts";
import { enumName } from "./enums.ts";

export const STATES = ["lost", "fault", "battery", "backlog", "ok"] as const;

export async function listDevices(q: Queryable, u: User, patients: PatientRegistry, nowS: number) {
  const rows = (await q.all(`SELECT * FROM devices`)).filter((r) => canSeePatient(u, patients.byDevice.get(Number(r.device))));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.device));
  const marks = ids.map(() => "?").join(", ");
  const faults = await q.all(`SELECT device, time, envelope FROM events WHERE type = 'fault' AND device IN (${marks}) ORDER BY time, stored_at`, ids);
  const active = new Map<number, Map<number, number>>();
  for (const f of faults) {
    const e = JSON.parse(f.envelope).fault ?? {};
    const m = active.get(Number(f.device)) ?? new Map<number, number>();
    active.set(Number(f.device), m);
    if (e.cleared) m.delete(e.code ?? 0);
    else m.set(e.code ?? 0, Number(f.time));
  }
  const hist = await q.all(`SELECT device, type, time, received FROM events WHERE type IN ('device_lost', 'device_back') AND device IN (${marks}) ORDER BY time DESC`, ids);
  const out = rows.map((r) => {
    const dev = Number(r.device);
    const p = patients.byDevice.get(dev);
    const f = [...(active.get(dev) ?? new Map()).entries()].map(([code, since]) => ({ code, name: enumName("FaultCode", code), since }));
    // a mains-powered dispenser without a backup battery reports 0 %: not a low battery
    const batteryLow = !!r.battery_low || (r.battery_pct !== null && r.battery_pct < 20 && r.mains !== 1);
    const state = r.online === 0 ? "lost" : f.length ? "fault" : batteryLow ? "battery" : r.outbox_depth > 0 || r.refill_needed ? "backlog" : "ok";
    return {
      device: dev, gateway: r.gateway, kind: r.kind === 1 ? "alarm" : r.kind === 2 ? "dispenser" : "unknown", label: r.label,
      online: r.online === null ? null : !!r.online, reason: r.availability_reason, lastSeen: Number(r.last_seen), silentS: r.last_seen ? Math.max(0, nowS - Number(r.last_seen)) : null,
      firmware: r.firmware, board: r.board, batteryPct: r.battery_pct, batteryDays: r.battery_days, batteryLow, mains: r.mains === null ? null : !!r.mains,
      outboxDepth: r.outbox_depth, remaining: r.remaining, refillNeeded: !!r.refill_needed, heartbeatS: r.heartbeat_s, scheduleVersion: r.schedule_version,
      faults: f, state, patient: p ? { id: p.id, name: p.name, team: p.team } : null,
      history: hist.filter((h) => Number(h.device) === dev).slice(0, 10).map((h) => ({ what: h.type === "device_lost" ? "lost" : "back", time: Number(h.time) })),
    };
  });
  out.sort((a, b) => STATES.indexOf(a.state as any) - STATES.indexOf(b.state as any) || a.lastSeen - b.lastSeen || a.device - b.device);
  return out;
}
