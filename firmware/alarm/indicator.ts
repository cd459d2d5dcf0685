// What the wearer sees and hears (Espruino subset). Each alarm state has a distinct LED pattern
// (red/green/blue LEDs stepped every STEP_MS) and a distinct buzzer pattern played on entering the
// state (no-response repeats it). Documented in firmware/README.md; the simulator reads the LED pins.
//
//   state          LEDs                                   buzzer (ms on, off, on, ...)
//   idle           all off                                silent
//   sending        red blinking 1 Hz                      one short beep
//   received       blue steady (gateway has the alarm)    two short beeps
//   acknowledged   green steady (a responder confirmed)   one long tone
//   no-response    red and blue alternating fast          five short beeps, repeated every 30 s
//   cancelled      blue blinking fast                     long-short-short
//   fault          red double flash                       seven very short beeps
//   maintenance    blue + green steady                    silent
import type { Hal } from "../core/hal.ts";

export const STEP_MS = 250;
export const NO_RESPONSE_REPEAT_MS = 30000;

/** Buzzer pattern of a state: on/off durations in ms. A function, not a table: no RAM held between uses. */
export function beepsFor(state: string): number[] | undefined {
  switch (state) {
    case "sending":
      return [100];
    case "received":
      return [100, 100, 100];
    case "acknowledged":
      return [700];
    case "no-response":
      return [100, 100, 100, 100, 100, 100, 100, 100, 100];
    case "cancelled":
      return [400, 100, 100, 100, 100];
    case "fault":
      return [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50];
  }
  return undefined;
}

export class Indicator {
  hal: Hal;
  red: string;
  green: string;
  blue: string;
  buzzer: string;
  state: string;
  step: number;
  timer: any;
  beepTimer: any;
  /** how many buzzer patterns started (tests read it) */
  beeps: number;

  constructor(hal: Hal, pins: any) {
    this.hal = hal;
    this.red = pins.led_red;
    this.green = pins.led_green;
    this.blue = pins.led_blue;
    this.buzzer = pins.buzzer;
    this.state = "idle";
    this.step = 0;
    this.timer = null;
    this.beepTimer = null;
    this.beeps = 0;
  }

  set(state: string): void {
    if (state === this.state) return;
    this.state = state;
    this.step = 0;
    this.beep(beepsFor(state));
    this.render();
    if (this.timer !== null) this.hal.clearTimeout(this.timer);
    this.timer = null;
    if (state !== "idle") this.nextFrame();
  }

  nextFrame(): void {
    const self = this;
    this.timer = this.hal.setTimeout(function () {
      self.timer = null;
      self.step++;
      if (self.state === "no-response" && (self.step * STEP_MS) % NO_RESPONSE_REPEAT_MS === 0) self.beep(beepsFor(self.state));
      self.render();
      if (self.state !== "idle") self.nextFrame();
    }, STEP_MS);
  }

  /** LED levels for the current state and step. */
  render(): void {
    const k = this.step;
    let r = false;
    let g = false;
    let b = false;
    const s = this.state;
    if (s === "sending") r = k % 4 < 2;
    else if (s === "received") b = true;
    else if (s === "acknowledged") g = true;
    else if (s === "no-response") {
      r = k % 2 === 0;
      b = !r;
    } else if (s === "cancelled") b = k % 2 === 0;
    else if (s === "fault") r = k % 8 === 0 || k % 8 === 2;
    else if (s === "maintenance") {
      g = true;
      b = true;
    }
    this.hal.write(this.red, r);
    this.hal.write(this.green, g);
    this.hal.write(this.blue, b);
  }

  /** Plays a pattern of on/off durations; a new pattern replaces one still playing. */
  beep(pattern: number[] | undefined): void {
    if (this.beepTimer !== null) this.hal.clearTimeout(this.beepTimer);
    this.beepTimer = null;
    this.hal.write(this.buzzer, false);
    if (!pattern) return;
    this.beeps++;
    const self = this;
    let i = 0;
    const next = function () {
      self.beepTimer = null;
      if (i >= pattern.length) {
        self.hal.write(self.buzzer, false);
        return;
      }
      self.hal.write(self.buzzer, i % 2 === 0);
      self.beepTimer = self.hal.setTimeout(next, pattern[i++]);
    };
    next();
  }
}
