// An LED on an output pin, active high (the board files wire LEDs to light on a 1). It is lit while
// the firmware drives the pin high, or runs PWM on it with a duty above 0; off when the pin floats,
// including after a power cut.
import type { PinBank } from "../espruino/pins.ts";
import { OutputHistory } from "./output-history.ts";

export class Led extends OutputHistory<boolean> {
  constructor(
    private readonly pins: PinBank,
    readonly pin: number,
    readonly name: string,
    now: () => number,
  ) {
    super(false);
    const sample = (t: number): void => {
      const pwm = pins.pwm(pin);
      this.update(t, pwm ? pwm.duty > 0 : pins.outputLevel(pin) === 1);
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
