// Time sources for simulated devices, links and test gateways.
//
// VirtualClock: a discrete-event scheduler. Nothing happens between events, so days of device time run in
// seconds and a run is deterministic for a seed (events at the same instant fire in the order they were
// scheduled). RealtimeClock: the same interface on the wall clock, for demos and the real serial path.
// Times are true time in milliseconds since the Unix epoch; a device sees its own drifting view of it
// (see DeviceTime in espruino/device-time.ts).
import { createPrng, type Prng } from "./prng.ts";

export interface ClockTimer {
  readonly at: number;
  cancelled: boolean;
}

export interface Clock {
  /** true when time only moves through runFor/runUntil (tests), false on the wall clock */
  readonly virtual: boolean;
  /** true time, ms since the Unix epoch */
  now(): number;
  /** runs fn after delayMs of true time (0 = after what is already due now) */
  schedule(delayMs: number, fn: () => void): ClockTimer;
  cancel(t: ClockTimer | undefined): void;
  /** seeded randomness shared by everything on this clock (fork it per consumer) */
  readonly rng: Prng;
  /** lets time pass: synchronous on a VirtualClock, a Promise on a RealtimeClock */
  runFor(ms: number): void | Promise<void>;
}

interface QueuedEvent extends ClockTimer {
  seq: number;
  fn: () => void;
}

/** 2026-01-01T00:00:00Z: default start of virtual time */
export const DEFAULT_EPOCH_MS = 1767225600000;

export interface VirtualClockOptions {
  seed?: number | string;
  /** start time, ms since the Unix epoch */
  startMs?: number;
  /** events allowed at a single instant before runUntil stops with an error (catches zero-delay loops) */
  maxEventsPerInstant?: number;
}

export class VirtualClock implements Clock {
  readonly virtual = true;
  readonly rng: Prng;
  private t: number;
  private seq = 0;
  private heap: QueuedEvent[] = [];
  private readonly maxPerInstant: number;
  /** number of events run so far (for reports and benchmarks) */
  eventsRun = 0;

  constructor(opts: VirtualClockOptions = {}) {
    this.t = opts.startMs ?? DEFAULT_EPOCH_MS;
    this.rng = createPrng(opts.seed ?? 1);
    this.maxPerInstant = opts.maxEventsPerInstant ?? 100_000;
  }

  now(): number {
    return this.t;
  }

  schedule(delayMs: number, fn: () => void): ClockTimer {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const ev: QueuedEvent = { at: this.t + d, seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return ev;
  }

  cancel(t: ClockTimer | undefined): void {
    if (t) t.cancelled = true;
  }

  /** time of the next pending event, or undefined */
  nextEventAt(): number | undefined {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].at : undefined;
  }

  /** number of pending (not cancelled) events */
  pending(): number {
    return this.heap.filter((e) => !e.cancelled).length;
  }

  /** runs every event due up to and including absolute time `untilMs`, then sets now = untilMs */
  runUntil(untilMs: number): void {
    let instant = NaN;
    let atInstant = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.at > untilMs) break;
      this.pop();
      if (top.at === instant) {
        if (++atInstant > this.maxPerInstant)
          throw new Error(`VirtualClock: more than ${this.maxPerInstant} events at t=${new Date(instant).toISOString()}; a timer or link is rescheduling itself with zero delay`);
      } else {
        instant = top.at;
        atInstant = 1;
      }
      this.t = top.at;
      this.eventsRun++;
      top.fn();
    }
    if (untilMs > this.t) this.t = untilMs;
  }

  runFor(ms: number): void {
    this.runUntil(this.t + ms);
  }

  /** same as runFor (name used by tests that think in steps) */
  advance(ms: number): void {
    this.runFor(ms);
  }

  /**
   * Runs events until `done()` is true (checked before the first and after every event) or `maxMs` of
   * virtual time has passed. Returns whether done() became true.
   */
  runUntilTrue(done: () => boolean, maxMs: number): boolean {
    const limit = this.t + maxMs;
    if (done()) return true;
    for (;;) {
      const next = this.nextEventAt();
      if (next === undefined || next > limit) {
        this.runUntil(limit);
        return done();
      }
      this.runUntil(next);
      if (done()) return true;
    }
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
  }

  private less(a: QueuedEvent, b: QueuedEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(ev: QueuedEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): QueuedEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

export interface RealtimeClockOptions {
  seed?: number | string;
}

/** Wall-clock time with the Clock interface; events run from Node's event loop. */
export class RealtimeClock implements Clock {
  readonly virtual = false;
  readonly rng: Prng;
  private live = new Set<NodeJS.Timeout>();

  constructor(opts: RealtimeClockOptions = {}) {
    this.rng = createPrng(opts.seed ?? Date.now() % 0xffffffff);
  }

  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, fn: () => void): ClockTimer {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const t: ClockTimer & { handle?: NodeJS.Timeout } = { at: Date.now() + d, cancelled: false };
    // setTimeout caps at 2^31-1 ms; longer delays re-arm in steps.
    const arm = (): void => {
      const left = t.at - Date.now();
      t.handle = setTimeout(() => {
        if (t.handle) this.live.delete(t.handle);
        if (t.cancelled) return;
        if (t.at - Date.now() > 0x7fffffff) return arm();
        fn();
      }, Math.min(Math.max(left, 0), 0x7fffffff));
      this.live.add(t.handle);
    };
    arm();
    return t;
  }

  cancel(t: ClockTimer | undefined): void {
    if (!t) return;
    t.cancelled = true;
    const h = (t as { handle?: NodeJS.Timeout }).handle;
    if (h) {
      clearTimeout(h);
      this.live.delete(h);
    }
  }

  runFor(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /** cancels every pending event (shutdown) */
  stop(): void {
    for (const h of this.live) clearTimeout(h);
    this.live.clear();
  }
}
