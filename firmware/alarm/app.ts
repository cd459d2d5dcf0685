// The alarm-button application (Espruino subset, flat: top-level functions over a few variables, no
// classes or closures kept in RAM: docs/firmware-memory.md). It stands on the device core through its
// port (firmware/core/port.ts).
//
// Gestures (see firmware/README.md):
//  * press mode (default): a press raises an alarm at once (queued in the flash outbox before anything
//    else). hold mode (Config.hold_to_alarm): holding hold_ms raises it (Alarm.hold = true).
//  * a press inside the cancel window (cancel_window_s after the alarm) cancels it: an Alarm with
//    cancel = true and alarm_seq = the cancelled alarm's seq is sent, reliably. Presses less than
//    cancel_guard_ms after the alarm press never cancel: a frightened wearer pressing again and again
//    keeps the alarm.
//  * test_presses quick presses within test_press_window_ms, or COMMAND_TEST_ALARM, raise a test alarm
//    (Alarm.test). In press mode the gesture's first press has already raised a real alarm: it stays
//    (never cancelled or replaced by the test) and the LEDs keep showing it; the test alarm is sent
//    beside it. In hold mode short presses raise nothing, so the gesture is a clean test.
//  * holding the button while powering on for MAINTENANCE_HOLD_MS moves the REPL to the data port.
// States shown and heard (indicator.ts): sending -> received (gateway ack) -> acknowledged (AlarmAck
// from a responder); no AlarmAck within ack_timeout_s -> no-response + FAULT_ACK_TIMEOUT (and a later
// AlarmAck still turns it to acknowledged). The timeout runs from the press and is restarted when the
// gateway acks the alarm: an alarm that timed out while the gateway was unreachable goes back to
// "received" once delivered, and times out again if no responder answers after that.
// Supervision: a best-effort Heartbeat every heartbeat_s (set by Config) with battery and outbox depth.
// Battery: Battery{low} queued (reliable) when crossing below low_mv and when back above it; a
// best-effort Battery with the days-left estimate after each handshake and then daily.
import { pinIn, adc, watch, later, cancel, maintenance } from "../hal/hal.ts";
import { pbBeg, pbEnd, pv, pr, prEnd } from "../../protocol/pb.ts";
import { Envelope, Alarm, AlarmAck, Config, ConfigAck, Command, CommandKind, Battery, DeviceKind, FaultCode } from "../../protocol/gen/fields.ts";
import { MAX_ERROR_BYTES } from "../../protocol/caps.ts";
import { startDevice, heartbeat, reportFull, battPct, CLOCK_JUMP_S } from "../core/device.ts";
import { bodyStart, queue, sendBody, fault, internalError } from "../core/link.ts";
import { obHas, CLS_CRITICAL, CLS_TELEMETRY } from "../core/outbox.ts";
import { mono, unix } from "../core/clock.ts";
import { stGet, stSet } from "../core/state.ts";
import { show, shown, Show } from "./indicator.ts";
import type { AppPort } from "../core/port.ts";

export const MAINTENANCE_HOLD_MS = 5000;
/** how long "acknowledged" and "cancelled" stay shown before idle */
export const SHOW_ACK_MS = 30000;
export const SHOW_CANCEL_MS = 3000;
/** a best-effort Battery report (with the days-left estimate) goes out at least this often */
export const BATTERY_REPORT_MS = 24 * 3600 * 1000;
/** battery must rise this far above low_mv to clear the low state */
const BATTERY_HYSTERESIS_MV = 100;

// configuration: board defaults overlaid with the last Config from the backend (state "cf")
let cfVer = 0;
let hbS = 0;
let cancelS = 0;
let ackS = 0;
let holdMode = false;
let holdMs = 0;

/** seq of the alarm being shown (0 = none), whether it is a test, and mono() of its press */
let alarmSeq = 0;
let alarmTest = false;
let alarmAt = 0;
let gatewayHas = false;
let cancelUntil = 0;
let ackTimer: any = null;
let holdTimer: any = null;
let showTimer: any = null;
let hbTimer: any = null;
/** mono() of the last presses (at most test_presses) */
let presses: number[] = [];
let maint = false;
let batteryLow = false;
/** mono() of the last Battery report (-1: none since boot) */
let batteryAt = -1;

function loadConfig(): void {
  const c = stGet("cf", {});
  cfVer = c.v || 0;
  hbS = c.h || BOARD.defaults.heartbeat_s;
  cancelS = c.c || BOARD.defaults.cancel_window_s;
  ackS = c.a || BOARD.defaults.ack_timeout_s;
  holdMode = c.t !== undefined ? c.t : BOARD.defaults.hold_to_alarm;
  holdMs = c.m || BOARD.defaults.hold_ms;
}

function pressed(level: boolean): boolean {
  return BOARD.pins.button_active_low ? !level : level;
}

/** Starts the app; false when the device has no identity. */
export function startAlarm(): boolean {
  loadConfig();
  batteryLow = stGet("bl", false);
  if (!startDevice(port)) return false;
  // maintenance gesture: button held at power-on for MAINTENANCE_HOLD_MS
  if (pressed(pinIn(BOARD.pins.button))) later(maintCheck, MAINTENANCE_HOLD_MS);
  watch(BOARD.pins.button, BOARD.pins.button_active_low ? "input_pullup" : "input_pulldown", BOARD.defaults.debounce_ms, onButton);
  resume();
  scheduleHeartbeat(2000);
  return true;
}

function maintCheck(): void {
  if (!pressed(pinIn(BOARD.pins.button))) return;
  maint = true;
  show(Show.maintenance);
  maintenance();
}

function onButton(level: boolean): void {
  try {
    button(pressed(level));
  } catch (e) {
    internalError(e);
  }
}

/** After a reboot: show the alarm that was still open (persisted in state "al"). */
function resume(): void {
  const a = stGet("al", null);
  if (!a) return;
  alarmSeq = a.s;
  alarmTest = !!a.t;
  gatewayHas = !obHas(a.s);
  const left = a.at + ackS - unix();
  show(gatewayHas ? Show.received : Show.sending);
  armAckTimer(left > 0 ? left * 1000 : 0);
}

function button(down: boolean): void {
  if (maint) return;
  if (!down) {
    cancel(holdTimer);
    holdTimer = null;
    return;
  }
  const now = mono();
  presses.push(now);
  if (presses.length > BOARD.defaults.test_presses) presses.splice(0, 1);
  if (presses.length === BOARD.defaults.test_presses && now - presses[0] <= BOARD.defaults.test_press_window_ms) {
    presses = [];
    raiseTest();
    return;
  }
  if (alarmSeq && now < cancelUntil) {
    if (now - alarmAt < BOARD.defaults.cancel_guard_ms) return; // part of a burst: the alarm stands
    cancelAlarm();
    return;
  }
  if (!holdMode) {
    raise(false, false);
    return;
  }
  holdTimer = later(holdDone, holdMs);
}

function holdDone(): void {
  holdTimer = null;
  try {
    raise(false, true);
  } catch (e) {
    internalError(e);
  }
}

function alarmBody(test: boolean, hold: boolean, cancelled: boolean, seq: number): void {
  bodyStart();
  pbBeg(Envelope.alarm);
  pv(Alarm.test, test);
  pv(Alarm.cancel, cancelled);
  pv(Alarm.alarmSeq, seq);
  pv(Alarm.hold, hold);
  pbEnd();
}

/**
 * A test alarm. While a real alarm is open it is sent beside it and the LEDs keep showing the real
 * one (a test must never hide or replace an alarm); otherwise it is raised like an alarm.
 */
function raiseTest(): void {
  if (alarmSeq && !alarmTest) {
    alarmBody(true, false, false, 0);
    if (!queue(CLS_CRITICAL)) reportFull();
    return;
  }
  raise(true, false);
}

/** Raises an alarm (test: a test alarm; hold: raised by a long hold). */
function raise(test: boolean, hold: boolean): void {
  alarmBody(test, hold, false, 0);
  const seq = queue(CLS_CRITICAL);
  cancel(showTimer);
  showTimer = null;
  if (!seq) {
    // flash outbox full of unsent critical events: still try once, live, and show the fault
    sendBody();
    reportFull();
    show(Show.fault);
    return;
  }
  alarmSeq = seq;
  alarmTest = test;
  alarmAt = mono();
  gatewayHas = false;
  cancelUntil = alarmAt + cancelS * 1000;
  stSet("al", { s: seq, t: test, at: unix() });
  show(Show.sending);
  // a link that answers synchronously may have acked it inside queue() already
  if (!obHas(seq)) acked(seq);
  armAckTimer(ackS * 1000);
}

function armAckTimer(ms: number): void {
  cancel(ackTimer);
  ackTimer = later(ackTimeout, ms);
}

function ackTimeout(): void {
  ackTimer = null;
  if (!alarmSeq) return;
  fault(FaultCode.FAULT_ACK_TIMEOUT, alarmSeq, false, CLS_CRITICAL);
  show(Show.noResponse);
}

function cancelAlarm(): void {
  alarmBody(alarmTest, false, true, alarmSeq);
  queue(CLS_CRITICAL);
  closeAlarm();
  showFor(Show.cancelled, SHOW_CANCEL_MS);
}

function closeAlarm(): void {
  alarmSeq = 0;
  cancelUntil = 0;
  cancel(ackTimer);
  ackTimer = null;
  stSet("al", null);
}

/** Shows a state for ms, then idle. */
function showFor(s: number, ms: number): void {
  cancel(showTimer);
  show(s);
  showTimer = later(showDone, ms);
}

function showDone(): void {
  showTimer = null;
  show(Show.idle);
}

// ------------------------------------------------------------------ the port (core -> app)

function down(p: Uint8Array, n: number): void {
  let s = pr(p, 0, n, Envelope.alarmAck);
  if (s >= 0) {
    const seq = pr(p, s, prEnd, AlarmAck.alarmSeq);
    if (seq === alarmSeq && alarmSeq) {
      closeAlarm();
      showFor(Show.acknowledged, SHOW_ACK_MS);
    }
    return;
  }
  s = pr(p, 0, n, Envelope.config);
  if (s >= 0) return applyConfig(p, s, prEnd);
  s = pr(p, 0, n, Envelope.command);
  if (s >= 0 && pr(p, s, prEnd, Command.kind) === CommandKind.COMMAND_TEST_ALARM) raiseTest();
}

function acked(seq: number): void {
  if (seq !== alarmSeq || gatewayHas) return;
  gatewayHas = true;
  // a responder can only answer once the gateway has it: the ack timeout counts from here, and an
  // alarm that timed out while offline ("no-response") is now "received" again
  if (shown === Show.sending || shown === Show.noResponse) show(Show.received);
  armAckTimer(ackS * 1000);
}

function hello(): void {
  // the gateway supervises with Heartbeat.interval_s: tell it right after the handshake, with a
  // battery report (one sent before the session was up may have been refused as not fresh)
  batteryAt = -1;
  scheduleHeartbeat(500);
}

function synced(err: number): void {
  if (err > CLOCK_JUMP_S || err < -CLOCK_JUMP_S) fault(FaultCode.FAULT_CLOCK_JUMPED, err, false, CLS_TELEMETRY);
}

function cfgVer(): number {
  return cfVer;
}

function none(): number {
  return 0;
}

function no(): boolean {
  return false;
}

/** Battery millivolts from the analog pin and the board's divider. */
function battMv(): number {
  return Math.round(adc(BOARD.pins.battery) * BOARD.battery.vref * BOARD.battery.divider * 1000);
}

const port: AppPort = {
  kind: DeviceKind.DEVICE_KIND_ALARM,
  down: down,
  acked: acked,
  hello: hello,
  synced: synced,
  cfgVer: cfgVer,
  schedVer: none,
  battMv: battMv,
  mains: no,
};

// ------------------------------------------------------------------ config, heartbeat, battery

/** A limit breach as text ("heartbeatS 5 < min 30"), or "". 0 (absent) means "board default". */
function limit(name: string, v: number, min: number, max: number): string {
  if (v && v < min) return name + " " + v + " < min " + min;
  if (v && v > max) return name + " " + v + " > max " + max;
  return "";
}

/** Validates and applies a Config at p[s, e); answers with ConfigAck (reliable). */
function applyConfig(p: Uint8Array, s: number, e: number): void {
  const ver = pr(p, s, e, Config.version);
  const h = pr(p, s, e, Config.heartbeatS);
  const c = pr(p, s, e, Config.cancelWindowS);
  const a = pr(p, s, e, Config.ackTimeoutS);
  const m = pr(p, s, e, Config.holdMs);
  const err = limit("heartbeatS", h, 30, 3600) || limit("cancelWindowS", c, 0, 120) || limit("ackTimeoutS", a, 10, 3600) || limit("holdMs", m, 200, 10000);
  if (!err) {
    stSet("cf", { v: ver, h: h, c: c, a: a, t: pr(p, s, e, Config.holdToAlarm) === 1, m: m });
    loadConfig();
    scheduleHeartbeat(hbS * 1000);
  }
  bodyStart();
  pbBeg(Envelope.configAck);
  pv(ConfigAck.version, ver);
  pv(ConfigAck.ok, !err);
  pv(ConfigAck.error, err.substr(0, MAX_ERROR_BYTES)); // ASCII: one byte per char
  pbEnd();
  queue(CLS_TELEMETRY);
}

function scheduleHeartbeat(ms: number): void {
  cancel(hbTimer);
  hbTimer = later(beat, ms);
}

function beat(): void {
  hbTimer = null;
  try {
    heartbeat(hbS);
    battery();
  } catch (e) {
    internalError(e);
  }
  scheduleHeartbeat(hbS * 1000);
}

function batteryBody(mv: number): void {
  const pct = battPct(mv);
  bodyStart();
  pbBeg(Envelope.battery);
  pv(Battery.percent, pct);
  pv(Battery.millivolts, mv);
  // days left: remaining charge over the board's average current draw
  pv(Battery.daysLeft, Math.floor(((pct / 100) * BOARD.battery.capacity_mah) / (BOARD.battery.avg_current_ma * 24)));
  pv(Battery.low, batteryLow);
  pbEnd();
}

/**
 * A reliable Battery event when the level crosses low_mv (with hysteresis); else, daily, the days-left
 * estimate for the backend (best effort: the heartbeat carries the level).
 */
function battery(): void {
  const mv = battMv();
  const low = BOARD.battery.low_mv;
  if ((!batteryLow && mv <= low) || (batteryLow && mv > low + BATTERY_HYSTERESIS_MV)) {
    batteryAt = mono();
    batteryLow = !batteryLow;
    stSet("bl", batteryLow);
    batteryBody(mv);
    queue(CLS_TELEMETRY);
    return;
  }
  if (batteryAt < 0 || mono() - batteryAt >= BATTERY_REPORT_MS) {
    batteryBody(mv);
    sendBody();
    batteryAt = mono();
  }
}
