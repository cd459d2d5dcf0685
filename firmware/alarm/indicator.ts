// What the wearer sees and hears (Espruino subset, flat: no objects kept in RAM). Each state has a
// distinct LED pattern (red/green/blue stepped every STEP_MS) and a distinct buzzer pattern played on
// entering it (no-response repeats it every 30 s). Documented in firmware/README.md; the simulator and
// the host board's tests read the LED pins (cli/demo/alarm-indicator.ts classifies them).
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
import { pinOut, later, cancel } from "../hal/hal.ts";

export const enum Show {
  idle = 0,
  sending = 1,
  received = 2,
  acknowledged = 3,
  noResponse = 4,
  cancelled = 5,
  fault = 6,
  maintenance = 7,
}

export const STEP_MS = 250;
export const NO_RESPONSE_REPEAT_MS = 30000;

/** the state shown */
export let shown: number = Show.idle;
let step = 0;
let timer: any = null;
/** the buzzer pattern playing (on/off durations), its position and timer */
let bp: number[] | null = null;
let bi = 0;
let bt: any = null;
/** buzzer patterns started since boot (tests read it) */
export let beeps = 0;

/** Buzzer pattern of a state: on/off durations in ms (made when played, not kept). */
function beepsFor(s: number): number[] | null {
  if (s === Show.sending) return [100];
  if (s === Show.received) return [100, 100, 100];
  if (s === Show.acknowledged) return [700];
  if (s === Show.noResponse) return [100, 100, 100, 100, 100, 100, 100, 100, 100];
  if (s === Show.cancelled) return [400, 100, 100, 100, 100];
  if (s === Show.fault) return [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50];
  return null;
}

export function show(s: number): void {
  if (s === shown) return;
  shown = s;
  step = 0;
  beep(beepsFor(s));
  render();
  cancel(timer);
  timer = blinks(s) ? later(frame, STEP_MS) : null;
}

/** States whose LEDs change over time; the steady ones are drawn once (no timer: battery, RAM). */
function blinks(s: number): boolean {
  return s === Show.sending || s === Show.noResponse || s === Show.cancelled || s === Show.fault;
}

function frame(): void {
  step++;
  if (shown === Show.noResponse && (step * STEP_MS) % NO_RESPONSE_REPEAT_MS === 0) beep(beepsFor(shown));
  render();
  timer = blinks(shown) ? later(frame, STEP_MS) : null;
}

/** LED levels for the current state and step. */
function render(): void {
  const k = step;
  const s = shown;
  let r = false;
  let g = false;
  let b = false;
  if (s === Show.sending) r = k % 4 < 2;
  else if (s === Show.received) b = true;
  else if (s === Show.acknowledged) g = true;
  else if (s === Show.noResponse) {
    r = k % 2 === 0;
    b = !r;
  } else if (s === Show.cancelled) b = k % 2 === 0;
  else if (s === Show.fault) r = k % 8 === 0 || k % 8 === 2;
  else if (s === Show.maintenance) {
    g = true;
    b = true;
  }
  pinOut(BOARD.pins.led_red, r);
  pinOut(BOARD.pins.led_green, g);
  pinOut(BOARD.pins.led_blue, b);
}

/** Plays a pattern of on/off durations; a new pattern replaces one still playing. */
function beep(pattern: number[] | null): void {
  cancel(bt);
  bt = null;
  pinOut(BOARD.pins.buzzer, false);
  bp = pattern;
  bi = 0;
  if (!pattern) return;
  beeps++;
  beepNext();
}

function beepNext(): void {
  bt = null;
  if (!bp || bi >= bp.length) {
    pinOut(BOARD.pins.buzzer, false);
    bp = null;
    return;
  }
  pinOut(BOARD.pins.buzzer, bi % 2 === 0);
  bt = later(beepNext, bp[bi++]);
}
