// The gateway's durable store: device events waiting for the backend, the replay high-water mark per
// device, the per-device downlink queue and a little metadata (birth sequence, downlink seqs).
//
// Why SQLite in WAL mode (better-sqlite3) rather than an fsynced append-only journal:
//  * Events leave the outbox out of order (the backend acks them individually), telemetry is dropped
//    oldest-first under a space bound, and downlink is queued per device: a journal would need its own
//    index, tombstones and compaction to do that; SQLite gives it with transactions we did not write.
//  * WAL + synchronous=FULL: a COMMIT is durable once its WAL frames are fsynced; readers never block
//    the writer; a process killed with SIGKILL or a power cut rolls back to the last commit on open.
//  * Group commit: `submit()` only queues; one transaction per event-loop turn (setImmediate) writes
//    every event that arrived meanwhile, from all devices, with ONE fsync. Acks to devices are sent
//    only after that commit resolves, so "acked" always implies "on disk".
//
// Dedup / replay: `seen(device) = highest reliable seq stored`. Device seqs persist across reboots and
// only grow, so a reliable frame with seq <= seen is a retransmission (its ack was lost) or a replay:
// it is acked again but not stored twice. The check runs against memory updated at submit time, so
// duplicates inside one group commit are caught too; memory is reloaded from disk if a commit fails.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";

export type Priority = 0 | 1; // 0 = telemetry (may be dropped when full), 1 = alarm/dose/fault/ack (never dropped)

export interface NewEvent {
  eventId: string;
  device: number;
  boot: number;
  /** reliable device seq, 0 for best-effort telemetry and gateway-made events */
  seq: number;
  type: string;
  priority: Priority;
  time: number;
  received: number;
  historical: boolean;
  /** the device's Envelope bytes (MAC removed), or for gateway-made events an encoded Envelope too */
  payload: Uint8Array;
}

export interface StoredEvent extends NewEvent {
  id: number;
}

export type SubmitResult = "stored" | "duplicate" | "full";

export interface DownlinkRow {
  id: number;
  device: number;
  seq: number;
  kind: string;
  /** Envelope bytes carrying only the body member; device/boot/seq/time are filled at send time */
  body: Uint8Array;
  correlation: string;
  created: number;
}

export interface OutboxOptions {
  /** bound on the summed payload bytes of queued events; 0 = unbounded */
  maxBytes?: number;
  /** keep at least this much free space on the outbox's file system; the bound shrinks to respect it */
  minFreeBytes?: number;
  /** called when the bound is hit (true) or clears (false) */
  onFull?: (full: boolean) => void;
  /** called for every telemetry event dropped to make room */
  onDropped?: (e: StoredEvent) => void;
  /** Unix ms for the timestamps the outbox writes itself (downlink `created`); the gateway clock, default Date.now */
  now?: () => number;
}

const ROW_OVERHEAD = 64; // bytes accounted per event on top of its payload (ids, columns, index)

export class Outbox {
  readonly db: Database.Database;
  private seenMem = new Map<number, number>();
  private queue: Array<{ ev: NewEvent; resolve: (r: SubmitResult) => void; reject: (e: Error) => void }> = [];
  private scheduled = false;
  private bytes = 0;
  private count = 0;
  full = false;
  /** number of group commits done (for tests and metrics) */
  commits = 0;

  constructor(readonly file: string, readonly opts: OutboxOptions = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (e) {
      throw new Error(`${file}: cannot open the outbox database: ${(e as Error).message}; check [gateway] data_dir and its permissions`);
    }
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.exec(`
      CREATE TABLE IF NOT EXISTS events(
        id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, device INTEGER NOT NULL,
        boot INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, priority INTEGER NOT NULL,
        time INTEGER NOT NULL, received INTEGER NOT NULL, historical INTEGER NOT NULL, payload BLOB NOT NULL);
      CREATE INDEX IF NOT EXISTS events_priority ON events(priority, id);
      CREATE TABLE IF NOT EXISTS seen(device INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS downlink(
        id INTEGER PRIMARY KEY AUTOINCREMENT, device INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        body BLOB NOT NULL, correlation TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(device, seq));
      CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
      this.reloadMemory();
    } catch (e) {
      this.db.close();
      throw new Error(`${file}: the outbox database is unusable (${(e as Error).message}); stop the gateway, move the file (and its -wal/-shm) aside for inspection and start again with an empty outbox`);
    }
  }

  private reloadMemory(): void {
    this.seenMem.clear();
    for (const r of this.db.prepare("SELECT device, seq FROM seen").all() as Array<{ device: number; seq: number }>) this.seenMem.set(r.device, r.seq);
    const s = this.db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(length(payload)),0) AS b FROM events").get() as { n: number; b: number };
    this.count = s.n;
    this.bytes = s.b + s.n * ROW_OVERHEAD;
  }

  /** Highest reliable seq stored for the device (0 = none). */
  seen(device: number): number {
    return this.seenMem.get(device) ?? 0;
  }

  /**
   * The device proved (fresh, authenticated DeviceInfo) that its next seq is `nextSeq` although a
   * higher one was stored: it was re-flashed or lost its flash. Lower the high-water so its new events
   * are not mistaken for retransmissions; event ids stay unique because its boot id changed.
   */
  resetSeen(device: number, nextSeq: number): void {
    const v = Math.max(0, nextSeq - 1);
    this.seenMem.set(device, v);
    this.db.prepare("INSERT INTO seen(device, seq) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET seq = excluded.seq").run(device, v);
  }

  depth(): number {
    return this.count;
  }
  sizeBytes(): number {
    return this.bytes;
  }

  /** Queues an event for the next group commit. Resolves once it is durable (or known duplicate / refused). */
  submit(ev: NewEvent): Promise<SubmitResult> {
    if (ev.seq !== 0) {
      if (ev.seq <= this.seen(ev.device)) return Promise.resolve("duplicate");
      this.seenMem.set(ev.device, ev.seq);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ev, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes every queued event in one transaction (one fsync). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const results: SubmitResult[] = [];
    const ins = this.db.prepare(
      "INSERT OR IGNORE INTO events(event_id, device, boot, seq, type, priority, time, received, historical, payload) VALUES (?,?,?,?,?,?,?,?,?,?)",
    );
    const seen = this.db.prepare("INSERT INTO seen(device, seq) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET seq = max(seq, excluded.seq)");
    const dropped: StoredEvent[] = [];
    let bytes = this.bytes;
    let count = this.count;
    const max = this.effectiveMax();
    try {
      this.db.transaction(() => {
        for (const { ev } of batch) {
          const size = ev.payload.length + ROW_OVERHEAD;
          if (max > 0 && bytes + size > max) {
            // make room: oldest telemetry first; alarms, doses and faults are never dropped
            const need = bytes + size - max;
            let freed = 0;
            const victims = this.db.prepare("SELECT * FROM events WHERE priority = 0 ORDER BY id LIMIT 500").all() as any[];
            for (const v of victims) {
              if (freed >= need) break;
              this.db.prepare("DELETE FROM events WHERE id = ?").run(v.id);
              freed += v.payload.length + ROW_OVERHEAD;
              count--;
              dropped.push(rowToEvent(v));
            }
            bytes -= freed;
            if (bytes + size > max) {
              // Still full: refuse. A reliable event stays in the device's own outbox (not acked) and
              // is retransmitted; telemetry is lost, as best-effort allows.
              if (ev.seq !== 0) this.seenMem.set(ev.device, Math.min(this.seen(ev.device), ev.seq - 1));
              results.push("full");
              continue;
            }
          }
          const r = ins.run(ev.eventId, ev.device, ev.boot, ev.seq, ev.type, ev.priority, ev.time, ev.received, ev.historical ? 1 : 0, Buffer.from(ev.payload));
          if (ev.seq !== 0) seen.run(ev.device, ev.seq);
          if (r.changes === 0) {
            results.push("duplicate");
            continue;
          }
          bytes += size;
          count++;
          results.push("stored");
        }
      })();
    } catch (e) {
      this.reloadMemory();
      const err = new Error(`${this.file}: outbox write failed: ${(e as Error).message}`);
      for (const q of batch) q.reject(err);
      return;
    }
    this.commits++;
    this.bytes = bytes;
    this.count = count;
    for (const d of dropped) this.opts.onDropped?.(d);
    const nowFull = results.includes("full");
    if (nowFull !== this.full) {
      this.full = nowFull;
      this.opts.onFull?.(nowFull);
    }
    batch.forEach((q, i) => q.resolve(results[i]));
  }

  /** The configured bound, lowered when the disk itself is nearly full (0 = unbounded). */
  private effectiveMax(): number {
    let max = this.opts.maxBytes ?? 0;
    const minFree = this.opts.minFreeBytes ?? 0;
    if (minFree > 0) {
      try {
        const st = fs.statfsSync(path.dirname(this.file));
        const room = this.bytes + st.bavail * st.bsize - minFree;
        max = max > 0 ? Math.min(max, Math.max(room, 0)) : Math.max(room, 0);
        if (max === 0) max = 1; // "no room at all", not "unbounded"
      } catch {
        // statfs unsupported here: the configured bound still applies
      }
    }
    return max;
  }

  /** Oldest-first events still waiting for the backend, after row id `afterId`. */
  pending(limit: number, afterId = 0): StoredEvent[] {
    return (this.db.prepare("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?").all(afterId, limit) as any[]).map(rowToEvent);
  }

  /** The backend has these events: they leave the outbox. Returns the removed ones (type, received). */
  remove(eventIds: string[]): number {
    return this.removeEvents(eventIds).length;
  }
  removeEvents(eventIds: string[]): Array<{ eventId: string; type: string; received: number }> {
    const out: Array<{ eventId: string; type: string; received: number }> = [];
    if (eventIds.length === 0) return out;
    let n = 0;
    const get = this.db.prepare("SELECT length(payload) AS b, type, received FROM events WHERE event_id = ?");
    const del = this.db.prepare("DELETE FROM events WHERE event_id = ?");
    this.db.transaction(() => {
      for (const id of eventIds) {
        const row = get.get(id) as { b: number; type: string; received: number } | undefined;
        if (!row) continue;
        del.run(id);
        out.push({ eventId: id, type: row.type, received: row.received });
        this.bytes -= row.b + ROW_OVERHEAD;
        this.count--;
        n++;
      }
    })();
    if (n > 0 && this.full) {
      this.full = false;
      this.opts.onFull?.(false);
    }
    return out;
  }

  // ---- downlink ----

  /** Stores a downlink message for the device under the next per-device downlink seq. */
  queueDownlink(device: number, kind: string, body: Uint8Array, correlation = ""): DownlinkRow {
    const key = `dlseq:${device}`;
    let row: DownlinkRow | undefined;
    this.db.transaction(() => {
      const cur = Number((this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value ?? 0);
      const seq = cur + 1;
      this.db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, String(seq));
      const created = Math.floor((this.opts.now ?? Date.now)() / 1000);
      const r = this.db.prepare("INSERT INTO downlink(device, seq, kind, body, correlation, created) VALUES (?,?,?,?,?,?)").run(device, seq, kind, Buffer.from(body), correlation, created);
      row = { id: Number(r.lastInsertRowid), device, seq, kind, body, correlation, created };
    })();
    return row!;
  }

  /** The oldest undelivered downlink for the device. */
  nextDownlink(device: number): DownlinkRow | undefined {
    const r = this.db.prepare("SELECT * FROM downlink WHERE device = ? ORDER BY seq LIMIT 1").get(device) as any;
    return r ? { ...r, body: new Uint8Array(r.body) } : undefined;
  }

  /** The device acked downlink seqs up to and including `seq`: they are delivered. Returns them. */
  ackDownlink(device: number, seq: number): DownlinkRow[] {
    const rows = (this.db.prepare("SELECT * FROM downlink WHERE device = ? AND seq <= ? ORDER BY seq").all(device, seq) as any[]).map((r) => ({ ...r, body: new Uint8Array(r.body) }));
    if (rows.length) this.db.prepare("DELETE FROM downlink WHERE device = ? AND seq <= ?").run(device, seq);
    return rows;
  }

  downlinkDepth(device?: number): number {
    const r = (device === undefined
      ? this.db.prepare("SELECT COUNT(*) AS n FROM downlink").get()
      : this.db.prepare("SELECT COUNT(*) AS n FROM downlink WHERE device = ?").get(device)) as { n: number };
    return r.n;
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }
  setMeta(key: string, value: string): void {
    this.db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  close(): void {
    if (this.queue.length) this.flush();
    if (this.db.open) this.db.close();
  }
}

function rowToEvent(r: any): StoredEvent {
  return {
    id: r.id, eventId: r.event_id, device: r.device, boot: r.boot, seq: r.seq, type: r.type, priority: r.priority,
    time: r.time, received: r.received, historical: !!r.historical, payload: new Uint8Array(r.payload),
  };
}
