// The exporter's durable queue (SQLite, WAL, synchronous = FULL): an event is in it before the MQTT
// broker gets our PUBACK, and stays until the patient record has accepted or rejected it, so a crash or
// kill -9 at any point loses nothing. One row per event id (the contract's dedup key): an event that
// arrives again (QoS 1 redelivery, a replayed file) is ignored.
//
// Status of a row, as an operator sees it (`varde fhir status`):
//   held      cannot be built yet (e.g. the device has no patient in the registry); rebuilt at start
//   queued    built and validated, waiting to be sent (next_at: when; attempts and last_error say why)
//   sent      a request is in flight (after a crash: sent again, same body and identity)
//   accepted  the server took it (HTTP status kept)
//   rejected  the server refused it (4xx); its OperationOutcome is kept in `outcome`
// The body is stored when the row is built: every retry sends byte-identical JSON.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";

export type Status = "held" | "queued" | "sent" | "accepted" | "rejected";

export interface Row {
  eventId: string;
  /** arrival order */
  seq: number;
  status: Status;
  kind: "message" | "issue" | "";
  /** the event as received (BackendEvent JSON) */
  event: string;
  device: number;
  type: string;
  /** device time of the event, Unix s */
  time: number;
  /** VKP code shown to the operator, e.g. "alert 1.1 Ikke utlevert" */
  code: string;
  resourceId: string;
  identifier: string;
  path: string;
  headers: string;
  body: string;
  attempts: number;
  /** ms (clock of the exporter) */
  nextAt: number;
  lastError: string;
  httpStatus: number;
  /** the server's OperationOutcome (JSON) on a rejection */
  outcome: string;
  created: number;
  updated: number;
}

const COLS =
  "event_id AS eventId, seq, status, kind, event, device, type, time, code, resource_id AS resourceId, identifier, path, headers, body, attempts, next_at AS nextAt, last_error AS lastError, http_status AS httpStatus, outcome, created, updated";

export class ExportQueue {
  readonly db: Database.Database;

  constructor(readonly file: string) {
    if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (e) {
      throw new Error(`FHIR export queue ${file} cannot be opened (${(e as Error).message}); check the path and permissions of [queue] in the config`);
    }
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`CREATE TABLE IF NOT EXISTS export (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL,
      kind TEXT NOT NULL DEFAULT '',
      event TEXT NOT NULL,
      device INTEGER NOT NULL,
      type TEXT NOT NULL,
      time INTEGER NOT NULL,
      code TEXT NOT NULL DEFAULT '',
      resource_id TEXT NOT NULL DEFAULT '',
      identifier TEXT NOT NULL DEFAULT '',
      path TEXT NOT NULL DEFAULT '',
      headers TEXT NOT NULL DEFAULT '{}',
      body TEXT NOT NULL DEFAULT '',
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL DEFAULT 0,
      last_error TEXT NOT NULL DEFAULT '',
      http_status INTEGER NOT NULL DEFAULT 0,
      outcome TEXT NOT NULL DEFAULT '',
      created INTEGER NOT NULL,
      updated INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS export_due ON export(status, next_at);`);
  }

  /** Adds an event; false when its id is already in the queue (a duplicate). */
  add(r: { eventId: string; event: string; device: number; type: string; time: number; code: string; now: number }): boolean {
    const res = this.db
      .prepare("INSERT OR IGNORE INTO export (event_id, status, event, device, type, time, code, created, updated) VALUES (?, 'held', ?, ?, ?, ?, ?, ?, ?)")
      .run(r.eventId, r.event, r.device, r.type, r.time, r.code, r.now, r.now);
    return res.changes === 1;
  }

  /** The built request for a held row: it becomes queued, due now. */
  built(eventId: string, b: { kind: "message" | "issue"; resourceId: string; identifier: string; path: string; headers: Record<string, string>; body: string }, now: number): void {
    this.db
      .prepare("UPDATE export SET status = 'queued', kind = ?, resource_id = ?, identifier = ?, path = ?, headers = ?, body = ?, next_at = ?, last_error = '', updated = ? WHERE event_id = ? AND status = 'held'")
      .run(b.kind, b.resourceId, b.identifier, b.path, JSON.stringify(b.headers), b.body, now, now, eventId);
  }

  /** A row that cannot be built yet keeps status held with the reason. */
  hold(eventId: string, reason: string, now: number): void {
    this.db.prepare("UPDATE export SET last_error = ?, updated = ? WHERE event_id = ? AND status = 'held'").run(reason, now, eventId);
  }

  /** Rows to send now (queued and due, or sent before a crash), oldest first. */
  due(now: number, limit = 20): Row[] {
    return this.db.prepare(`SELECT ${COLS} FROM export WHERE (status = 'queued' AND next_at <= ?) OR status = 'sent' ORDER BY seq LIMIT ?`).all(now, limit) as Row[];
  }

  /** The earliest next_at of queued rows (undefined when none wait). */
  nextDue(): number | undefined {
    const r = this.db.prepare("SELECT MIN(next_at) AS t FROM export WHERE status IN ('queued', 'sent')").get() as { t: number | null };
    return r.t ?? undefined;
  }

  markSent(eventId: string, now: number): void {
    this.db.prepare("UPDATE export SET status = 'sent', attempts = attempts + 1, updated = ? WHERE event_id = ?").run(now, eventId);
  }

  markAccepted(eventId: string, httpStatus: number, now: number): void {
    this.db.prepare("UPDATE export SET status = 'accepted', http_status = ?, last_error = '', updated = ? WHERE event_id = ?").run(httpStatus, now, eventId);
  }

  markRejected(eventId: string, httpStatus: number, outcome: string, error: string, now: number): void {
    this.db.prepare("UPDATE export SET status = 'rejected', http_status = ?, outcome = ?, last_error = ?, updated = ? WHERE event_id = ?").run(httpStatus, outcome, error, now, eventId);
  }

  /** A transient failure: queued again, due at nextAt. */
  markRetry(eventId: string, httpStatus: number, error: string, nextAt: number, now: number): void {
    this.db.prepare("UPDATE export SET status = 'queued', http_status = ?, last_error = ?, next_at = ?, updated = ? WHERE event_id = ?").run(httpStatus, error, nextAt, now, eventId);
  }

  /** A rejected row queued again by the operator (after fixing the cause on the server side). */
  requeue(eventId: string, now: number): boolean {
    return this.db.prepare("UPDATE export SET status = 'queued', next_at = ?, attempts = 0, updated = ? WHERE event_id = ? AND status = 'rejected'").run(now, now, eventId).changes === 1;
  }

  held(): Row[] {
    return this.db.prepare(`SELECT ${COLS} FROM export WHERE status = 'held' ORDER BY seq`).all() as Row[];
  }

  get(eventId: string): Row | undefined {
    return this.db.prepare(`SELECT ${COLS} FROM export WHERE event_id = ?`).get(eventId) as Row | undefined;
  }

  rows(status?: Status, limit = 1000): Row[] {
    if (status) return this.db.prepare(`SELECT ${COLS} FROM export WHERE status = ? ORDER BY seq LIMIT ?`).all(status, limit) as Row[];
    return this.db.prepare(`SELECT ${COLS} FROM export ORDER BY seq LIMIT ?`).all(limit) as Row[];
  }

  counts(): Record<Status, number> {
    const out: Record<Status, number> = { held: 0, queued: 0, sent: 0, accepted: 0, rejected: 0 };
    for (const r of this.db.prepare("SELECT status, COUNT(*) AS n FROM export GROUP BY status").all() as Array<{ status: Status; n: number }>) out[r.status] = r.n;
    return out;
  }

  close(): void {
    this.db.close();
  }
}
