// The append-only audit log: every acknowledgement, note, claim, escalation, configuration change,
// login and view of a patient's data. The table refuses UPDATE and DELETE (a trigger, backend/schema.ts),
// so an entry once written stays as written.
import type { Queryable } from "./db.ts";

export interface AuditEntry {
  at: number;
  actor: string;
  role: string;
  action: string;
  target: string;
  patientId?: string | null;
  detail?: Record<string, unknown>;
}

export async function appendAudit(q: Queryable, e: AuditEntry): Promise<void> {
  await q.run(`INSERT INTO audit (at, actor, role, action, target, patient_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    e.at, e.actor, e.role, e.action, e.target, e.patientId ?? null, JSON.stringify(e.detail ?? {}),
  ]);
}

export async function listAudit(q: Queryable, o: { limit?: number; before?: number; patientId?: string } = {}): Promise<any[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (o.before) (where.push("id < ?"), params.push(o.before));
  if (o.patientId) (where.push("patient_id = ?"), params.push(o.patientId));
  params.push(Math.min(Math.max(o.limit ?? 200, 1), 1000));
  const rows = await q.all(`SELECT * FROM audit ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`, params);
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
}
