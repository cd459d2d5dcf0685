// The alarm queue: list (highest priority first, then oldest), claim, acknowledge (the ack-alarm command
// through the contract: the wearer's button turns green), close with a note, and escalation of alarms
// nobody claimed in time (shown, and POSTed to the municipality's webhook). Every step is audited.
// State: open → claimed → acknowledged → closed (a technical alarm has no device acknowledgement:
// open → claimed → closed). Each step is a conditional UPDATE, so two people (or two instances)
// cannot both claim one alarm.
import type { Db, Queryable, Row } from "./db.ts";
import type { PatientRegistry } from "./patients.ts";
import { canSeePatient, type User } from "./auth.ts";
import { appendAudit } from "./audit.ts";
import type { Contract } from "./contract.ts";
import type { Settings } from "./settings.ts";
import { ApiError as HttpError } from "./http.ts";


export function alarmView(r: Row, patients: PatientRegistry) {
  const p = patients.byDevice.get(Number(r.device));
  return {
    id: Number(r.id), eventId: r.event_id, category: r.category, priority: r.priority, title: r.title,
    gateway: r.gateway, device: Number(r.device), label: r.label ?? "", seq: Number(r.seq),
    pressedAt: r.pressed_at, receivedAt: r.received_at, storedAt: r.stored_at, state: r.state,
    cancelled: !!r.cancelled, cancelledAt: r.cancelled_at, claimedBy: r.claimed_by, claimedAt: r.claimed_at,
    ackBy: r.ack_by, ackAt: r.ack_at, ackDeliveredAt: r.ack_delivered_at, ackCommandState: r.ack_state ?? null,
    closedBy: r.closed_by, closedAt: r.closed_at, note: r.note, escalatedAt: r.escalated_at, escalationResult: r.escalation_result,
    patient: p ? { id: p.id, name: p.name, team: p.team } : null,
  };
}

const SELECT = `SELECT a.*, d.label, c.state AS ack_state FROM alarms a LEFT JOIN devices d ON d.device = a.device LEFT JOIN commands c ON c.correlation_id = a.ack_correlation`;

export async function listAlarms(q: Queryable, u: User, patients: PatientRegistry, o: { open?: boolean; limit?: number } = {}) {
  const rows = await q.all(
    `${SELECT} ${o.open ? "WHERE a.state <> 'closed'" : ""} ORDER BY ${o.open ? "a.priority, a.stored_at" : "a.stored_at DESC"} LIMIT ?`,
    [Math.min(Math.max(o.limit ?? 500, 1), 2000)],
  );
  return rows.filter((r) => canSeePatient(u, patients.byDevice.get(Number(r.device)))).map((r) => alarmView(r, patients));
}

async function load(q: Queryable, id: number, u: User, patients: PatientRegistry): Promise<Row> {
  const r = await q.get(`${SELECT} WHERE a.id = ?`, [id]);
  if (!r || !canSeePatient(u, patients.byDevice.get(Number(r.device)))) throw new HttpError(404, `alarm ${id} not found`);
  return r;
}

export class Alarms {
  constructor(private readonly db: Db, private readonly patients: () => PatientRegistry, private readonly contract: Contract, private readonly now: () => number) {}

  async claim(id: number, u: User) {
    const pid = this.patients().byDevice.get(Number((await load(this.db, id, u, this.patients())).device))?.id;
    const now = this.now();
    await this.db.tx(async (q) => {
      const r = await q.run(`UPDATE alarms SET state = 'claimed', claimed_by = ?, claimed_at = ? WHERE id = ? AND state = 'open'`, [u.username, now, id]);
      if (r.changes === 0) {
        const cur = await q.get(`SELECT state, claimed_by FROM alarms WHERE id = ?`, [id]);
        throw new HttpError(409, `alarm ${id} is already ${cur?.state}${cur?.claimed_by ? ` (claimed by ${cur.claimed_by})` : ""}`);
      }
      await appendAudit(q, { at: now, actor: u.username, role: u.role, action: "alarm.claim", target: `alarm:${id}`, patientId: pid });
    });
  }

  /** Sends ack-alarm to the device through its gateway; claims the alarm first when it was open. */
  async acknowledge(id: number, u: User) {
    const reg = this.patients();
    const a = await load(this.db, id, u, reg);
    const pid = reg.byDevice.get(Number(a.device))?.id;
    if (a.category === "technical") throw new HttpError(400, `alarm ${id} is a technical alarm (${a.title}); there is no button to acknowledge: claim and close it with a note`);
    if (a.state === "acknowledged" || a.state === "closed") throw new HttpError(409, `alarm ${id} is already ${a.state}`);
    if (a.state === "claimed" && a.claimed_by !== u.username) throw new HttpError(409, `alarm ${id} is claimed by ${a.claimed_by}; only they can acknowledge it`);
    const now = this.now();
    const corr = await this.contract.sendCommand({
      gateway: a.gateway, device: Number(a.device), command: "ack-alarm", by: u.username, alarmId: id,
      request: { alarmSeq: Number(a.seq), responder: (u.name || u.username).slice(0, 16) },
    });
    await this.db.tx(async (q) => {
      const r = await q.run(
        `UPDATE alarms SET state = 'acknowledged', claimed_by = COALESCE(claimed_by, ?), claimed_at = COALESCE(claimed_at, ?), ack_by = ?, ack_at = ?, ack_correlation = ? WHERE id = ? AND state IN ('open', 'claimed')`,
        [u.username, now, u.username, now, corr, id],
      );
      if (r.changes === 0) throw new HttpError(409, `alarm ${id} changed meanwhile; reload`);
      await appendAudit(q, { at: now, actor: u.username, role: u.role, action: "alarm.acknowledge", target: `alarm:${id}`, patientId: pid, detail: { correlationId: corr, device: Number(a.device), alarmSeq: Number(a.seq) } });
    });
    return corr;
  }

  async close(id: number, u: User, note: unknown) {
    if (typeof note !== "string" || note.trim() === "") throw new HttpError(400, "a note is required to close an alarm (what happened, what was done)");
    if (note.length > 2000) throw new HttpError(400, `the note is ${note.length} characters; at most 2000`);
    const reg = this.patients();
    const a = await load(this.db, id, u, reg);
    const pid = reg.byDevice.get(Number(a.device))?.id;
    if (a.state === "closed") throw new HttpError(409, `alarm ${id} is already closed`);
    const now = this.now();
    await this.db.tx(async (q) => {
      const r = await q.run(`UPDATE alarms SET state = 'closed', closed_by = ?, closed_at = ?, note = ?, claimed_by = COALESCE(claimed_by, ?), claimed_at = COALESCE(claimed_at, ?) WHERE id = ? AND state <> 'closed'`, [
        u.username, now, note, u.username, now, id,
      ]);
      if (r.changes === 0) throw new HttpError(409, `alarm ${id} is already closed`);
      await appendAudit(q, { at: now, actor: u.username, role: u.role, action: "alarm.close", target: `alarm:${id}`, patientId: pid, detail: { note } });
    });
  }

  /**
   * Escalates every real alarm still open (unclaimed, not cancelled) after settings.escalationAfterS:
   * marked (once: a conditional UPDATE, so one instance does it), audited, POSTed to the webhook.
   * Returns the ids escalated now.
   */
  async escalate(settings: Settings, post: (url: string, body: unknown) => Promise<string> = postJson): Promise<number[]> {
    const now = this.now();
    const due = await this.db.all(`SELECT * FROM alarms WHERE state = 'open' AND cancelled = 0 AND category <> 'test' AND escalated_at IS NULL AND stored_at <= ?`, [now - settings.escalationAfterS * 1000]);
    const done: number[] = [];
    for (const a of due) {
      const r = await this.db.run(`UPDATE alarms SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND state = 'open'`, [now, a.id]);
      if (r.changes === 0) continue; // another instance took it
      const p = this.patients().byDevice.get(Number(a.device));
      let result = "no webhook configured";
      if (settings.escalationWebhook) {
        result = await post(settings.escalationWebhook, {
          type: "varde.alarm.escalated", alarmId: Number(a.id), eventId: a.event_id, category: a.category, title: a.title, device: Number(a.device), gateway: a.gateway,
          patientId: p?.id ?? null, pressedAt: Number(a.pressed_at), receivedAt: Number(a.received_at), unclaimedForS: Math.round((now - Number(a.stored_at)) / 1000), escalatedAt: now,
        });
      }
      await this.db.run(`UPDATE alarms SET escalation_result = ? WHERE id = ?`, [result, a.id]);
      await appendAudit(this.db, { at: now, actor: "system", role: "system", action: "alarm.escalate", target: `alarm:${a.id}`, patientId: p?.id, detail: { afterS: settings.escalationAfterS, webhook: settings.escalationWebhook || null, result } });
      done.push(Number(a.id));
    }
    return done;
  }
}

/** POSTs JSON; resolves to a short result text (never throws: an escalation is recorded either way). */
export async function postJson(url: string, body: unknown): Promise<string> {
  try {
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    return `webhook answered ${r.status}`;
  } catch (e) {
    return `webhook failed: ${(e as Error).message}`;
  }
}
