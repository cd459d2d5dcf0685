// A push button on a pin from the board file. It drives the pin physically (so it persists across a
// power cycle: holding the button at power-on is visible to the firmware at boot). The idle level and
// the pressed level come from the board (`button_active_low`), i.e. the pull resistor on the board.
// With `bounceMs` each press and release chatters: a few random edges within that time before settling.
import type { Clock } from "../clock.ts";
import type { PinBank } from "../espruino/pins.ts";
import type { Prng } from "../prng.ts";

export interface ButtonOptions {
  /** contact bounce on press and release, ms (0 = clean edges) */
  bounceMs?: number;
  /** edges per bounce (default 4) */
  bounceEdges?: number;
}

export class Button {
  private pressedNow = false;
  private releaseTimer: ReturnType<Clock["schedule"]> | null = null;
  /** number of presses so far */
  presses = 0;
  bounceMs: number;
  bounceEdges: number;

  constructor(
    private readonly pins: PinBank,
    private readonly clock: Clock,
    private readonly rng: Prng,
    readonly pin: number,
    readonly activeLow: boolean,
    opts: ButtonOptions = {},
  ) {
    this.bounceMs = opts.bounceMs ?? 0;
    this.bounceEdges = opts.bounceEdges ?? 4;
    pins.drive(pin, this.level(false));
  }

  get pressed(): boolean {
    return this.pressedNow;
  }

  private level(pressed: boolean): 0 | 1 {
    return (pressed !== this.activeLow ? 1 : 0) as 0 | 1;
  }

  private set(pressed: boolean): void {
    this.pressedNow = pressed;
    const final = this.level(pressed);
    if (this.bounceMs > 0) {
      // chatter: alternate levels at random instants inside the bounce window, then settle
      const times: number[] = [];
      for (let i = 0; i < this.bounceEdges; i++) times.push(this.rng.next() * this.bounceMs);
      times.sort((a, b) => a - b);
      let l = final;
      this.pins.drive(this.pin, l);
      for (const t of times) {
        l = (l ^ 1) as 0 | 1;
        const lv = l;
        this.clock.schedule(t, () => this.pins.drive(this.pin, lv));
      }
      this.clock.schedule(this.bounceMs, () => this.pins.drive(this.pin, this.level(this.pressedNow)));
    } else {
      this.pins.drive(this.pin, final);
    }
  }

  /** press now and release after ms (true time) */
  press(ms = 150): void {
    this.hold();
    this.releaseTimer = this.clock.schedule(ms, () => {
      this.releaseTimer = null;
      this.release();
    });
  }

  /** press and keep it pressed */
  hold(): void {
    if (this.releaseTimer) this.clock.cancel(this.releaseTimer);
    this.releaseTimer = null;
    this.presses++;
    this.set(true);
  }

  release(): void {
    if (this.releaseTimer) this.clock.cancel(this.releaseTimer);
    this.releaseTimer = null;
    if (this.pressedNow) this.set(false);
  }
}
