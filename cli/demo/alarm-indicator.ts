// Reads the alarm button's state off its LEDs, the way a person looking at it would. The patterns are
// the firmware's (firmware/alarm/indicator.ts, documented in firmware/README.md):
//   sending = red blinking, received = blue steady, acknowledged = green steady,
//   no-response = red and blue alternating, cancelled = blue blinking, maintenance = blue + green.
import type { SimDevice } from "../../simulator/index.ts";

export type AlarmLedState = "idle" | "sending" | "received" | "acknowledged" | "no-response" | "cancelled" | "maintenance";

/** Classifies the LEDs over the last `windowMs` (default 1.2 s: longer than one 1 Hz blink). */
export function alarmLedState(dev: SimDevice, windowMs = 1200): AlarmLedState {
  const now = dev.clock.now();
  const look = (name: string) => {
    const led = dev.led(name);
    return { on: led.on, toggled: led.since(now - windowMs).length > 0 };
  };
  const r = look("led_red");
  const g = look("led_green");
  const b = look("led_blue");
  const steady = (x: { on: boolean; toggled: boolean }) => x.on && !x.toggled;
  if (steady(g) && steady(b)) return "maintenance";
  if (steady(g) && !r.on && !b.on) return "acknowledged";
  if (steady(b) && !r.on && !g.on) return "received";
  if (r.toggled && b.toggled) return "no-response";
  if (r.toggled && !g.on && !b.on) return "sending"; // red blinking (a fault's double flash looks alike)
  if (b.toggled && !r.toggled && !g.on) return "cancelled";
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
