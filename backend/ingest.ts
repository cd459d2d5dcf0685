// Store-then-ack, the storing half: a batch of BackendEvents goes into the database in ONE transaction.
// Each event is inserted with ON CONFLICT DO NOTHING on its event_id, so an event that arrives twice
// (QoS 1 redelivery, a gateway republishing after a lost ack, two instances of a shared subscription)
// is stored once; what is derived from it (an alarm in the queue, the device's state) is written in the
// same transaction and only when the insert really added the row. The caller acks the batch's event
// ids (new and duplicate alike: our earlier ack may have been lost) only after this resolves.
import type { Queryable } from "./db.ts";
import type { BackendEvent, DeviceAvailability, GatewayState } from "../gateway/mqtt/topics.ts";
import { lookupEnum } from "./enums.ts";

// protocol/varde.proto enum values used below, looked up by name (never re-numbered here)
const FAULT = lookupEnum("FaultCode");
const DOSE = lookupEnum("DoseEventKind");

/** Faults that put a technical alarm in the response centre's queue (the others show on the device list). */
const TECHNICAL_ALARM_FAULTS = new Set([FAULT.FAULT_FORCED_OPENING, FAULT.FAULT_MOTOR_JAM, FAULT.FAULT_DOSE_RELEASED, FAULT.FAULT_ACK_TIMEOUT]);

export const PRIORITY = { alarm: 1, technical: 2, test: 3 } as const;

export interface IngestResult {
  /** event ids inserted now */
  stored: string[];
  /** event ids that were already stored */
  duplicates: string[];
  /** something in the alarm queue changed */
  alarmsChanged: boolean;
  devicesChanged: boolean;
  dosesChanged: boolean;
}

/** Rejects an event that cannot be stored, with what is wrong (the event is then not acked). */
export function validateEvent(ev: Partial<BackendEvent>): string | null {
  if (!ev.eventId || typeof ev.eventId !== "string") return "no event_id";
  if (ev.eventId.length > 80) return `event_id ${ev.eventId.slice(0, 80)}… is longer than 80 characters`;
  if (!ev.gateway || /[/+#]/.test(ev.gateway)) return `event ${ev.eventId}: no valid gateway`;
  if (!Number.isInteger(ev.device) || (ev.device as number) <= 0) return `event ${ev.eventId}: no device id`;
  if (!ev.type) return `event ${ev.eventId}: no type`;
  return null;
}

export async function storeEvents(q: Queryable, events: BackendEvent[], instance: string, nowMs: number): Promise<IngestResult> {
  const res: IngestResult = { stored: [], duplicates: [], alarmsChanged: false, devicesChanged: false, dosesChanged: false };
  const seen = new Set<string>();
  for (const ev of events) {
    if (seen.has(ev.eventId)) {
      res.duplicates.push(ev.eventId);
      continue;
    }
    seen.add(ev.eventId);
    const env = ev.envelope ?? {};
    const ins = await q.all(
      `INSERT INTO events (event_id, gateway, device, kind, type, time, received, stored_at, late, historical, test, scheduled, label, codes, envelope, instance)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [ev.eventId, ev.gateway, ev.device, ev.kind ?? 0, ev.type, ev.time ?? 0, ev.received ?? 0, nowMs, ev.late ? 1 : 0, ev.historical ? 1 : 0, ev.test ? 1 : 0,
        ev.scheduled ?? 0, ev.label ?? "", JSON.stringify(ev.codes ?? []), JSON.stringify(env), instance],
    );
    if (ins.length === 0) {
      res.duplicates.push(ev.eventId);
      continue;
    }
    res.stored.push(ev.eventId);
    await upsertDevice(q, ev, nowMs);
    res.devicesChanged = true;
    if (await deriveAlarm(q, ev, env, nowMs)) res.alarmsChanged = true;
    await deriveDeviceState(q, ev, env, nowMs);
    if (ev.type === "dose" || ev.type === "supply") res.dosesChanged = true;
  }
  return res;
}

async function upsertDevice(q: Queryable, ev: BackendEvent, nowMs: number): Promise<void> {
  await q.run(
    `INSERT INTO devices (device, gateway, kind, label, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (device) DO UPDATE SET gateway = excluded.gateway, kind = CASE WHEN excluded.kind <> 0 THEN excluded.kind ELSE devices.kind END,
       label = CASE WHEN excluded.label <> '' THEN excluded.label ELSE devices.label END,
       last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen ELSE devices.last_seen END, updated_at = excluded.updated_at`,
    [ev.device, ev.gateway, ev.kind ?? 0, ev.label ?? "", ev.type === "device_lost" ? 0 : ev.received ?? 0, nowMs],
  );
}

/** The alarm queue entry an event raises, if any. Returns whether the queue changed. */
async function deriveAlarm(q: Queryable, ev: BackendEvent, env: any, nowMs: number): Promise<boolean> {
  const seq = Number(env.seq ?? 0);
  const boot = Number(env.boot ?? 0);
  if (ev.type === "alarm") {
    const a = env.alarm ?? {};
    if (a.cancel) {
      // the wearer cancelled alarm `alarm_seq` (a press by mistake): marked, kept in the queue for the record
      const r = await q.run(`UPDATE alarms SET cancelled = 1, cancelled_at = ? WHERE device = ? AND seq = ? AND boot = ? AND cancelled = 0`, [ev.time, ev.device, a.alarmSeq ?? 0, boot]);
      return r.changes > 0;
    }
    const test = !!(ev.test || a.test);
    const category = test ? "test" : "alarm";
    await q.run(
      `INSERT INTO alarms (event_id, category, priority, gateway, device, seq, boot, title, pressed_at, received_at, stored_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')`,
      [ev.eventId, category, PRIORITY[category], ev.gateway, ev.device, seq, boot, a.hold ? "alarm_hold" : "alarm", ev.time, ev.received, nowMs],
    );
    // its cancel may have been stored first (another instance, or a replay in another order)
    const cancels = await q.all(`SELECT time, envelope FROM events WHERE device = ? AND type = 'alarm' AND time >= ?`, [ev.device, ev.time]);
    const cancel = cancels.find((c) => {
      const e = JSON.parse(c.envelope);
      return e.alarm?.cancel && Number(e.alarm.alarmSeq) === seq && Number(e.boot) === boot;
    });
    if (cancel) await q.run(`UPDATE alarms SET cancelled = 1, cancelled_at = ? WHERE event_id = ?`, [cancel.time, ev.eventId]);
    return true;
  }
  let title = "";
  if (ev.type === "device_lost") title = "device_lost";
  if (ev.type === "fault" && env.fault && !env.fault.cleared && TECHNICAL_ALARM_FAULTS.has(env.fault.code ?? 0)) title = `fault:${env.fault.code}`;
  if (!title) return false;
  await q.run(
    `INSERT INTO alarms (event_id, category, priority, gateway, device, seq, boot, title, pressed_at, received_at, stored_at, state) VALUES (?, 'technical', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')`,
    [ev.eventId, PRIORITY.technical, ev.gateway, ev.device, seq, boot, title, ev.time, ev.received, nowMs],
  );
  return true;
}

async function deriveDeviceState(q: Queryable, ev: BackendEvent, env: any, nowMs: number): Promise<void> {
  const t = ev.time ?? 0;
  // newer telemetry wins, whichever instance stores it first
  const guard = `WHERE device = ? AND telemetry_time <= ?`;
  switch (ev.type) {
    case "heartbeat": {
      const h = env.heartbeat ?? {};
      await q.run(`UPDATE devices SET battery_pct = ?, outbox_depth = ?, mains = ?, heartbeat_s = ?, telemetry_time = ?, updated_at = ? ${guard}`,
        [h.batteryPct ?? null, h.outboxDepth ?? 0, h.mains ? 1 : 0, h.intervalS || null, t, nowMs, ev.device, t]);
      break;
    }
    case "battery": {
      const b = env.battery ?? {};
      await q.run(`UPDATE devices SET battery_pct = ?, battery_days = ?, battery_low = ?, telemetry_time = ?, updated_at = ? ${guard}`,
        [b.percent ?? null, b.daysLeft || null, b.low ? 1 : 0, t, nowMs, ev.device, t]);
      break;
    }
    case "status": {
      const s = env.status ?? {};
      await q.run(`UPDATE devices SET firmware = ?, board = ?, battery_pct = ?, outbox_depth = ?, mains = ?, schedule_version = ?, telemetry_time = ?, updated_at = ? ${guard}`,
        [s.firmware ?? "", s.board ?? "", s.batteryPct ?? null, s.outboxDepth ?? 0, s.mains ? 1 : 0, s.scheduleVersion ?? 0, t, nowMs, ev.device, t]);
      break;
    }
    case "supply": {
      const s = env.supply ?? {};
      await q.run(`UPDATE devices SET remaining = ?, refill_needed = ?, updated_at = ? WHERE device = ?`, [s.remaining ?? null, s.refilled ? 0 : 1, nowMs, ev.device]);
      break;
    }
    case "dose": {
      const d = env.dose ?? {};
      if ((d.kind ?? 0) === DOSE.DOSE_TAKEN || (d.kind ?? 0) === DOSE.DOSE_DISPENSED) await q.run(`UPDATE devices SET remaining = ?, updated_at = ? WHERE device = ?`, [d.remaining ?? null, nowMs, ev.device]);
      break;
    }
    case "schedule_ack": {
      const a = env.scheduleAck ?? {};
      if (a.ok) await q.run(`UPDATE devices SET schedule_version = ?, updated_at = ? WHERE device = ? AND schedule_version < ?`, [a.version ?? 0, nowMs, ev.device, a.version ?? 0]);
      break;
    }
    case "device_lost":
      await q.run(`UPDATE devices SET online = 0, availability_reason = 'heartbeat_missed', updated_at = ? WHERE device = ?`, [nowMs, ev.device]);
      break;
    case "device_back":
      await q.run(`UPDATE devices SET online = 1, availability_reason = 'session', updated_at = ? WHERE device = ?`, [nowMs, ev.device]);
      break;
  }
}

/** Retained availability (every instance receives it; applying it twice is harmless). */
export async function applyAvailability(q: Queryable, gateway: string, device: number, a: DeviceAvailability, nowMs: number): Promise<void> {
  await q.run(
    `INSERT INTO devices (device, gateway, online, availability_reason, last_seen, firmware, board, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (device) DO UPDATE SET gateway = excluded.gateway, online = excluded.online, availability_reason = excluded.availability_reason,
       last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen ELSE devices.last_seen END,
       firmware = CASE WHEN excluded.firmware <> '' THEN excluded.firmware ELSE devices.firmware END,
       board = CASE WHEN excluded.board <> '' THEN excluded.board ELSE devices.board END, updated_at = excluded.updated_at`,
    [device, gateway, a.online ? 1 : 0, a.reason ?? "", a.lastSeen || a.time || 0, a.firmware ?? "", a.board ?? "", nowMs],
  );
}

/** Retained gateway birth / will: a will older than the latest birth (lower bd_seq) is ignored. */
export async function applyGatewayState(q: Queryable, gateway: string, s: GatewayState, nowMs: number): Promise<void> {
  await q.run(
    `INSERT INTO gateways (gateway, online, bd_seq, version, devices_online, outbox_depth, outbox_full, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (gateway) DO UPDATE SET online = excluded.online, bd_seq = excluded.bd_seq, version = excluded.version, devices_online = excluded.devices_online,
       outbox_depth = excluded.outbox_depth, outbox_full = excluded.outbox_full, updated_at = excluded.updated_at
     WHERE excluded.bd_seq >= gateways.bd_seq`,
    [gateway, s.online ? 1 : 0, Number(s.bdSeq ?? 0), s.version ?? "", s.devicesOnline ?? 0, s.outboxDepth ?? 0, s.outboxFull ? 1 : 0, nowMs],
  );
}
