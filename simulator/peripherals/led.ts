// An LED on an output pin. Active high unless the board says `<role>_active_low = true` (or
// `led_active_low = true` for all LEDs) in [pins]. It is lit while the firmware drives the pin to the
// active level, or runs PWM on it with a duty above 0 (inverted when active low); off when the pin
// floats, including after a power cut.
import type { PinBank } from "../espruino/pins.ts";
import { OutputHistory } from "./output-history.ts";

export class Led extends OutputHistory<boolean> {
  constructor(
    private readonly pins: PinBank,
    readonly pin: number,
    readonly name: string,
    now: () => number,
    readonly activeLow = false,
  ) {
    super(false);
    const sample = (t: number): void => {
      const pwm = pins.pwm(pin);
      const out = pins.outputLevel(pin);
      if (pwm) this.update(t, activeLow ? pwm.duty < 1 : pwm.duty > 0);
      else this.update(t, out === null ? false : activeLow ? out === 0 : out === 1);
    };
    pins.onChange((c) => {
      if (c.pin === pin) sample(c.time);
    });
    pins.onPwm((p, _pwm, t) => {
      if (p === pin) sample(t);
    });
    sample(now());
  }

  get on(): boolean {
    return this.state;
  }
}
