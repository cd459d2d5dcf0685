// Reads the alarm button's state off its LEDs, the way a person looking at it would. The patterns are
// the firmware's (firmware/alarm/indicator.ts, documented in firmware/README.md):
//   sending = red blinking, received = blue steady, acknowledged = green steady,
//   no-response = red and blue alternating, cancelled = blue blinking, maintenance = blue + green.
import type { SimDevice } from "../../simulator/index.ts";

export type AlarmLedState = "idle" | "sending" | "received" | "acknowledged" | "no-response" | "cancelled" | "maintenance";

/**
 * Classifies the LEDs from their levels now and how often each changed in the last `windowMs`
 * (default 1.2 s: longer than one blink), checked in an order that reads a state change at once
 * (e.g. red stops and blue lights: "received", not a blink).
 */
export function alarmLedState(dev: SimDevice, windowMs = 1200): AlarmLedState {
  const now = dev.clock.now();
  const look = (name: string) => {
    const led = dev.led(name);
    return { on: led.on, n: led.since(now - windowMs).length };
  };
  const r = look("led_red");
  const g = look("led_green");
  const b = look("led_blue");
  if (g.on && b.on) return "maintenance";
  if (r.n >= 2 && b.n >= 2) return "no-response";
  if (g.on && !r.on && !b.on) return "acknowledged";
  if (b.n >= 2 && !r.on && r.n === 0) return "cancelled";
  if (b.on && !r.on && !g.on) return "received";
  if ((r.on || r.n > 0) && !g.on && !b.on) return "sending"; // red blinking (a fault's double flash looks alike)
  return "idle";
}

/** Calls `cb` whenever the classified state changes (polled every `everyMs` of device time). */
export function watchAlarmLeds(dev: SimDevice, cb: (s: AlarmLedState) => void, everyMs = 200): () => void {
  let last: AlarmLedState | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const s = alarmLedState(dev);
    if (s !== last) {
      last = s;
      cb(s);
    }
    dev.clock.schedule(everyMs, tick);
  };
  tick();
  return () => {
    stopped = true;
  };
}
