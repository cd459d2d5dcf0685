// The store's tables (SQLite, `PRAGMA user_version` = SCHEMA_VERSION) and the migration from the
// first layout. One table per kind of thing the gateway keeps, typed columns, no spelled key prefixes:
//
//   events    device events waiting for the backend. `id` is assigned by the gateway (ascending, the
//             drain order); `event_id` is the contract's id (device:boot:seq), unique.
//   devices   per device: replay high-water `seen` (highest reliable seq stored) and the seqs below it
//             never stored (`missing`, JSON array; see store.ts), the last downlink seq
//             given out, the config version and last config sent, the last availability published.
//   downlink  per device queue of messages for the device, in `seq` order, until the device acks.
//   gateway   scalar state of the gateway itself (`bd_seq`: MQTT birth sequence; `opens`: times opened).
//   commands  (version 2) backend commands that queued a downlink, by device and "<command> <correlation
//             id>", with the downlink's seq: the correlation id stays the request's idempotency key after
//             the device acked the downlink (a command the broker delivers again runs once). Kept
//             COMMAND_MEMORY_S, pruned by store.ts.
//
// Version 0 (before this file): tables events, seen(device, seq), downlink, meta(key, value) with keys
// "bdSeq", "avail:<device>", "cfgver:<device>", "cfg:<device>", "dlseq:<device>". migrate() moves it
// into version 1 in one transaction, keeping every event and every downlink message.
import type Database from "better-sqlite3";

export const SCHEMA_VERSION = 2;

const V1 = `
  CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, device INTEGER NOT NULL,
    boot INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, priority INTEGER NOT NULL,
    time INTEGER NOT NULL, received INTEGER NOT NULL, historical INTEGER NOT NULL, payload BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS events_priority ON events(priority, id);
  CREATE TABLE IF NOT EXISTS devices(
    device INTEGER PRIMARY KEY, seen INTEGER NOT NULL DEFAULT 0, missing TEXT, dl_seq INTEGER NOT NULL DEFAULT 0,
    cfg_version INTEGER NOT NULL DEFAULT 0, config TEXT, availability TEXT);
  CREATE TABLE IF NOT EXISTS downlink(
    id INTEGER PRIMARY KEY AUTOINCREMENT, device INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    body BLOB NOT NULL, correlation TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(device, seq));
  CREATE TABLE IF NOT EXISTS gateway(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;
const V2 = `
  CREATE TABLE IF NOT EXISTS commands(
    device INTEGER NOT NULL, correlation TEXT NOT NULL, seq INTEGER NOT NULL, created INTEGER NOT NULL,
    UNIQUE(device, correlation));
  CREATE INDEX IF NOT EXISTS commands_created ON commands(created);
`;

function tables(db: Database.Database): Set<string> {
  return new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
}

/** Creates or migrates the schema; returns the version found before (0 = first layout or new file). */
export function migrate(db: Database.Database): number {
  const found = db.pragma("user_version", { simple: true }) as number;
  if (found > SCHEMA_VERSION) throw new Error(`written by a newer gateway (schema ${found}, this one knows ${SCHEMA_VERSION}); run that version or move the file aside`);
  if (found === SCHEMA_VERSION) {
    db.exec(V1 + V2);
    return found;
  }
  if (found === 1) {
    // version 1 → 2: the commands table is new, nothing moves
    db.transaction(() => {
      db.exec(V1 + V2);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return found;
  }
  db.transaction(() => {
    const had = tables(db);
    if (had.has("events")) {
      // v0 events had AUTOINCREMENT ids; the rows keep their ids (drain order) in the v1 table
      db.exec("ALTER TABLE events RENAME TO events_v0; DROP INDEX IF EXISTS events_priority;");
    }
    if (had.has("downlink")) db.exec("ALTER TABLE downlink RENAME TO downlink_v0");
    db.exec(V1);
    db.exec(V2);
    if (had.has("events")) {
      db.exec("INSERT INTO events SELECT id, event_id, device, boot, seq, type, priority, time, received, historical, payload FROM events_v0; DROP TABLE events_v0;");
    }
    if (had.has("downlink")) {
      db.exec("INSERT INTO downlink SELECT id, device, seq, kind, body, correlation, created FROM downlink_v0; DROP TABLE downlink_v0;");
    }
    const upsert = (col: string) => db.prepare(`INSERT INTO devices(device, ${col}) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET ${col} = excluded.${col}`);
    if (had.has("seen")) {
      const up = upsert("seen");
      for (const r of db.prepare("SELECT device, seq FROM seen").all() as Array<{ device: number; seq: number }>) up.run(r.device, r.seq);
      db.exec("DROP TABLE seen");
    }
    if (had.has("meta")) {
      const cols: Record<string, [string, (v: string) => unknown]> = {
        avail: ["availability", (v) => v],
        cfgver: ["cfg_version", (v) => Number(v) || 0],
        cfg: ["config", (v) => v],
        dlseq: ["dl_seq", (v) => Number(v) || 0],
      };
      for (const r of db.prepare("SELECT key, value FROM meta").all() as Array<{ key: string; value: string }>) {
        if (r.key === "bdSeq") {
          db.prepare("INSERT OR REPLACE INTO gateway(key, value) VALUES ('bd_seq', ?)").run(Number(r.value) || 0);
          continue;
        }
        const m = /^(avail|cfgver|cfg|dlseq):(\d+)$/.exec(r.key);
        if (!m) continue;
        const [col, conv] = cols[m[1]];
        upsert(col).run(Number(m[2]), conv(r.value));
      }
      db.exec("DROP TABLE meta");
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
  return found;
}
