// The gateway's one request correlator: everything it sends and then waits for, with a deadline — an
// event published until the broker's PUBACK or the backend's EventAck, a command until the device has
// acknowledged its downlink. Modelled on zigbee-herdsman's Waitress: wait(key) gives a promise that
// resolve(key, value) settles, or that rejects with a TimeoutError naming what was waited for once the
// deadline passed; nothing waits forever and nothing is kept after its deadline.
//
// Deadlines are on the gateway clock's monotonic time (a wall-clock step changes no deadline). All
// waits of one correlator share its timeout, so deadlines grow in insertion order and ONE timer, set to
// the oldest wait's deadline, serves any number of waits; extend() moves a wait to the end with a new
// deadline (an event whose PUBACK came in now waits for its application ack).
import type { GatewayClock } from "./clock.ts";

export class TimeoutError extends Error {
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

/** A wait that was replaced by a newer one for the same key, or dropped by clear(). */
export class CancelledError extends Error {
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

/** How a wait is told its outcome: (null, value) or (the error). */
export type Settle<V> = (err: Error | null, value?: V) => void;

interface Waiter<V> {
  settle: Settle<V>;
  deadline: number;
}

export class Correlator<V = void> {
  private readonly waits = new Map<string, Waiter<V>>();
  private timer: unknown = null;
  private timerAt = Infinity;

  /** `describe(key)` names what is waited for in the timeout message, e.g. `PUBACK for event 1001:5:7`. */
  constructor(
    private readonly clock: GatewayClock,
    readonly timeoutMs: number,
    private readonly describe: (key: string) => string = (k) => k,
  ) {}

  /** Waits for `key`; a previous wait for the same key is cancelled (CancelledError). */
  wait(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => this.waitCb(key, (err, v) => (err ? reject(err) : resolve(v as V))));
  }

  /**
   * wait() without a promise, for waits made once per event (the drain): `settle` runs once, synchronously
   * from resolve() / reject() / extend()'s timeout / clear(), or from this call when it supersedes a wait.
   */
  waitCb(key: string, settle: Settle<V>): void {
    const old = this.waits.get(key);
    if (old) {
      this.waits.delete(key);
      old.settle(new CancelledError(key, `${this.describe(key)}: superseded by a newer wait`));
    }
    this.waits.set(key, { settle, deadline: this.clock.monotonic() + this.timeoutMs });
    this.arm();
  }

  /** Settles the wait for `key`; false when nothing waited for it (late, unknown or duplicate answer). */
  resolve(key: string, value: V): boolean {
    const w = this.waits.get(key);
    if (!w) return false;
    this.waits.delete(key);
    w.settle(null, value);
    return true;
  }

  reject(key: string, err: Error): boolean {
    const w = this.waits.get(key);
    if (!w) return false;
    this.waits.delete(key);
    w.settle(err);
    return true;
  }

  /** Gives the wait for `key` a fresh deadline; false when nothing waits for it. */
  extend(key: string): boolean {
    const w = this.waits.get(key);
    if (!w) return false;
    this.waits.delete(key);
    w.deadline = this.clock.monotonic() + this.timeoutMs;
    this.waits.set(key, w);
    this.arm();
    return true;
  }

  has(key: string): boolean {
    return this.waits.has(key);
  }
  get size(): number {
    return this.waits.size;
  }
  keys(): IterableIterator<string> {
    return this.waits.keys();
  }

  /** Cancels every wait (CancelledError with `why`). */
  clear(why: string): void {
    const all = [...this.waits];
    this.waits.clear();
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    for (const [k, w] of all) w.settle(new CancelledError(k, `${this.describe(k)}: ${why}`));
  }

  private arm(): void {
    const first = this.waits.values().next();
    if (first.done) return;
    const at = first.value.deadline;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.monotonic()));
  }

  private expire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.monotonic();
    const due: Array<[string, Waiter<V>]> = [];
    for (const [k, w] of this.waits) {
      if (w.deadline > now) break; // the rest are younger
      due.push([k, w]);
    }
    for (const [k] of due) this.waits.delete(k);
    this.arm();
    for (const [k, w] of due) w.settle(new TimeoutError(k, `no ${this.describe(k)} within ${this.timeoutMs / 1000} s`));
  }
}
