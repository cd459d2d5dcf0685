// The gateway's durable store: device events waiting for the backend (the outbox), per-device state
// (replay high-water, downlink seq, config, availability), the downlink queues and the gateway's own
// state (MQTT birth sequence). Tables: schema.ts. Typed access only through this class.
//
// Durability ("stored before acknowledged", DESIGN.md):
//  * SQLite in WAL mode. Commits write to the WAL (page cache) without SQLite's own fsync
//    (synchronous = OFF); durability comes from fs.fdatasync() on the WAL file, run on the thread pool
//    by the group commit (commit.ts), and a device frame is acked only after the fsync that covers its
//    commit returned. The main thread never waits for the disk, and one fsync covers every commit made
//    while the previous one ran.
//  * Checkpoints (copying the WAL into the database file) are ours, never SQLite's automatic ones, and
//    run with synchronous = FULL: the WAL is fsynced before, the database file after, so the WAL is only
//    ever rewritten over frames that are durably in the database file.
//  * SIGKILL at any point: committed data is in the page cache, the OS writes it; a power cut: whatever
//    a fsync covered, i.e. everything acked. Crash tests: test/chaos/.
//
// Replay / duplicate detection per device (kept in memory, persisted with each stored event): `seen`, the
// highest reliable seq stored, and `missing`, the seqs below it that were never stored — skipped because
// frames arrived out of order (a device that pipelines its outbox) or because the write that held them
// failed. A seq is new when it is above `seen` or in `missing`; anything else was stored before. Only the
// newest MISSING_WINDOW seqs are tracked (the firmware sends one frame at a time, so gaps are rare and
// short). A duplicate is acked only once its first copy is durable.
//
// Events (the outbox): submit() decides at once — duplicate (above), full (bound reached and no telemetry left to drop), or accepted: the event gets its id, goes
// into the drain's in-memory tail (so the backend can publish it while the disk works; a crash before the
// fsync means the device did not get its ack and sends it again — a duplicate the backend drops by event
// id), and its insert is queued; the returned promise resolves when it is on disk. remove() (the backend
// has them) updates the counts at once and deletes in the next batch — no read after an ack.
// next() hands the drain events in id order: from the tail while it is small, else pages from disk.
//
// Damaged file at start (power cut on cheap SD storage): quick_check on open; a file that fails it, is
// not a database, or is empty is moved aside as `<file>.damaged-<time>` (never changed), and every row
// that can still be read is salvaged into a new file (recover.ts). The report names both files and the
// counts; startGateway logs it as an error. Never a silent start with an empty outbox.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { GroupCommit, StorageFault, type CommitOptions } from "./commit.ts";
import { migrate } from "./schema.ts";
import { salvage, type SalvageReport } from "./recover.ts";

export { StorageFault };

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
  /** the decoded Envelope when the caller has it (decoded once per frame); decoded from payload otherwise */
  env?: any;
  /** monotonic ms (gateway clock) when this process accepted it; undefined for events read from disk */
  acceptedAt?: number;
}

export interface StoredEvent extends NewEvent {
  id: number;
}

export type SubmitResult = "stored" | "duplicate" | "full";
/** How accept() answers: (null, result) or (the StorageFault). */
export type SubmitDone = (err: StorageFault | null, result?: SubmitResult) => void;
/** A reliable event accepted and not durable yet; retransmissions of it meanwhile wait for it here. */
type Pending = { dups: SubmitDone[] | null };

export interface DownlinkRow {
  id: number;
  device: number;
  seq: number;
  kind: string;
  /** Envelope bytes carrying only the body member; device/boot/seq/time are filled at send time */
  body: Uint8Array;
  correlation: string;
  created: number;
  /** true until the row is durable (it must not reach the device before: its seq could be given out again) */
  pending?: boolean;
}

/** The DeviceAvailability last published for a device (contract: retained availability). */
export interface Availability {
  online: boolean;
  time: number;
  reason: string;
  lastSeen: number;
  firmware: string;
  board: string;
}

export interface DeviceRecord {
  /** highest reliable seq stored (replay high-water) */
  seen: number;
  /** seqs below `seen` never stored (gaps), ascending, at most MISSING_WINDOW below `seen` */
  missing: number[];
  /** last downlink seq given out */
  dlSeq: number;
  cfgVersion: number;
  /** the last Config sent (without version) */
  config: Record<string, any> | null;
  availability: Availability | null;
}

export interface StoreOptions {
  /** bound on the summed payload bytes of queued events; 0 = unbounded */
  maxBytes?: number;
  /** keep at least this much free space on the store's file system; the bound shrinks to respect it */
  minFreeBytes?: number;
  /** called when the bound is hit (true) or clears (false) */
  onFull?: (full: boolean) => void;
  /** called for every telemetry event dropped to make room */
  onDropped?: (e: { eventId: string; type: string }) => void;
  /** storage fault raised (disk full, read-only, I/O error) or cleared (null) */
  onFault?: (fault: StorageFault | null) => void;
  /** Unix ms for the timestamps the store writes itself (downlink `created`); default Date.now */
  now?: () => number;
  /** events kept in memory for the drain before it pages from disk */
  tailCap?: number;
  /** retry interval of a faulted store */
  retryMs?: number;
  /** checkpoint once this many transactions went into the WAL */
  checkpointEvery?: number;
  /** for tests: the group commit's scheduler */
  schedule?: CommitOptions["schedule"];
}

/** What open() found wrong with the file and what it did about it. */
export interface DamageReport {
  reason: string;
  movedTo: string;
  salvage: SalvageReport;
}

const ROW_OVERHEAD = 64;
/** how long a backend command's correlation id is remembered after its downlink was queued (idempotency key) */
export const COMMAND_MEMORY_S = 7 * 86400;
/** gaps below the high-water tracked per device (older ones count as seen) */
export const MISSING_WINDOW = 1024; // bytes accounted per event on top of its payload (ids, columns, index)

/** group-commit key of the batch that carries the queued deletes (store.queueDelete) */
const DELETES = Symbol("deletes");
const NOTHING = () => undefined;

function isDamage(e: unknown): boolean {
  const code = String((e as { code?: string }).code ?? "");
  return code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB" || /malformed|not a database|file is encrypted/i.test((e as Error).message);
}

export class Store {
  readonly db: Database.Database;
  readonly damage: DamageReport | null;
  private readonly commit: GroupCommit;
  private walFd = -1;
  private readonly devices = new Map<number, DeviceRecord>();
  private readonly downlinks = new Map<number, DownlinkRow[]>();
  private bytes = 0;
  private count = 0;
  private lastId = 0;
  private bd = 0;
  private syncsInFlight = 0;
  private closeWalFd = false;
  full = false;
  // the drain's view: tail of accepted events not handed out yet, then the disk from `cursor` on
  private tail: StoredEvent[] = [];
  private tailHead = 0;
  private spilledNow = true; // at open everything is on disk
  private spilledPending = 0; // accepted while spilled, not committed yet
  private cursor = 0;
  private readonly outstanding = new Map<string, StoredEvent>(); // in memory (tail or handed out), not removed
  private readonly removing = new Set<number>(); // ids whose delete is queued
  /** row ids to delete in the next transaction (after its inserts, in id runs: see transaction()) */
  private toDelete: number[] = [];
  /** event ids acked that this process did not hand out (acked again after a restart): deleted after toDelete */
  private toDeleteByEventId: string[] = [];
  /** device → seq → reliable events not durable yet */
  private readonly inFlight = new Map<number, Map<number, Pending>>();
  /** device → the lazy write of its replay state (one closure per device, not one per event) */
  private readonly seenWriters = new Map<number, () => void>();
  private statfsAt = -Infinity;
  /** Unix s of the last pruning of the commands table (hourly, with a command's insert) */
  private commandsPrunedAt = 0;
  private statfsRoom = Infinity;
  private sinceCheckpoint = 0;
  private readonly st: Statements;

  constructor(readonly file: string, readonly opts: StoreOptions = {}) {
    const dir = path.dirname(file);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new Error(`${dir}: cannot create the data directory (${(e as Error).message}); check [gateway] data_dir and its permissions`);
    }
    const opened = openChecked(file);
    this.db = opened.db;
    this.damage = opened.damage;
    try {
      this.db.pragma("wal_autocheckpoint = 0");
      this.st = prepareStatements(this.db);
      this.load();
      this.st.touchOpens.run();
      this.db.pragma("wal_checkpoint(TRUNCATE)"); // start from an empty WAL; synchronous is still FULL here
      this.db.pragma("synchronous = OFF"); // from now on durability is our fdatasync (see top)
      this.st.touchOpens.run(); // creates the -wal file so it can be opened
      this.walFd = fs.openSync(file + "-wal", "r");
      fs.fdatasyncSync(this.walFd);
      syncDir(dir);
    } catch (e) {
      this.db.close();
      throw writeError(file, e);
    }
    this.commit = new GroupCommit(
      {
        transaction: (ops) => this.transaction(ops),
        sync: (cb) => {
          this.syncsInFlight++;
          fs.fdatasync(this.walFd, (err) => {
            // close() leaves the descriptor open for an fdatasync still running (see close)
            if (--this.syncsInFlight === 0 && this.closeWalFd) this.closeWal();
            cb(err);
          });
        },
        probe: () => this.st.touchOpens.run(),
      },
      { retryMs: opts.retryMs, onFault: (f) => this.opts.onFault?.(f), afterSync: () => this.maybeCheckpoint(), schedule: opts.schedule },
    );
  }

  private load(): void {
    for (const r of this.db.prepare("SELECT * FROM devices").all() as any[]) {
      this.devices.set(r.device, {
        seen: r.seen,
        missing: r.missing ? JSON.parse(r.missing) : [],
        dlSeq: r.dl_seq,
        cfgVersion: r.cfg_version,
        config: r.config ? JSON.parse(r.config) : null,
        availability: r.availability ? JSON.parse(r.availability) : null,
      });
    }
    for (const r of this.db.prepare("SELECT * FROM downlink ORDER BY device, seq").all() as any[]) {
      const q = this.downlinks.get(r.device) ?? [];
      q.push({ id: r.id, device: r.device, seq: r.seq, kind: r.kind, body: new Uint8Array(r.body), correlation: r.correlation, created: r.created });
      this.downlinks.set(r.device, q);
    }
    const s = this.db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(length(payload)),0) AS b, COALESCE(MAX(id),0) AS m FROM events").get() as { n: number; b: number; m: number };
    this.count = s.n;
    this.bytes = s.b + s.n * ROW_OVERHEAD;
    this.lastId = s.m;
    this.bd = Number((this.db.prepare("SELECT value FROM gateway WHERE key = 'bd_seq'").get() as { value: number } | undefined)?.value ?? 0);
  }

  // ---- events (the outbox) ----

  /** Highest reliable seq stored for the device (0 = none). */
  seen(device: number): number {
    return this.devices.get(device)?.seen ?? 0;
  }

  private record(device: number): DeviceRecord {
    let r = this.devices.get(device);
    if (!r) {
      r = { seen: 0, missing: [], dlSeq: 0, cfgVersion: 0, config: null, availability: null };
      this.devices.set(device, r);
    }
    return r;
  }

  /**
   * The device proved (fresh, authenticated DeviceInfo) that its next seq is `nextSeq` although a
   * higher one was stored: it was re-flashed or lost its flash. Lower the high-water so its new events
   * are not mistaken for retransmissions; event ids stay unique because its boot id changed.
   */
  resetSeen(device: number, nextSeq: number): void {
    const v = Math.max(0, nextSeq - 1);
    const rec = this.record(device);
    rec.seen = v;
    rec.missing = [];
    this.queueSeen(device, rec);
  }

  /**
   * The device's replay state (seen, missing) is written with the next batch, as it is when that batch
   * runs: one row write per device and batch however many of its events the batch holds. The batch that
   * holds an event's insert holds this write too (same transaction, same fsync), and a batch that fails
   * leaves it queued, to write the state as it is then (failed seqs marked missing again).
   */
  private queueSeen(device: number, rec: DeviceRecord): void {
    let w = this.seenWriters.get(device);
    if (!w) {
      w = () => this.st.seen.run(device, rec.seen, rec.missing.length ? JSON.stringify(rec.missing) : null);
      this.seenWriters.set(device, w);
    }
    this.commit.lazy(rec, w);
  }

  /**
   * One group-commit transaction: the queued writes in order, then the deletes of events the backend has,
   * as ranges of consecutive row ids (acks come mostly in outbox order, so a batch of hundreds of deletes
   * is a few statements). The deletes go last so that an event stored and acked within one batch is
   * inserted before it is deleted. A failed transaction keeps them for the next one.
   */
  private transaction(ops: Array<() => void>): void {
    const dels = this.toDelete;
    const byEventId = this.toDeleteByEventId;
    this.toDelete = [];
    this.toDeleteByEventId = [];
    let gone: Array<{ b: number }>;
    try {
      gone = this.st.tx(ops, dels, byEventId);
    } catch (e) {
      this.toDelete = dels.concat(this.toDelete);
      this.toDeleteByEventId = byEventId.concat(this.toDeleteByEventId);
      throw e;
    }
    for (const id of dels) this.removing.delete(id);
    // rows found only by their event id leave the counts now (a row whose delete by id was queued too
    // was gone by then: not counted twice)
    for (const r of gone) {
      this.count--;
      this.bytes -= r.b + ROW_OVERHEAD;
    }
  }

  /** Deletes row `id` with the next batch. */
  private queueDelete(id: number): void {
    this.removing.add(id);
    this.toDelete.push(id);
    this.carryDeletes();
  }

  private carryDeletes(): void {
    if (this.toDelete.length + this.toDeleteByEventId.length === 1) this.commit.lazy(DELETES, NOTHING); // a batch to carry them
  }

  /** true while new events go to disk only (the drain pages them from there once committed) */
  get spilled(): boolean {
    return this.spilledNow;
  }

  depth(): number {
    return this.count;
  }
  sizeBytes(): number {
    return this.bytes;
  }
  /** The storage fault in force (disk full, read-only, I/O error), or null. */
  get fault(): StorageFault | null {
    return this.commit.fault;
  }
  /** Transactions committed so far. */
  get commits(): number {
    return this.commit.commits;
  }
  /** fsyncs completed so far. */
  get syncs(): number {
    return this.commit.syncs;
  }

  /**
   * Takes an event. Resolves "stored" once it is durable, "duplicate" for a reliable seq already stored,
   * "full" when the bound leaves no room; rejects with a StorageFault when the disk refuses it.
   */
  submit(ev: NewEvent): Promise<SubmitResult> {
    return new Promise<SubmitResult>((resolve, reject) => this.accept(ev, (err, r) => (err ? reject(err) : resolve(r!))));
  }

  /** submit() for the hot path (one device event): `done` runs once, never synchronously. */
  accept(ev: NewEvent, done: SubmitDone): void {
    const fault = this.commit.fault;
    if (fault) return void process.nextTick(done, fault);
    const rec = this.record(ev.device);
    if (ev.seq !== 0 && ev.seq <= rec.seen && !rec.missing.includes(ev.seq)) {
      // seen before — but acked again only once the first copy is durable: while its batch is still on
      // its way to the disk, the answer waits for it (and is no ack at all if that batch fails)
      const first = this.inFlight.get(ev.device)?.get(ev.seq);
      if (!first) return void process.nextTick(done, null, "duplicate");
      (first.dups ??= []).push((err, r) => (err ? done(err) : done(null, r === "full" ? "full" : "duplicate")));
      return;
    }
    const size = ev.payload.length + ROW_OVERHEAD;
    const max = this.effectiveMax();
    if (max > 0 && this.bytes + size > max && !this.makeRoom(this.bytes + size - max)) {
      this.setFull(true);
      return void process.nextTick(done, null, "full");
    }
    const e = ev as StoredEvent;
    e.id = ++this.lastId;
    this.count++;
    this.bytes += size;
    let spilled = false;
    if (!this.spilledNow && this.tail.length - this.tailHead < (this.opts.tailCap ?? 4096)) {
      this.tail.push(e);
      this.outstanding.set(e.eventId, e);
    } else {
      this.spilledNow = true;
      spilled = true;
      this.spilledPending++;
    }
    let pending: Pending | null = null;
    let pendings: Map<number, Pending> | undefined;
    if (e.seq !== 0) {
      takeSeq(rec, e.seq);
      this.queueSeen(e.device, rec);
      pendings = this.inFlight.get(e.device);
      if (!pendings) this.inFlight.set(e.device, (pendings = new Map()));
      pending = { dups: null };
      pendings.set(e.seq, pending);
    }
    let result: SubmitResult = "stored";
    const st = this.st;
    this.commit.durableCb(
      () => {
        if (spilled) this.spilledPending--;
        spilled = false;
        const r = st.insert.run(e.id, e.eventId, e.device, e.boot, e.seq, e.type, e.priority, e.time, e.received, e.historical ? 1 : 0, e.payload);
        if (r.changes === 0) result = "duplicate"; // same event id stored before (cannot happen for device events)
      },
      (err) => {
        if (err) {
          if (spilled) this.spilledPending--;
          spilled = false;
          // committed but not fsynced: the row is in the database and stays in the outbox (and the drain);
          // rolled back: it is not stored, so it leaves the counts and the drain
          if (!err.committed) this.forget(e, size);
          // either way the device got no ack and sends it again: its seq is missing again, so the
          // retransmission goes through a durable batch instead of being taken for a duplicate
          if (e.seq !== 0) markMissing(rec, e.seq);
        } else if (result === "duplicate") this.forget(e, size);
        if (pending && pendings!.get(e.seq) === pending) pendings!.delete(e.seq);
        done(err, err ? undefined : result);
        if (pending?.dups) for (const d of pending.dups) d(err, err ? undefined : result);
      },
    );
  }

  /** An accepted event turned out not to be stored: it leaves the counts and the drain. */
  private forget(e: StoredEvent, size: number): void {
    if ((e as { gone?: boolean }).gone) return;
    (e as { gone?: boolean }).gone = true;
    this.count--;
    this.bytes -= size;
    this.outstanding.delete(e.eventId);
  }

  /** Events for the drain, oldest first, each handed out once (remove() or the process end retires them). */
  next(limit: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    while (out.length < limit) {
      if (this.tailHead < this.tail.length) {
        const e = this.tail[this.tailHead];
        this.tail[this.tailHead++] = undefined as unknown as StoredEvent;
        if (this.tailHead > 1024 && this.tailHead * 2 > this.tail.length) {
          this.tail = this.tail.slice(this.tailHead);
          this.tailHead = 0;
        }
        if ((e as { gone?: boolean }).gone) continue;
        this.cursor = e.id;
        out.push(e);
        continue;
      }
      if (!this.spilledNow) break;
      const want = limit - out.length;
      const rows = this.st.page.all(this.cursor, want) as any[];
      for (const r of rows) {
        this.cursor = r.id;
        if (this.removing.has(r.id)) continue;
        const e = rowToEvent(r);
        this.outstanding.set(e.eventId, e);
        out.push(e);
      }
      if (rows.length < want) {
        if (this.spilledPending === 0) this.spilledNow = false; // caught up: new events go to the tail again
        break;
      }
    }
    return out;
  }

  /** The backend has these events: they leave the outbox (counts now, rows in the next batch). */
  remove(eventIds: string[]): Array<{ eventId: string; type: string; received: number }> {
    const out: Array<{ eventId: string; type: string; received: number }> = [];
    for (const id of eventIds) {
      const e = this.outstanding.get(id);
      if (e) {
        this.outstanding.delete(id);
        if ((e as { gone?: boolean }).gone) continue;
        (e as { gone?: boolean }).gone = true;
        this.count--;
        this.bytes -= e.payload.length + ROW_OVERHEAD;
        this.queueDelete(e.id);
        out.push({ eventId: id, type: e.type, received: e.received });
        continue;
      }
      // not handed out by this process (e.g. acked again after a restart): found by its event id
      this.toDeleteByEventId.push(id);
      this.carryDeletes();
    }
    if (out.length > 0 && this.full) this.setFull(false);
    return out;
  }

  private setFull(full: boolean): void {
    if (full === this.full) return;
    this.full = full;
    this.opts.onFull?.(full);
  }

  /** Drops the oldest stored telemetry until `need` bytes are free; false when not enough can be dropped. */
  private makeRoom(need: number): boolean {
    let freed = 0;
    let after = 0;
    while (freed < need) {
      const victims = this.st.victims.all(after) as Array<{ id: number; event_id: string; type: string; b: number }>;
      if (victims.length === 0) return false;
      for (const v of victims) {
        after = v.id;
        if (this.removing.has(v.id)) continue;
        const o = this.outstanding.get(v.event_id);
        if (o) (o as { gone?: boolean }).gone = true;
        this.outstanding.delete(v.event_id);
        this.queueDelete(v.id);
        freed += v.b + ROW_OVERHEAD;
        this.count--;
        this.bytes -= v.b + ROW_OVERHEAD;
        this.opts.onDropped?.({ eventId: v.event_id, type: v.type });
        if (freed >= need) break;
      }
    }
    return true;
  }

  /** The configured bound, lowered when the disk itself is nearly full (0 = unbounded). statfs at most once a second. */
  private effectiveMax(): number {
    let max = this.opts.maxBytes ?? 0;
    const minFree = this.opts.minFreeBytes ?? 0;
    if (minFree > 0) {
      const now = performance.now();
      if (now - this.statfsAt > 1000) {
        this.statfsAt = now;
        try {
          const st = fs.statfsSync(path.dirname(this.file));
          this.statfsRoom = st.bavail * st.bsize - minFree;
        } catch {
          this.statfsRoom = Infinity; // statfs unsupported here: the configured bound still applies
        }
      }
      if (this.statfsRoom !== Infinity) {
        const room = Math.max(this.bytes + this.statfsRoom, 0);
        max = max > 0 ? Math.min(max, room) : room;
        if (max === 0) max = 1; // "no room at all", not "unbounded"
      }
    }
    return max;
  }

  // ---- devices ----

  device(id: number): Readonly<DeviceRecord> | undefined {
    return this.devices.get(id);
  }

  /** Remembers the availability published for a device (written with the next batch, not awaited). */
  setAvailability(device: number, a: Availability): void {
    this.record(device).availability = a;
    const json = JSON.stringify(a);
    this.commit.lazy(`avail:${device}`, () => this.st.availability.run(device, json));
  }

  // ---- downlink ----

  /**
   * Stores a downlink message under the device's next downlink seq; resolves once it is durable.
   * `config` (for a Config body): remembered as the device's last config, with its version.
   */
  queueDownlink(device: number, kind: string, body: Uint8Array, correlation = "", config?: { version: number; config: Record<string, any> }): Promise<DownlinkRow> {
    const rec = this.record(device);
    const seq = ++rec.dlSeq;
    const created = Math.floor((this.opts.now ?? Date.now)() / 1000);
    const row: DownlinkRow = { id: 0, device, seq, kind, body, correlation, created, pending: true };
    const q = this.downlinks.get(device) ?? [];
    q.push(row);
    this.downlinks.set(device, q);
    if (config) {
      rec.cfgVersion = Math.max(rec.cfgVersion, config.version);
      rec.config = config.config;
    }
    const cfgJson = config ? JSON.stringify(config.config) : null;
    const cfgVersion = rec.cfgVersion;
    return this.commit
      .durable(() => {
        this.st.dlSeq.run(device, seq);
        row.id = Number(this.st.dlInsert.run(device, seq, kind, body, correlation, created).lastInsertRowid);
        if (correlation) {
          // in the same transaction as the downlink: a command is remembered exactly when it is queued
          this.st.cmdInsert.run(device, correlation, seq, created);
          if (created - this.commandsPrunedAt >= 3600) {
            this.commandsPrunedAt = created;
            this.st.cmdPrune.run(created - COMMAND_MEMORY_S);
          }
        }
        if (cfgJson !== null) this.st.config.run(device, cfgVersion, cfgJson);
      })
      .then(
        () => {
          delete row.pending;
          return row;
        },
        (e: Error) => {
          const qq = this.downlinks.get(device) ?? [];
          const i = qq.indexOf(row);
          if (i >= 0) qq.splice(i, 1);
          throw e;
        },
      );
  }

  /** The next config version for the device (the config itself is stored with its downlink). */
  nextConfigVersion(device: number): number {
    return this.record(device).cfgVersion + 1;
  }
  lastConfig(device: number): Record<string, any> {
    return { ...(this.devices.get(device)?.config ?? {}) };
  }

  /**
   * The downlink queued with `correlation` (a backend command's "<command> <correlation id>"): still in
   * the device's queue, or acked by the device within the last COMMAND_MEMORY_S (the commands table).
   */
  commandDownlink(device: number, correlation: string): { seq: number; delivered: boolean } | undefined {
    const queued = this.downlinks.get(device)?.find((r) => r.correlation === correlation);
    if (queued) return { seq: queued.seq, delivered: false };
    const r = this.st.cmdGet.get(device, correlation) as { seq: number } | undefined;
    return r ? { seq: r.seq, delivered: true } : undefined;
  }

  /** The oldest undelivered downlink for the device. */
  nextDownlink(device: number): DownlinkRow | undefined {
    return this.downlinks.get(device)?.[0];
  }

  /** The device acked downlink seqs up to and including `seq`: they are delivered. Returns them. */
  ackDownlink(device: number, seq: number): DownlinkRow[] {
    const q = this.downlinks.get(device);
    if (!q || q.length === 0 || q[0].seq > seq) return [];
    let n = 0;
    while (n < q.length && q[n].seq <= seq) n++;
    const done = q.splice(0, n);
    this.commit.lazy(null, () => this.st.dlDelete.run(device, seq));
    return done;
  }

  downlinkDepth(device?: number): number {
    if (device !== undefined) return this.downlinks.get(device)?.length ?? 0;
    let n = 0;
    for (const q of this.downlinks.values()) n += q.length;
    return n;
  }

  // ---- gateway ----

  /** The MQTT birth sequence last handed out (0 before the first connection attempt). */
  get bdSeq(): number {
    return this.bd;
  }

  /** The next MQTT birth sequence (persisted with the next batch). */
  nextBdSeq(): number {
    const v = ++this.bd;
    this.commit.lazy("bd_seq", () => this.st.gatewaySet.run("bd_seq", v));
    return v;
  }

  /** Resolves when everything written so far is on disk. */
  sync(): Promise<void> {
    return this.commit.syncNow();
  }

  private maybeCheckpoint(): void {
    if (++this.sinceCheckpoint < (this.opts.checkpointEvery ?? 200)) return;
    this.sinceCheckpoint = 0;
    this.checkpoint();
  }

  /** Copies the WAL into the database file with fsyncs on both sides (see top). */
  checkpoint(): void {
    try {
      this.db.pragma("synchronous = FULL");
      this.db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // a failing disk: the WAL keeps everything; the fault shows on the next commit
    } finally {
      this.db.pragma("synchronous = OFF");
    }
  }

  close(): void {
    this.commit.close();
    if (!this.db.open) return;
    try {
      this.db.pragma("synchronous = FULL"); // close checkpoints: with fsyncs
      this.db.close();
    } catch {
      // a disk that refuses writes cannot take the closing checkpoint: the WAL keeps everything, and the
      // next open replays it
      if (this.db.open) this.db.close();
    } finally {
      // an fdatasync still in the thread pool must not meet a closed (or reused) descriptor
      if (this.syncsInFlight > 0) this.closeWalFd = true;
      else this.closeWal();
    }
  }

  private closeWal(): void {
    if (this.walFd >= 0) fs.closeSync(this.walFd);
    this.walFd = -1;
    this.closeWalFd = false;
  }
}

function prepareStatements(db: Database.Database) {
  const deleteRange = db.prepare("DELETE FROM events WHERE id BETWEEN ? AND ?");
  const deleteByEventId = db.prepare("DELETE FROM events WHERE event_id = ? RETURNING length(payload) AS b");
  /** the queued writes, then the deletes: by id in runs, then by event id; returns the rows the latter found */
  const tx = db.transaction((ops: Array<() => void>, dels: number[], byEventId: string[]): Array<{ b: number }> => {
    for (const op of ops) op();
    if (dels.length > 0) {
      dels.sort((a, b) => a - b);
      let from = dels[0];
      for (let i = 1; i <= dels.length; i++) {
        if (i < dels.length && dels[i] <= dels[i - 1] + 1) continue; // same run (or the same id twice)
        deleteRange.run(from, dels[i - 1]);
        if (i < dels.length) from = dels[i];
      }
    }
    const gone: Array<{ b: number }> = [];
    for (const id of byEventId) {
      const r = deleteByEventId.get(id) as { b: number } | undefined;
      if (r) gone.push(r);
    }
    return gone;
  });
  return {
    tx: (ops: Array<() => void>, dels: number[], byEventId: string[]) => tx(ops, dels, byEventId),
    insert: db.prepare("INSERT OR IGNORE INTO events(id, event_id, device, boot, seq, type, priority, time, received, historical, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)"),
    page: db.prepare("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?"),
    victims: db.prepare("SELECT id, event_id, type, length(payload) AS b FROM events WHERE priority = 0 AND id > ? ORDER BY id LIMIT 200"),
    seen: db.prepare("INSERT INTO devices(device, seen, missing) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET seen = excluded.seen, missing = excluded.missing"),
    availability: db.prepare("INSERT INTO devices(device, availability) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET availability = excluded.availability"),
    config: db.prepare("INSERT INTO devices(device, cfg_version, config) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET cfg_version = excluded.cfg_version, config = excluded.config"),
    dlSeq: db.prepare("INSERT INTO devices(device, dl_seq) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET dl_seq = excluded.dl_seq"),
    dlInsert: db.prepare("INSERT INTO downlink(device, seq, kind, body, correlation, created) VALUES (?,?,?,?,?,?)"),
    dlDelete: db.prepare("DELETE FROM downlink WHERE device = ? AND seq <= ?"),
    cmdInsert: db.prepare("INSERT OR REPLACE INTO commands(device, correlation, seq, created) VALUES (?,?,?,?)"),
    cmdGet: db.prepare("SELECT seq FROM commands WHERE device = ? AND correlation = ?"),
    cmdPrune: db.prepare("DELETE FROM commands WHERE created < ?"),
    gatewaySet: db.prepare("INSERT INTO gateway(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    touchOpens: db.prepare("INSERT INTO gateway(key, value) VALUES ('opens', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1"),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** A new reliable seq was accepted: raise the high-water (gaps become missing) or fill a gap. */
function takeSeq(rec: DeviceRecord, seq: number): void {
  if (seq > rec.seen) {
    const from = Math.max(rec.seen + 1, seq - MISSING_WINDOW);
    const gap: number[] = [];
    for (let s = from; s < seq; s++) gap.push(s);
    rec.missing = rec.missing.concat(gap).filter((s) => s > seq - MISSING_WINDOW);
    rec.seen = seq;
  } else rec.missing = rec.missing.filter((s) => s !== seq);
}

/** A seq whose write failed: new again. */
function markMissing(rec: DeviceRecord, seq: number): void {
  if (seq > rec.seen || rec.missing.includes(seq)) return;
  rec.missing = [...rec.missing, seq].sort((a, b) => a - b);
}

function rowToEvent(r: any): StoredEvent {
  const payload = new Uint8Array(r.payload);
  return {
    id: r.id, eventId: r.event_id, device: r.device, boot: r.boot, seq: r.seq, type: r.type, priority: r.priority,
    time: r.time, received: r.received, historical: !!r.historical, payload,
  };
}

/** A write error at open, as a message a person can act on. */
function writeError(file: string, e: unknown): Error {
  const code = String((e as { code?: string }).code ?? "");
  const msg = (e as Error).message;
  if (/READONLY|EROFS|EACCES|EPERM|CANTOPEN/.test(code) || /read-only|readonly|permission/i.test(msg))
    return new Error(`${file}: cannot write the outbox database (${msg}): the data directory ${path.dirname(file)} is read-only or not writable by this user; make it writable ([gateway] data_dir; under systemd: ReadWritePaths) — nothing in it is lost meanwhile`);
  if (/FULL|ENOSPC/.test(code) || /disk is full|no space/i.test(msg))
    return new Error(`${file}: the disk holding the outbox is full (${msg}); free space on it — nothing in it is lost meanwhile`);
  return new Error(`${file}: cannot open the outbox database: ${msg}; check [gateway] data_dir`);
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some file systems do not sync directories; the file itself is synced
  }
}

/** Opens (creating or migrating) the database; a damaged one is moved aside and salvaged. */
function openChecked(file: string): { db: Database.Database; damage: DamageReport | null } {
  let reason = "";
  if (fs.existsSync(file) && fs.statSync(file).size === 0 && !(fs.existsSync(file + "-wal") && fs.statSync(file + "-wal").size > 0)) {
    reason = "the file is empty (0 bytes): truncated";
  } else {
    let db: Database.Database | null = null;
    try {
      db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      const check = db.pragma("quick_check", { simple: true }) as string;
      if (check !== "ok") throw Object.assign(new Error(`quick_check: ${check}`), { code: "SQLITE_CORRUPT" });
      migrate(db);
      return { db, damage: null };
    } catch (e) {
      db?.close();
      if (!isDamage(e)) throw writeError(file, e);
      reason = (e as Error).message;
    }
  }
  // damaged: keep it untouched for inspection, salvage into a new file
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const movedTo = `${file}.damaged-${stamp}`;
  for (const suffix of ["", "-wal", "-shm"]) if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, movedTo + suffix);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  // salvage reads a copy: opening the damaged file itself could rewrite it (WAL replay), and it must stay as found
  const src = movedTo + ".salvage";
  let report: SalvageReport;
  try {
    if (fs.existsSync(movedTo)) fs.copyFileSync(movedTo, src);
    if (fs.existsSync(movedTo + "-wal")) fs.copyFileSync(movedTo + "-wal", src + "-wal");
    report = fs.existsSync(src) ? salvage(src, db) : { rows: {}, unreadable: { "*": reason }, version: -1 };
  } finally {
    for (const f of ["", "-wal", "-shm"]) fs.rmSync(src + f, { force: true });
  }
  migrate(db);
  // the replay high-water of a device whose row was lost: at least its highest salvaged seq
  db.exec("INSERT INTO devices(device, seen) SELECT device, MAX(seq) FROM events WHERE seq > 0 GROUP BY device ON CONFLICT(device) DO UPDATE SET seen = MAX(seen, excluded.seen)");
  return { db, damage: { reason, movedTo, salvage: report } };
}
