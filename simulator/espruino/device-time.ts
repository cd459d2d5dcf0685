// A device's own view of time on a shared Clock: it starts where the device's RTC starts (0 after a
// power loss unless the board keeps time), runs fast or slow by `driftPpm`, and jumps on setTime().
// ESP32 clocks drift ~10 s/hour (≈ 2,800 ppm) without a crystal; a positive ppm runs fast.
import type { Clock } from "../clock.ts";

export class DeviceTime {
  private anchorTrue: number;
  private anchorLocal: number;
  private rate: number;

  constructor(
    private readonly clock: Clock,
    driftPpm = 0,
    startLocalMs = 0,
  ) {
    this.rate = 1 + driftPpm / 1e6;
    this.anchorTrue = clock.now();
    this.anchorLocal = startLocalMs;
  }

  /** device time in ms (what getTime()*1000 and Date.now() return) */
  nowMs(): number {
    return this.anchorLocal + (this.clock.now() - this.anchorTrue) * this.rate;
  }

  /** setTime(): the device's clock reads `localMs` from now on */
  set(localMs: number): void {
    this.anchorTrue = this.clock.now();
    this.anchorLocal = localMs;
  }

  setDrift(ppm: number): void {
    this.set(this.nowMs());
    this.rate = 1 + ppm / 1e6;
  }

  get driftPpm(): number {
    return (this.rate - 1) * 1e6;
  }

  /** true-time delay for a delay measured by the device's clock */
  toTrueDelay(localDelayMs: number): number {
    return localDelayMs / this.rate;
  }
}
