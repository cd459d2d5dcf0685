// A GatewayClock (gateway/clock.ts) that moves only when a test says so: advance(ms) runs every timer due,
// in deadline order, with now() and monotonic() at each timer's deadline; stepWall(ms) plays an NTP step
// (the wall reading jumps, monotonic time and timers do not). For unit tests of the gateway's session and
// correlation logic without sleeps; tests with simulated devices use the simulator's VirtualClock instead.
import type { GatewayClock } from "../../gateway/clock.ts";

interface Timer {
  at: number;
  fn: () => void;
  every: number; // 0 = once
  id: number;
  live: boolean;
}

export class ManualClock implements GatewayClock {
  private mono = 0;
  private wallOffset: number;
  private timers: Timer[] = [];
  private nextId = 0;

  constructor(startWallMs = Date.UTC(2026, 10, 23, 6, 0, 0)) {
    this.wallOffset = startWallMs;
  }
  now(): number {
    return this.mono + this.wallOffset;
  }
  monotonic(): number {
    return this.mono;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, 0);
  }
  setInterval(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, Math.max(1, ms));
  }
  clearTimeout(h: unknown): void {
    if (h) (h as Timer).live = false;
  }
  clearInterval(h: unknown): void {
    this.clearTimeout(h);
  }
  private add(fn: () => void, ms: number, every: number): Timer {
    const t: Timer = { at: this.mono + Math.max(0, ms), fn, every, id: ++this.nextId, live: true };
    this.timers.push(t);
    return t;
  }
  /** Timers still pending. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
  /** Moves time forward by `ms`, running every timer that falls due (and timers those timers set). */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      let next: Timer | null = null;
      for (const t of this.timers) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (!next) break;
      this.mono = Math.max(this.mono, next.at);
      if (next.every) next.at += next.every;
      else next.live = false;
      next.fn();
    }
    this.mono = end;
  }
  /** An NTP step of the wall clock by `ms` (either sign). */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }
}
