// Pieces shared by the tests that run a simulated device (real firmware bundle) against the real gateway
// in one process: the gateway's side of an in-memory link, the gateway clock on the simulator's
// VirtualClock, a pump that runs virtual time at a multiple of real time (SQLite and MQTT stay on real
// time), and a polling wait.
import { BaseLink } from "../../gateway/transports/transport.ts";
import type { GatewayClock } from "../../gateway/index.ts";
import type { ClockTimer, LinkEnd, VirtualClock } from "../../simulator/index.ts";

/** The gateway's side of an in-memory link to a simulated device; remembers when (clock ms) the device last sent a byte. */
export class SimLink extends BaseLink {
  lastRx = 0;
  constructor(private readonly end: LinkEnd, name: string, now: () => number = Date.now) {
    super(name);
    end.onData((b) => {
      this.lastRx = now();
      this.emitData(b);
    });
  }
  async rawWrite(bytes: Uint8Array): Promise<void> {
    this.end.write(bytes);
  }
  rawClose(): void {}
}

/** The gateway core's clock on a VirtualClock (intervals re-arm before they run). */
export function gatewayClockOn(vc: VirtualClock): GatewayClock {
  return {
    now: () => vc.now(),
    monotonic: () => vc.now(), // virtual time never steps back
    setTimeout: (fn, ms) => vc.schedule(ms, fn),
    clearTimeout: (h) => vc.cancel(h as ClockTimer),
    setInterval: (fn, ms) => {
      const h: { t: ClockTimer | null } = { t: null };
      const tick = () => {
        h.t = vc.schedule(ms, tick);
        fn();
      };
      h.t = vc.schedule(ms, tick);
      return h;
    },
    clearInterval: (h) => vc.cancel((h as { t: ClockTimer }).t),
  };
}

/** Runs `clock` at `speed` × real time (speed 1 and a clock started at Date.now() keeps it at real time). Returns stop(). */
export function pumpClock(clock: VirtualClock, speed: number, everyMs = 5): () => void {
  let last = Date.now();
  const h = setInterval(() => {
    const now = Date.now();
    clock.runFor((now - last) * speed);
    last = now;
  }, everyMs);
  return () => clearInterval(h);
}

export { until } from "./wait.ts";
