// Virtual dispenser hardware around a simulated ESP32, bound by the pin names of
// hardware/dispenser-esp32.toml:
//  * carousel: motor pin high = turning forward at one compartment per `stepMs`; the slot sensor is an
//    absolute encoder on an analog pin (reading = position / (compartments + 1), position 0 = home,
//    k = compartment k at the exit). A compartment empties into the tray when the carousel comes to
//    rest within ALIGN of it (a detent then snaps it exactly onto the compartment); turning past
//    compartments does not empty them (the exit is only open at rest). Jam on demand: the motor runs
//    but nothing moves. Power loss stops the motor where it is.
//  * tray sensor: high while something lies in the tray; `takeOut()` is the patient emptying it.
//  * lid switch (+ tamper contact for a forced opening), mains sense. The button and the battery are the
//    SimDevice's own peripherals (simulator/peripherals/button.ts, power.ts).
// Everything physical is recorded (`emptied`) so a scenario can prove "never a double dose".
import type { Clock, ClockTimer } from "../clock.ts";
import type { PinBank } from "../espruino/pins.ts";
import { pinNumber } from "../espruino/pins.ts";

/** A carousel at rest within this distance of a compartment empties it (and snaps onto it). */
export const ALIGN = 0.25;
const TICK_MS = 20;

export interface DispenserHwOptions {
  clock: Clock;
  pins: PinBank;
  /** the board: pins + [dispenser] + [battery] sections as hardware/boards.ts returns them */
  board: { pins: Record<string, string | boolean>; extra?: Record<string, Record<string, unknown>> };
}

export interface Emptied {
  compartment: number;
  /** true time, ms */
  at: number;
}

export class DispenserHw {
  readonly clock: Clock;
  readonly pins: PinBank;
  readonly compartments: number;
  readonly stepMs: number;
  position = 0;
  loaded: boolean[] = [];
  emptied: Emptied[] = [];
  tray = 0;
  /** most compartments that lay in the tray at once */
  trayMax = 0;
  jammed = false;
  motorOn = false;
  /** called when a compartment empties into the tray */
  onEmptied: ((compartment: number) => void) | null = null;
  /** number of times the motor was switched on */
  motorStarts = 0;
  lidOpen = false;
  forced = false;
  mains = true;
  private tick: ClockTimer | undefined;
  private lastMove = 0;
  private p: Record<string, number> = {};

  constructor(opts: DispenserHwOptions) {
    this.clock = opts.clock;
    this.pins = opts.pins;
    const d = (opts.board.extra?.dispenser ?? {}) as Record<string, number>;
    this.compartments = d.compartments ?? 28;
    this.stepMs = d.step_ms ?? 1500;
    for (const role of ["motor", "slot_sensor", "tray_sensor", "lid_switch", "tamper_switch", "mains_sense"]) {
      const name = opts.board.pins[role];
      if (typeof name !== "string") throw new Error(`board file: pins.${role} missing; the dispenser peripherals need it (see hardware/dispenser-esp32.toml)`);
      this.p[role] = pinNumber(name);
    }
    this.refill(this.compartments);
    this.pins.onChange((c) => {
      if (c.pin === this.p.motor) this.setMotor(c.level === 1);
    });
    this.applyInputs();
  }

  /** Drives every input pin from the physical state (call again after a power-on reset). */
  applyInputs(): void {
    this.pins.setAnalog(this.p.slot_sensor, this.position / (this.compartments + 1));
    this.pins.drive(this.p.tray_sensor, this.tray > 0 ? 1 : 0);
    this.pins.drive(this.p.lid_switch, this.lidOpen ? 1 : 0);
    this.pins.drive(this.p.tamper_switch, this.forced ? 1 : 0);
    this.pins.drive(this.p.mains_sense, this.mains ? 1 : 0);
  }

  /** A fresh carousel (cassette swap by the nurse): home position, n compartments loaded. */
  refill(n: number): void {
    this.position = 0;
    this.loaded = [];
    for (let c = 0; c <= this.compartments; c++) this.loaded.push(c >= 1 && c <= n);
    this.pins.setAnalog(this.p.slot_sensor, 0);
  }

  private setMotor(on: boolean): void {
    if (on === this.motorOn) return;
    this.advance();
    this.motorOn = on;
    if (on) {
      this.motorStarts++;
      this.lastMove = this.clock.now();
      this.schedule();
    } else {
      this.clock.cancel(this.tick);
      this.tick = undefined;
      this.rest();
    }
  }

  private schedule(): void {
    this.tick = this.clock.schedule(TICK_MS, () => {
      this.advance();
      if (this.motorOn) this.schedule();
    });
  }

  private advance(): void {
    const now = this.clock.now();
    if (this.motorOn && !this.jammed) {
      this.position += (now - this.lastMove) / this.stepMs;
      if (this.position > this.compartments + 0.49) this.position = this.compartments + 0.49; // mechanical stop
      this.pins.setAnalog(this.p.slot_sensor, this.position / (this.compartments + 1));
    }
    this.lastMove = now;
  }

  /** The carousel stopped: a compartment at the exit empties into the tray. */
  private rest(): void {
    const c = Math.round(this.position);
    if (Math.abs(this.position - c) >= ALIGN) return;
    this.position = c;
    this.pins.setAnalog(this.p.slot_sensor, c / (this.compartments + 1));
    if (c >= 1 && this.loaded[c]) {
      this.loaded[c] = false;
      this.emptied.push({ compartment: c, at: this.clock.now() });
      this.tray++;
      if (this.tray > this.trayMax) this.trayMax = this.tray;
      this.pins.drive(this.p.tray_sensor, 1);
      this.onEmptied?.(c);
    }
  }

  /** Power to the device is gone (mains and battery): the motor stops where it is. */
  powerLost(): void {
    this.setMotor(false);
  }

  /** The patient (or nurse) takes everything out of the tray. */
  takeOut(): void {
    if (this.tray === 0) return;
    this.tray = 0;
    this.pins.drive(this.p.tray_sensor, 0);
  }

  setLid(open: boolean, forced = false): void {
    this.lidOpen = open;
    this.forced = open && forced;
    this.pins.drive(this.p.tamper_switch, this.forced ? 1 : 0);
    this.pins.drive(this.p.lid_switch, open ? 1 : 0);
  }

  setMains(on: boolean): void {
    this.mains = on;
    this.pins.drive(this.p.mains_sense, on ? 1 : 0);
  }

  setJam(on: boolean): void {
    this.advance();
    this.jammed = on;
  }
}
