// Drives the BLE radio from a simulator Clock (simulator/clock.ts, virtual or real time), so radio
// timing, the devices' timers and everything else on that clock interleave deterministically.
// Typed structurally: only schedule/cancel are needed.
import type { BleScheduler } from "./radio.ts";

export interface SchedulingClock {
  schedule(delayMs: number, fn: () => void): unknown;
  cancel(t: never): void;
}

export function clockScheduler(clock: SchedulingClock): BleScheduler {
  return {
    setTimeout: (fn, ms) => clock.schedule(ms, fn),
    clearTimeout: (h) => clock.cancel(h as never),
  };
}

/** The same clock as a timer source with `now()` (e.g. BleTransport's `timers` option in virtual time). */
export function clockTimers(clock: SchedulingClock & { now(): number }): BleScheduler & { now(): number } {
  return { ...clockScheduler(clock), now: () => clock.now() };
}
