// Group commit: every write the gateway makes in one event-loop turn — new events from all devices,
// deletes of events the backend has, availability, downlink, birth sequence — goes into ONE
// transaction, and one fsync makes all of it durable. The fsync runs on libuv's thread pool
// (fs.fdatasync on the WAL file, see store.ts), so the main thread keeps relaying frames and MQTT
// traffic while the disk works; at most one fsync is in flight, and the next one covers every
// transaction committed meanwhile (a slow SD card just makes the batches bigger).
//
// Two kinds of writes:
//  * durable(op)  its promise resolves only after the transaction holding it is committed AND fsynced.
//                 A device frame is acked only then ("stored before acknowledged").
//  * lazy(key, op) committed in the next batch, not awaited; a later write with the same key replaces
//                 a pending one (availability of a device: only the newest matters). On a failed batch
//                 lazy writes are kept and retried; a lost one on a power cut costs a republish or a
//                 re-sent availability, never an event (the replay high-water and event rows are durable).
//
// Storage faults (disk full, read-only file system, I/O error): the failed batch is rolled back, its
// durable writes are rejected (the frames stay unacked in the devices' own outboxes), and the store
// enters fault mode: durable writes are refused at once (no disk hammering), and a probe batch (the
// pending lazy writes plus a probe write) is tried every `retryMs` until one commits and syncs — then
// the fault clears and everything resumes. `onFault` reports both edges.

export class StorageFault extends Error {
  /**
   * true when the write was committed (it is in the database and will be read back) but the fsync that
   * should make it durable failed; false when the transaction was rolled back.
   */
  committed = false;
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function committedFault(f: StorageFault): StorageFault {
  const c = new StorageFault(f.message, f.code);
  c.committed = true;
  return c;
}

export interface CommitBackend {
  /** Runs the ops in one transaction (throws after rolling back when one fails). */
  transaction(ops: Array<() => void>): void;
  /** Makes everything committed so far durable; async (thread pool). */
  sync(cb: (err: Error | null) => void): void;
  /** A harmless write that proves the disk takes writes again (fault probe). */
  probe(): void;
}

export interface CommitOptions {
  /** how often a faulted store tries again */
  retryMs?: number;
  /** fault raised (error) or cleared (null) */
  onFault?: (fault: StorageFault | null) => void;
  /** after every successful sync (for checkpoints) */
  afterSync?: () => void;
  /** schedule the next batch; default setImmediate (one batch per event-loop turn) */
  schedule?: (fn: () => void) => void;
}

/** Told once: null when the write is committed and on disk, else why not. A plain callback, not a promise:
 *  one durable write per device event, and promises per event were a measurable share of the relay's GC. */
export type Waiter = (err: StorageFault | null) => void;
/** One queued write; `waiter` set for durable ones. Order is kept: a delete queued after an insert runs after it. */
type Entry = { op: () => void; waiter: Waiter | null; key: unknown };

export class GroupCommit {
  private queue: Entry[] = [];
  private keyed = new Map<unknown, Entry>();
  private scheduled = false;
  private syncing = false;
  /** committed, waiting for the next sync to start */
  private unsynced: Waiter[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  fault: StorageFault | null = null;
  /** transactions committed (for tests and the bench) */
  commits = 0;
  /** fsyncs completed */
  syncs = 0;
  private closed = false;

  constructor(private readonly backend: CommitBackend, private readonly opts: CommitOptions = {}) {}

  /** Resolves once `op` is committed and on disk; rejects with a StorageFault when it cannot be. */
  durable(op: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => this.durableCb(op, (err) => (err ? reject(err) : resolve())));
  }

  /** durable() for the hot path: `done` runs once, with null when `op` is committed and on disk (never synchronously). */
  durableCb(op: () => void, done: Waiter): void {
    const refused = this.fault ?? (this.closed ? new StorageFault("the store is closed", "CLOSED") : null);
    if (refused) {
      process.nextTick(done, refused);
      return;
    }
    this.queue.push({ op, waiter: done, key: null });
    this.kick();
  }

  /**
   * Written with the next batch; `key` (when not null) coalesces writes to the same thing (the newest op
   * runs). Any value can be a key (compared like Map keys): an object saves building a string per write.
   */
  lazy(key: unknown, op: () => void): void {
    if (this.closed) return;
    if (key !== null) {
      const e = this.keyed.get(key);
      if (e) {
        e.op = op;
        return;
      }
    }
    const e: Entry = { op, waiter: null, key };
    if (key !== null) this.keyed.set(key, e);
    this.queue.push(e);
    if (!this.fault) this.kick();
  }

  /** Writes not yet committed. */
  get pending(): number {
    return this.queue.length;
  }

  private kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    (this.opts.schedule ?? setImmediate)(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Commits what is queued now (also called by close()). */
  flush(): void {
    if (this.fault || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.keyed.clear();
    if (!this.run(batch)) return;
    for (const e of batch) if (e.waiter) this.unsynced.push(e.waiter);
    if (this.unsynced.length > 0) this.startSync();
  }

  /** One transaction; on failure: durable writes rejected, lazy ones kept (in order, ahead of newer ones), fault raised. */
  private run(batch: Entry[], extra?: () => void): boolean {
    try {
      const ops = batch.map((e) => e.op);
      if (extra) ops.push(extra);
      this.backend.transaction(ops);
      this.commits++;
      return true;
    } catch (e) {
      const f = toFault(e);
      const kept = batch.filter((x) => !x.waiter && !(x.key !== null && this.keyed.has(x.key)));
      for (const x of kept) if (x.key !== null) this.keyed.set(x.key, x);
      this.queue = [...kept, ...this.queue];
      for (const x of batch) x.waiter?.(f);
      this.enterFault(f);
      return false;
    }
  }

  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    this.syncing = true;
    const batch = this.unsynced;
    this.unsynced = [];
    this.backend.sync((err) => {
      this.syncing = false;
      if (err) {
        const f = toFault(err);
        const c = committedFault(f);
        for (const w of batch) w(c);
        for (const w of this.unsynced) w(c);
        this.unsynced = [];
        this.enterFault(f);
        return;
      }
      this.syncs++;
      for (const w of batch) w(null);
      this.opts.afterSync?.();
      this.startSync();
    });
  }

  /** Resolves when everything committed so far is on disk (used before close and by tests). */
  syncNow(): Promise<void> {
    if (this.fault) return Promise.reject(this.fault);
    this.flush();
    return new Promise<void>((resolve, reject) => {
      this.unsynced.push((err) => (err ? reject(err) : resolve()));
      this.startSync();
    });
  }

  private enterFault(f: StorageFault): void {
    const was = this.fault;
    this.fault = f;
    // durable writes queued behind the failed batch cannot succeed either: refuse them now
    const rest = this.queue;
    this.queue = rest.filter((x) => !x.waiter);
    for (const x of rest) x.waiter?.(f);
    if (!was) this.opts.onFault?.(f);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.probe();
    }, this.opts.retryMs ?? 1000);
    this.retryTimer.unref?.();
  }

  /** While faulted: the pending lazy writes plus a probe write, then a sync; success clears the fault. */
  private probe(): void {
    const batch = this.queue;
    this.queue = [];
    this.keyed.clear();
    const fault = this.fault;
    this.fault = null; // run() re-raises it on failure (without a second onFault: see `was` below)
    const ok = (() => {
      try {
        this.backend.transaction([...batch.map((e) => e.op), () => this.backend.probe()]);
        this.commits++;
        return true;
      } catch (e) {
        for (const x of batch) if (x.key !== null && !this.keyed.has(x.key)) this.keyed.set(x.key, x);
        this.queue = [...batch, ...this.queue];
        this.fault = toFault(e);
        return false;
      }
    })();
    if (!ok) return this.scheduleProbe();
    this.fault = fault; // still faulted until the sync proves the disk
    this.syncing = true;
    this.backend.sync((err) => {
      this.syncing = false;
      if (err) {
        this.fault = toFault(err);
        this.scheduleProbe();
        return;
      }
      this.syncs++;
      this.fault = null;
      this.opts.onFault?.(null);
      if (this.queue.length) this.kick();
      this.startSync();
    });
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.fault) this.flush();
    this.closed = true;
  }
}

/** SQLite / file-system error → StorageFault with a code a person can act on. */
export function toFault(e: unknown): StorageFault {
  if (e instanceof StorageFault) return e;
  const err = e as Error & { code?: string };
  const code = String(err.code ?? "EIO");
  return new StorageFault(err.message, code);
}
