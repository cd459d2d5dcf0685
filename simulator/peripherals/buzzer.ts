// A buzzer on an output pin: sounding while PWM runs with a duty above 0 (frequency recorded) or while
// the pin is driven high (a self-oscillating piezo, frequency 0 = "its own tone").
import type { PinBank } from "../espruino/pins.ts";
import { OutputHistory } from "./output-history.ts";

export interface BuzzerState {
  on: boolean;
  freq: number;
}

export class Buzzer extends OutputHistory<BuzzerState> {
  constructor(
    pins: PinBank,
    readonly pin: number,
    now: () => number,
  ) {
    super({ on: false, freq: 0 }, (a, b) => a.on === b.on && a.freq === b.freq);
    const sample = (t: number): void => {
      const pwm = pins.pwm(pin);
      if (pwm) this.update(t, pwm.duty > 0 ? { on: true, freq: pwm.freq } : { on: false, freq: 0 });
      else this.update(t, pins.outputLevel(pin) === 1 ? { on: true, freq: 0 } : { on: false, freq: 0 });
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
    return this.state.on;
  }

  /** number of times it started sounding */
  get beeps(): number {
    return this.history.filter((c) => c.state.on).length;
  }
}
