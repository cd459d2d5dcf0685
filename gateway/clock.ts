// The gateway core's time source (StartOptions.clock / new Gateway(..., clock)). Two readings:
//
//  * now()        wall time (Unix ms): what the gateway WRITES — event received, availability time,
//                 Hello/TimeSync gateway time, downlink created, backend payload times. It may jump when
//                 NTP steps the system clock (hours, either way, on a board without an RTC that just got
//                 network).
//  * monotonic()  ms since an arbitrary origin, never jumps: what the gateway MEASURES — a device's silence
//                 (heartbeat supervision), the handshake rate limit, how long an event has waited for the
//                 backend. A wall-clock step must neither declare every device lost (step forward) nor keep a
//                 dead one online for hours (step back).
//
// Every timer of the core (handshake retry, time sync, supervision tick, downlink retry) goes through
// setTimeout/setInterval here; Node's timers are monotonic already. A test puts the gateway on a simulator's virtual time (test/support/sim-gateway.ts),
// or steps only the wall reading to play an NTP step (gateway/clock.test.ts).
//
// Not on this clock: what only measures real I/O — the MQTT client's keepalive and socket timeouts, the
// backend's ack and command-reply timeouts (correlator.ts on realClock: a round trip to a real broker),
// the store's fsync, transports' reconnect polling, the metrics server, the registry file watch.
//
// Handles are opaque: whatever setTimeout/setInterval returned is what clearTimeout/clearInterval get.
import { performance } from "node:perf_hooks";

export interface GatewayClock {
  /** Unix time in ms (wall clock; may step) */
  now(): number;
  /** ms on a clock that never steps (only differences are meaningful) */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

type NodeTimer = ReturnType<typeof setTimeout>;

/**
 * The system clock. Timers are unref'd: the core's timers never keep a process alive by themselves (the
 * links, the MQTT socket and the metrics server do while the gateway runs).
 */
export const realClock: GatewayClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeTimer),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeTimer),
};

/**
 * A clock whose wall reading is another clock's plus an offset that a test can step, like NTP does;
 * monotonic time and timers are the base clock's, untouched.
 */
export function steppableClock(base: GatewayClock): GatewayClock & { step(ms: number): void; readonly offset: number } {
  let offset = 0;
  return {
    now: () => base.now() + offset,
    monotonic: () => base.monotonic(),
    setTimeout: (fn, ms) => base.setTimeout(fn, ms),
    clearTimeout: (h) => base.clearTimeout(h),
    setInterval: (fn, ms) => base.setInterval(fn, ms),
    clearInterval: (h) => base.clearInterval(h),
    step(ms: number) {
      offset += ms;
    },
    get offset() {
      return offset;
    },
  };
}
