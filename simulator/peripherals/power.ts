// Battery voltage on an analog pin and mains presence on a digital pin.
// Battery: the board's divider and Vref map millivolts to what analogRead() returns (a fraction of
// Vref): analogRead = mV / divider / (vref * 1000). E.getBattery() reports a percentage between the
// board's empty_mv and full_mv.
import type { Board } from "../../hardware/boards.ts";
import type { PinBank } from "../espruino/pins.ts";

export class Battery {
  private mvNow: number;

  constructor(
    private readonly pins: PinBank,
    private readonly board: Board,
    readonly pin: number | null,
    initialMv?: number,
  ) {
    this.mvNow = initialMv ?? board.battery?.full_mv ?? 3300;
    this.set(this.mvNow);
  }

  get mv(): number {
    return this.mvNow;
  }

  set(mv: number): void {
    this.mvNow = mv;
    const b = this.board.battery;
    if (this.pin !== null) this.pins.setAnalog(this.pin, b ? mv / b.divider / (b.vref * 1000) : mv / 3300);
  }
}

/** Mains presence: the pin reads `activeLevel` while mains is present. */
export class Mains {
  private on = true;

  constructor(
    private readonly pins: PinBank,
    readonly pin: number,
    private readonly activeLevel: 0 | 1 = 1,
  ) {
    this.set(true);
  }

  get present(): boolean {
    return this.on;
  }

  set(present: boolean): void {
    this.on = present;
    this.pins.drive(this.pin, (present ? this.activeLevel : this.activeLevel ^ 1) as 0 | 1);
  }
}
