// Device time. The interpreter clock (Hal.now) runs from an arbitrary origin until the gateway sends
// a time sync (Hello.gateway_time or TimeSync); then we set it, so events carry Unix seconds.
// A clock below 2020-01-01 is "not set": events still carry it, and the app can report FAULT_CLOCK_NOT_SET.
import type { Hal } from "./hal.ts";

/** 2020-01-01T00:00:00Z: any earlier device time means the clock was never set. */
export const CLOCK_VALID_FROM = 1577836800;

export class Clock {
  hal: Hal;
  /** Unix seconds of the last sync (0 = never since boot) */
  syncedAt: number;
  /** device minus gateway seconds measured at the last sync, before correcting */
  lastError: number;
  /** sum of corrections applied (ms), so mono() does not jump when the clock is set */
  shift: number;
  /**
   * Seconds to add to a time stamped in this boot before the clock was first set (0 = none needed):
   * the link applies it to such events when it sends them, so they carry the real time.
   */
  fix: number;

  constructor(hal: Hal) {
    this.hal = hal;
    this.syncedAt = 0;
    this.lastError = 0;
    this.shift = 0;
    this.fix = 0;
  }

  /** milliseconds that never jump on a time sync (for uptime and intervals) */
  mono(): number {
    return this.hal.now() + this.shift;
  }

  /** current Unix seconds (whole) */
  unix(): number {
    return Math.floor(this.hal.now() / 1000);
  }

  /** the clock holds a plausible wall time */
  valid(): boolean {
    return this.unix() >= CLOCK_VALID_FROM;
  }

  /**
   * Applies a gateway time. Returns the correction in seconds (device minus gateway, before the fix),
   * so the app can report a large jump.
   */
  apply(unix: number, millis: number): number {
    const gw = unix + (millis || 0) / 1000;
    const err = this.hal.now() / 1000 - gw;
    if (!this.valid() && this.fix === 0) this.fix = -Math.round(err);
    this.shift += err * 1000;
    this.hal.setTime(gw);
    this.syncedAt = unix;
    this.lastError = Math.round(err);
    return this.lastError;
  }
}
