// Reads the alarm button's state off its LEDs, the way a person looking at it would. The patterns are
// the firmware's (firmware/alarm/indicator.ts, documented in firmware/README.md), stepped every 250 ms:
//   sending = red blinking (500 ms on, 500 ms off), received = blue steady, acknowledged = green steady,
//   no-response = red and blue alternating every step, cancelled = blue blinking every step,
//   maintenance = blue + green, fault = red double flash.
// A state change is read at once, not after the blink history has aged out: the LEDs light now decide
// first, and "no-response" needs red and blue to have swapped together (the same instant) on each of
// their last two changes — which no transition between other states does (red blinking that turns into
// blue, blue that gives way to green a second after the press, ...).
import type { SimDevice } from "../../simulator/index.ts";

export type AlarmLedState = "idle" | "sending" | "received" | "acknowledged" | "no-response" | "cancelled" | "maintenance";

/** The part of a SimDevice the classifier reads (tests pass a recorded history). */
export interface LedView {
  clock: { now(): number };
  led(name: string): { on: boolean; since(ms: number): Array<{ time: number; state: boolean }> };
}

/** Two changes closer than this happened "together" (one render writes all three LEDs). */
const SAME_INSTANT_MS = 5;

/**
 * Classifies the LEDs from their levels now and their changes in the last `windowMs` (default 1.2 s:
 * longer than one blink period).
 */
export function alarmLedState(dev: SimDevice | LedView, windowMs = 1200): AlarmLedState {
  const view = dev as LedView;
  const now = view.clock.now();
  const look = (name: string) => {
    const led = view.led(name);
    const changes = led.since(now - windowMs);
    return { on: led.on, n: changes.length, times: changes.map((c) => c.time) };
  };
  const r = look("led_red");
  const g = look("led_green");
  const b = look("led_blue");
  if (g.on && b.on) return "maintenance";
  if (g.on && !r.on && !b.on) return "acknowledged";
  if (alternating(r.times, b.times) && r.on !== b.on) return "no-response";
  if (!r.on && !g.on && b.n >= 2 && !alternating(r.times, b.times)) return "cancelled";
  if (b.on && !r.on && !g.on) return "received";
  if ((r.on || r.n > 0) && !g.on && !b.on) return "sending"; // red blinking (a fault's double flash looks alike)
  return "idle";
}

/** Red and blue swapped at the same instants on each of their last two changes. */
function alternating(red: number[], blue: number[]): boolean {
  if (red.length < 2 || blue.length < 2) return false;
  const r2 = red.slice(-2);
  const b2 = blue.slice(-2);
  return Math.abs(r2[0] - b2[0]) <= SAME_INSTANT_MS && Math.abs(r2[1] - b2[1]) <= SAME_INSTANT_MS;
}

/**
 * A reading becomes the state once it has held for `settleMs` (more than one 250 ms step): entering a
 * pattern looks like another for its first step (cancelled starts with blue lit, like "received";
 * no-response starts with red lit, like "sending"), and a person does not see those either.
 */
export class LedStateSettler {
  private state: AlarmLedState | null = null;
  private candidate: AlarmLedState | null = null;
  private since = 0;
  constructor(private readonly settleMs = 300) {}
  /** A reading at time `t`; returns the new state when it changes, else null. */
  push(t: number, reading: AlarmLedState): AlarmLedState | null {
    if (reading !== this.candidate) {
      this.candidate = reading;
      this.since = t;
    }
    if (reading !== this.state && t - this.since >= this.settleMs) {
      this.state = reading;
      return reading;
    }
    return null;
  }
}

/** Calls `cb` whenever the settled state changes (polled every `everyMs` of device time). */
export function watchAlarmLeds(dev: SimDevice, cb: (s: AlarmLedState) => void, everyMs = 100): () => void {
  const settler = new LedStateSettler();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const s = settler.push(dev.clock.now(), alarmLedState(dev));
    if (s) cb(s);
    dev.clock.schedule(everyMs, tick);
  };
  tick();
  return () => {
    stopped = true;
  };
}
