// A device clock for the demo that runs at real time, except when told to fast-forward. A dispenser's
// day is hours of waiting between doses; the demo jumps over the waits (×60: ten minutes in ten seconds)
// and slows back to real time just before something happens, so the events, the carousel and the
// acknowledgements between the device and the real gateway go at their real pace — a device that
// resends an event because the gateway's acknowledgement took "too long" in fast-forward would only
// confuse the picture.
// It is a simulator VirtualClock pumped from Node's event loop: at speed s, each wall millisecond
// advances it by s milliseconds. It starts at the wall clock's time; after a fast-forward it stays ahead
// by what was skipped (the device's own time, which its events carry).
import { VirtualClock } from "../../simulator/index.ts";

export class PacedClock {
  readonly clock: VirtualClock;
  private speed = 1;
  private target: { at: number; done: () => void } | null = null;
  private last = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(seed: number | string = "varde-demo", everyMs = 10) {
    this.clock = new VirtualClock({ seed, startMs: Date.now() });
    this.timer = setInterval(() => this.pump(), everyMs);
  }

  /** ms the device clock is ahead of the wall clock */
  get ahead(): number {
    return this.clock.now() - Date.now();
  }

  /** Runs at `speed` × real time until device time `at`, then at real time again (at once when `at` is past). */
  fastForward(at: number, speed: number): Promise<void> {
    this.target?.done();
    this.target = null;
    this.speed = 1;
    return new Promise<void>((done) => {
      if (at <= this.clock.now()) return done();
      this.speed = speed;
      this.target = { at, done };
    });
  }

  private pump(): void {
    const now = Date.now();
    const wall = now - this.last;
    this.last = now;
    let step = wall * this.speed;
    const t = this.target;
    if (t && this.clock.now() + step >= t.at) {
      // the rest of this wall interval runs at real time
      const used = (t.at - this.clock.now()) / this.speed;
      this.clock.runUntil(t.at);
      this.speed = 1;
      this.target = null;
      t.done();
      step = Math.max(0, wall - used);
    }
    this.clock.runFor(step);
  }

  stop(): void {
    clearInterval(this.timer);
    this.target?.done();
    this.target = null;
  }
}
