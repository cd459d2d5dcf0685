// The backend's schema, as numbered migrations run in order at start (table schema_migrations records
// which ran). One text for SQLite and PostgreSQL: `@ID` is the dialect's auto-increment primary key and
// `@APPEND_ONLY(table)` the dialect's guard that makes a table append-only (UPDATE and DELETE raise).
// A migration is never edited once shipped: add a new one. Several instances starting at once against
// one PostgreSQL serialise on a lock of schema_migrations, so each migration runs once.
//
// Invariants the code relies on:
//  * events.event_id is the primary key: an event is stored once however often it arrives (dedup);
//    everything derived from an event (alarms, device state) is written in the same transaction, only
//    when the insert really added the row.
//  * audit is append-only (trigger): who did what, including every view of a patient's data.
//  * sessions store a SHA-256 of the session token, never the token.
import type { Db } from "./db.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "events, alarms, devices, commands, people, audit, settings",
    sql: `
CREATE TABLE events (
  event_id TEXT PRIMARY KEY,
  gateway TEXT NOT NULL,
  device BIGINT NOT NULL,
  kind INTEGER NOT NULL,
  type TEXT NOT NULL,
  time BIGINT NOT NULL,          -- device clock, Unix s
  received BIGINT NOT NULL,      -- gateway stored it, Unix s
  stored_at BIGINT NOT NULL,     -- we stored it, Unix ms
  late INTEGER NOT NULL,
  historical INTEGER NOT NULL,
  test INTEGER NOT NULL,
  scheduled BIGINT NOT NULL,
  label TEXT NOT NULL,
  codes TEXT NOT NULL,           -- JSON [{system, code, display}]
  envelope TEXT NOT NULL,        -- JSON, the device's message
  instance TEXT NOT NULL         -- which backend instance stored it
);
CREATE INDEX events_device_time ON events (device, time);
CREATE INDEX events_type_time ON events (type, time);

CREATE TABLE alarms (
  id @ID,
  event_id TEXT NOT NULL UNIQUE REFERENCES events (event_id),
  category TEXT NOT NULL,        -- alarm | technical | test
  priority INTEGER NOT NULL,     -- 1 highest
  gateway TEXT NOT NULL,
  device BIGINT NOT NULL,
  seq BIGINT NOT NULL,           -- the device's seq of the alarm (ack-alarm reads it)
  boot BIGINT NOT NULL,
  title TEXT NOT NULL,           -- what happened, e.g. "alarm", "device_lost", "fault 3"
  pressed_at BIGINT NOT NULL,    -- device time, Unix s
  received_at BIGINT NOT NULL,   -- gateway time, Unix s
  stored_at BIGINT NOT NULL,     -- Unix ms
  state TEXT NOT NULL,           -- open | claimed | acknowledged | closed
  cancelled INTEGER NOT NULL DEFAULT 0,
  cancelled_at BIGINT,
  claimed_by TEXT, claimed_at BIGINT,
  ack_by TEXT, ack_at BIGINT, ack_correlation TEXT, ack_delivered_at BIGINT,
  closed_by TEXT, closed_at BIGINT, note TEXT,
  escalated_at BIGINT, escalation_result TEXT
);
CREATE INDEX alarms_state ON alarms (state, priority, stored_at);
CREATE INDEX alarms_device_seq ON alarms (device, seq);

CREATE TABLE devices (
  device BIGINT PRIMARY KEY,
  gateway TEXT NOT NULL,
  kind INTEGER NOT NULL DEFAULT 0,
  label TEXT NOT NULL DEFAULT '',
  online INTEGER,                -- NULL: not stated yet
  availability_reason TEXT NOT NULL DEFAULT '',
  last_seen BIGINT NOT NULL DEFAULT 0,
  firmware TEXT NOT NULL DEFAULT '',
  board TEXT NOT NULL DEFAULT '',
  battery_pct INTEGER, battery_days INTEGER, battery_low INTEGER NOT NULL DEFAULT 0,
  telemetry_time BIGINT NOT NULL DEFAULT 0,   -- device time of the newest battery/heartbeat/status applied
  mains INTEGER,
  outbox_depth INTEGER NOT NULL DEFAULT 0,
  faults TEXT NOT NULL DEFAULT '[]',    -- JSON: active fault codes
  remaining INTEGER, refill_needed INTEGER NOT NULL DEFAULT 0,
  heartbeat_s INTEGER,
  schedule_version INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);

CREATE TABLE gateways (
  gateway TEXT PRIMARY KEY,
  online INTEGER NOT NULL,
  bd_seq BIGINT NOT NULL,
  version TEXT NOT NULL,
  devices_online INTEGER NOT NULL,
  outbox_depth INTEGER NOT NULL,
  outbox_full INTEGER NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE commands (
  id @ID,
  correlation_id TEXT NOT NULL UNIQUE,
  gateway TEXT NOT NULL,
  device BIGINT NOT NULL,
  command TEXT NOT NULL,
  request TEXT NOT NULL,          -- JSON CommandRequest
  requested_by TEXT NOT NULL,
  requested_at BIGINT NOT NULL,   -- ms
  state TEXT NOT NULL,            -- sent | queued | delivered | done | failed
  downlink_seq BIGINT,
  error TEXT,
  response TEXT,                  -- JSON of the last CommandResponse
  updated_at BIGINT NOT NULL,
  alarm_id BIGINT
);
CREATE INDEX commands_device ON commands (device, requested_at);

CREATE TABLE followups (
  event_id TEXT PRIMARY KEY REFERENCES events (event_id),
  by_user TEXT NOT NULL,
  at BIGINT NOT NULL,
  note TEXT NOT NULL
);

CREATE TABLE users (
  id @ID,
  username TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,             -- operator | nurse | technician | manager
  team TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id),
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,            -- JSON
  updated_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE audit (
  id @ID,
  at BIGINT NOT NULL,             -- ms
  actor TEXT NOT NULL,            -- username, or "system"
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  patient_id TEXT,
  detail TEXT NOT NULL            -- JSON
);
CREATE INDEX audit_at ON audit (at);
@APPEND_ONLY(audit)
`,
  },
];

function dialectSql(db: Db, sql: string): string {
  const pg = db.dialect === "postgres";
  return sql
    .replace(/@ID/g, pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT")
    .replace(/@APPEND_ONLY\((\w+)\)/g, (_, t: string) =>
      pg
        ? `CREATE FUNCTION ${t}_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION '${t} is append-only'; END $f$;
           CREATE TRIGGER ${t}_no_update BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${t}_append_only();`
        : `CREATE TRIGGER ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;
           CREATE TRIGGER ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;`,
    );
}

/** Runs the migrations not yet applied, each in its own transaction; returns their versions. */
export async function migrate(db: Db, now = Date.now): Promise<number[]> {
  const ran: number[] = [];
  const create = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;
  // two PostgreSQL instances creating it at the same moment: one may fail on the catalog; the table exists then
  await db.exec(create).catch(() => db.exec(create));
  for (const m of MIGRATIONS) {
    await db.tx(async (q) => {
      // several instances may start at once against one PostgreSQL: the first takes the lock and
      // migrates, the others wait and then find the migration recorded
      if (db.dialect === "postgres") await q.exec("LOCK TABLE schema_migrations IN EXCLUSIVE MODE");
      if (await q.get("SELECT version FROM schema_migrations WHERE version = ?", [m.version])) return;
      await q.exec(dialectSql(db, m.sql));
      await q.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, now()]);
      ran.push(m.version);
    });
  }
  return ran;
}
