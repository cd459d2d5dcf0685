// Pin state of one device, kept on the host so it outlives a power cycle where physics says so:
// what peripherals drive onto a pin (a held button, a battery voltage) persists; what the firmware set
// (modes, outputs, watches) is reset at power-on.
//
// Level of a pin = external drive if a peripheral drives it, else the firmware's output when the pin is
// an output, else its pull (input_pullup -> 1, otherwise 0).
// Espruino's auto mode is modelled: digitalWrite makes a pin an output and digitalRead makes it an
// input, unless pinMode() set the mode explicitly.

export const PIN_COUNT = 49;

export type PinMode = "analog" | "input" | "input_pullup" | "input_pulldown" | "output" | "opendrain" | "af_output" | "af_opendrain" | "opendrain_pullup" | "auto";

export interface PinChange {
  pin: number;
  level: 0 | 1;
  /** true time of the change, ms */
  time: number;
  /** "output": the firmware drove it; "external": a peripheral */
  source: "output" | "external" | "mode";
}

export interface PwmState {
  duty: number;
  freq: number;
}

interface PinState {
  mode: PinMode;
  forced: boolean;
  out: 0 | 1;
  ext: 0 | 1 | null;
  analog: number;
  pwm: PwmState | null;
}

const fresh = (): PinState => ({ mode: "input", forced: false, out: 0, ext: null, analog: 0, pwm: null });

export class PinBank {
  private pins: PinState[] = [];
  private listeners: Array<(c: PinChange) => void> = [];
  private pwmListeners: Array<(pin: number, pwm: PwmState | null, time: number) => void> = [];

  constructor(private readonly now: () => number) {
    for (let i = 0; i < PIN_COUNT; i++) this.pins.push(fresh());
  }

  /** Power-on: firmware-set state goes, external drives stay. */
  powerOnReset(): void {
    for (let i = 0; i < PIN_COUNT; i++) {
      const before = this.level(i);
      const p = this.pins[i];
      const wasOutput = this.outputLevel(i) !== null;
      p.mode = "input";
      p.forced = false;
      p.out = 0;
      if (p.pwm) this.setPwm(i, null);
      const after = this.level(i);
      // outputs that stop being driven are reported too (an active-low LED goes dark)
      if (after !== before || wasOutput) this.emit({ pin: i, level: after, time: this.now(), source: "mode" });
    }
  }

  check(pin: number): PinState {
    const p = this.pins[pin];
    if (!p) throw new Error(`pin ${pin} does not exist (D0..D${PIN_COUNT - 1})`);
    return p;
  }

  level(pin: number): 0 | 1 {
    const p = this.check(pin);
    if (p.ext !== null) return p.ext;
    if (p.mode === "output" || p.mode === "af_output") return p.out;
    if (p.mode === "opendrain" || p.mode === "af_opendrain" || p.mode === "opendrain_pullup") return p.out === 0 ? 0 : p.mode === "opendrain_pullup" ? 1 : 0;
    if (p.pwm) return p.pwm.duty > 0 ? 1 : 0;
    return p.mode === "input_pullup" ? 1 : 0;
  }

  /** the level the firmware is driving (for LEDs), or null when the pin is not an output */
  outputLevel(pin: number): 0 | 1 | null {
    const p = this.check(pin);
    if (p.mode === "output" || p.mode === "af_output" || p.mode === "opendrain" || p.mode === "opendrain_pullup" || p.mode === "af_opendrain") return p.out;
    return null;
  }

  mode(pin: number): PinMode {
    return this.check(pin).mode;
  }

  isForced(pin: number): boolean {
    return this.check(pin).forced;
  }

  private withChange(pin: number, source: PinChange["source"], mutate: (p: PinState) => void): void {
    const before = this.level(pin);
    const outBefore = this.outputLevel(pin);
    mutate(this.check(pin));
    const after = this.level(pin);
    if (after !== before || source === "output" || this.outputLevel(pin) !== outBefore) this.emit({ pin, level: after, time: this.now(), source });
  }

  /** pinMode(); "auto" returns the pin to automatic mode */
  setMode(pin: number, mode: PinMode, forced: boolean): void {
    this.withChange(pin, "mode", (p) => {
      p.mode = mode === "auto" ? p.mode : mode;
      p.forced = forced && mode !== "auto";
      if (mode !== "output" && p.pwm) p.pwm = null;
    });
  }

  /** digitalWrite() */
  write(pin: number, value: 0 | 1): void {
    const p = this.check(pin);
    if (p.pwm) this.setPwm(pin, null);
    this.withChange(pin, "output", (s) => {
      if (!s.forced) s.mode = "output";
      s.out = value;
    });
  }

  /** digitalRead() */
  read(pin: number): 0 | 1 {
    const p = this.check(pin);
    if (!p.forced && p.mode !== "input" && p.mode !== "input_pullup" && p.mode !== "input_pulldown") {
      this.withChange(pin, "mode", (s) => {
        s.mode = "input";
      });
    }
    return this.level(pin);
  }

  /** A peripheral drives the pin (null releases it). */
  drive(pin: number, level: 0 | 1 | null): void {
    this.withChange(pin, "external", (p) => {
      p.ext = level;
    });
  }

  /** A peripheral sets the analog input, as a fraction of Vref (0..1). */
  setAnalog(pin: number, fraction: number): void {
    this.check(pin).analog = Math.max(0, Math.min(1, fraction));
  }

  analog(pin: number): number {
    return this.check(pin).analog;
  }

  /** analogWrite(): PWM duty 0..1 at freq Hz; null stops it */
  setPwm(pin: number, pwm: PwmState | null): void {
    this.withChange(pin, "output", (p) => {
      p.pwm = pwm;
      if (pwm && !p.forced) p.mode = "output";
      if (pwm) p.out = pwm.duty > 0 ? 1 : 0;
    });
    for (const l of this.pwmListeners) l(pin, pwm, this.now());
  }

  pwm(pin: number): PwmState | null {
    return this.check(pin).pwm;
  }

  onChange(l: (c: PinChange) => void): () => void {
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  onPwm(l: (pin: number, pwm: PwmState | null, time: number) => void): () => void {
    this.pwmListeners.push(l);
    return () => {
      this.pwmListeners = this.pwmListeners.filter((x) => x !== l);
    };
  }

  private emit(c: PinChange): void {
    for (const l of this.listeners) l(c);
  }
}

/** "D17" | 17 | Pin object -> 17. Throws for anything else. */
export function pinNumber(p: unknown): number {
  if (typeof p === "number" && Number.isInteger(p) && p >= 0 && p < PIN_COUNT) return p;
  if (typeof p === "string") {
    const m = /^D(\d+)$/.exec(p);
    if (m && Number(m[1]) < PIN_COUNT) return Number(m[1]);
  }
  if (p && typeof p === "object" && typeof (p as { __pin?: unknown }).__pin === "number") return (p as { __pin: number }).__pin;
  throw new Error(`not a pin: ${String(p)} (expected D0..D${PIN_COUNT - 1})`);
}
