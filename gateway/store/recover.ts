// Salvage of a damaged store (a power cut on cheap SD storage, a file truncated or overwritten in part).
// The damaged file is never opened for writing in place: store.ts moves it (and its -wal/-shm) aside as
// `<file>.damaged-<time>`, creates a new store and calls salvage() to copy every row that can still be read.
//
// How rows are read from a damaged b-tree: first a scan in rowid order without indexes (an index can be
// damaged while the table is fine); where the scan breaks, point lookups by rowid for every rowid up to
// the largest one known (a damaged leaf page costs the rows on it, the lookups find the rows on the
// pages after it). Tables keep the layout they had (any schema version); the caller migrates afterwards.
// The replay high-water of a device whose row was lost is rebuilt from its salvaged events.
import * as fs from "node:fs";
import Database from "better-sqlite3";

export interface SalvageReport {
  /** rows copied per table */
  rows: Record<string, number>;
  /** rows (or whole tables) that could not be read, per table; "*" = the schema itself */
  unreadable: Record<string, string>;
  /** user_version of the damaged file, or -1 when unreadable */
  version: number;
}

const TABLES = ["events", "downlink", "devices", "gateway", "commands", "seen", "meta"];
const PROBE_MARGIN = 50_000;

/**
 * Copies what can be read from `damagedFile` (a COPY: its header may be adjusted) into `into` (an empty
 * database).
 */
export function salvage(damagedFile: string, into: Database.Database): SalvageReport {
  const report: SalvageReport = { rows: {}, unreadable: {}, version: -1 };
  trustFileSize(damagedFile);
  let src: Database.Database;
  try {
    src = new Database(damagedFile, { fileMustExist: true });
  } catch (e) {
    report.unreadable["*"] = (e as Error).message;
    return report;
  }
  try {
    try {
      report.version = src.pragma("user_version", { simple: true }) as number;
    } catch (e) {
      report.unreadable["*"] = (e as Error).message;
      return report;
    }
    let schema: Array<{ name: string; sql: string }>;
    try {
      schema = src.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string; sql: string }>;
    } catch (e) {
      report.unreadable["*"] = (e as Error).message;
      return report;
    }
    for (const t of schema.filter((s) => TABLES.includes(s.name))) {
      into.exec(t.sql.replace(/^CREATE TABLE\s+/i, "CREATE TABLE IF NOT EXISTS "));
      const cols = (into.prepare(`SELECT * FROM ${t.name} LIMIT 0`).columns() as Array<{ name: string }>).map((c) => c.name);
      // every table's key is a column (INTEGER PRIMARY KEY ids are the rowid), so rows keep their ids
      const ins = into.prepare(`INSERT OR IGNORE INTO ${t.name}(${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`);
      let n = 0;
      const put = (r: Record<string, unknown>) => {
        if (ins.run(...cols.map((c) => r[c])).changes) n++;
      };
      const failure = copyRows(src, t.name, put);
      into.pragma(`user_version = ${Math.max(0, report.version)}`);
      report.rows[t.name] = n;
      if (failure) report.unreadable[t.name] = failure;
    }
  } finally {
    src.close();
  }
  return report;
}

/**
 * A truncated file still claims its old page count in the header, and SQLite then refuses to read any of
 * it. Making the header's "version-valid-for" differ from its change counter tells SQLite to take the
 * page count from the file size instead (file format: header offsets 24 and 92).
 */
function trustFileSize(file: string): void {
  const fd = fs.openSync(file, "r+");
  try {
    const b = Buffer.alloc(4);
    if (fs.readSync(fd, b, 0, 4, 24) < 4 || fs.fstatSync(fd).size < 100) return;
    b.writeUInt32BE((b.readUInt32BE(0) + 1) >>> 0);
    fs.writeSync(fd, b, 0, 4, 92);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads every readable row of `table` (rowid order); returns a description of what failed, or "". */
function copyRows(src: Database.Database, table: string, put: (r: Record<string, unknown>) => void): string {
  let last = 0;
  let error = "";
  try {
    for (const r of src.prepare(`SELECT rowid AS _rowid, * FROM ${table} NOT INDEXED ORDER BY rowid`).iterate() as Iterable<Record<string, unknown>>) {
      put(r);
      last = Number(r._rowid);
    }
    return "";
  } catch (e) {
    error = (e as Error).message;
  }
  let max = last + PROBE_MARGIN;
  try {
    const m = src.prepare(`SELECT max(rowid) AS m FROM ${table}`).get() as { m: number | null };
    if (m.m !== null && m.m > last) max = Math.max(max, m.m);
  } catch {
    // the right edge of the tree is damaged too: probe the margin only
  }
  const one = src.prepare(`SELECT rowid AS _rowid, * FROM ${table} NOT INDEXED WHERE rowid = ?`);
  let missed = 0;
  for (let id = last + 1; id <= max; id++) {
    try {
      const r = one.get(id) as Record<string, unknown> | undefined;
      if (r) put(r);
    } catch {
      missed++;
    }
  }
  return `scan stopped after rowid ${last} (${error}); ${missed} rowid lookups failed up to ${max}`;
}
