// Device time (Espruino subset). The interpreter clock (hal now) runs from an arbitrary origin until the
// gateway sends a time sync (Hello.gateway_time or TimeSync); then it is set, so events carry Unix
// seconds. A clock below 2020-01-01 is "not set": events stamped then are corrected when they are sent
// (clockFix), and the app can report FAULT_CLOCK_NOT_SET.
import { now, setClock } from "../hal/hal.ts";

/** 2020-01-01T00:00:00Z: any earlier device time means the clock was never set. */
export const CLOCK_VALID_FROM = 1577836800;

/** Unix seconds of the last sync (0 = never since boot) */
export let syncedAt = 0;
/** device minus gateway seconds measured at the last sync, before correcting */
export let clockErr = 0;
/** seconds to add to an event stamped in this boot before the clock was first set (0 = none needed) */
export let clockFix = 0;
/** sum of corrections applied (ms), so mono() does not jump when the clock is set */
let shift = 0;

/** milliseconds that never jump on a time sync (uptime, intervals) */
export function mono(): number {
  return now() + shift;
}

/** current Unix seconds (whole) */
export function unix(): number {
  return Math.floor(now() / 1000);
}

/** Applies a gateway time; returns the correction in seconds (device minus gateway). */
export function clockApply(unixS: number, millis: number): number {
  const gw = unixS + millis / 1000;
  const err = now() / 1000 - gw;
  if (unix() < CLOCK_VALID_FROM && clockFix === 0) clockFix = -Math.round(err);
  shift += err * 1000;
  setClock(gw);
  syncedAt = unixS;
  clockErr = Math.round(err);
  return clockErr;
}
