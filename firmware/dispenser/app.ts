// The dispenser app around the dose cycle (Espruino subset): pins, timers, indicators, power/battery/
// storage/memory supervision and the downlinks (Schedule, Config, app Commands). It stands on the
// device core through its port (firmware/core/port.ts) like the alarm button; the dose cycle
// (dose-cycle.ts) is pure logic over the small CyclePorts bound here.
// Pins (hardware/dispenser-esp32.toml): motor (out), slot_sensor (analog encoder), tray_sensor,
// lid_switch, tamper_switch, mains_sense (in, high = active, pulled down), button (in, active low,
// pulled up), led_red/green/blue, buzzer (out), battery (analog).
//
// Every event the cycle makes goes through the flash outbox with its own device time, so with no
// gateway the device keeps dosing and the events wait in flash; on reconnect they are replayed oldest
// first with their original time and late = true. Dose events, faults, supply and schedule acks are
// critical (never dropped); heartbeats are best effort.
import { now, pinOut, pinIn, adc, watch, later, cancel, flashFree, errFlags, fileJson, fileWrite, log } from "../hal/hal.ts";
import { pbBeg, pbEnd, pv, pr, prEnd } from "../../protocol/pb.ts";
import {
  Envelope, DoseEvent, Fault, Supply, Schedule as PbSchedule, ScheduledDose, ScheduleAck, Config, ConfigAck, Command, CommandKind,
  DeviceKind, FaultCode,
} from "../../protocol/gen/fields.ts";
import { MAX_ERROR_BYTES } from "../../protocol/caps.ts";
import { startDevice, heartbeat } from "../core/device.ts";
import { bodyStart, queue, internalError } from "../core/link.ts";
import { obNext, obDepth, CLS_CRITICAL } from "../core/outbox.ts";
import { mono, CLOCK_VALID_FROM } from "../core/clock.ts";
import { stGet, stSet } from "../core/state.ts";
import { DoseCycle, SHOW_COLLECT, SHOW_FAULT, SHOW_READY, SHOW_REMIND, type CycleState } from "./dose-cycle.ts";
import type { AppPort } from "../core/port.ts";

/** Storage file of the dispenser state (dose cycle + schedule), rewritten on change. */
export const STATE_FILE = "disp.st";

let cycle: DoseCycle;
let timer: any = null;
let booted = false;
let showMode = -1;
let battMv = 0;
let reportingFull = false;
/** records the outbox refused since the last FAULT_OUTBOX_FULL report */
let refused = 0;
/** errors caught in the dose cycle since boot, and when the last FAULT_INTERNAL_ERROR went out */
let errors = 0;
let errorReportedAt = -3600;
/** heartbeat interval (Config from the backend, else the board's) and the config version */
let hbS = 0;
let cfVer = 0;

/** Device time, Unix seconds with fractions. */
function nowS(): number {
  return now() / 1000;
}

/** Starts the app; false when the device has no identity (motor off, red light, console kept). */
export function startDispenser(): boolean {
  pinOut(BOARD.pins.motor, false);
  cycle = new DoseCycle(
    {
      compartments: BOARD.dispenser.compartments,
      earlyMin: BOARD.dispenser.early_min,
      lateMin: BOARD.dispenser.late_min,
      collectMin: BOARD.dispenser.collect_min,
      remindEveryMin: BOARD.dispenser.remind_every_min,
      refillWarnH: BOARD.dispenser.refill_warn_h,
      jamMs: BOARD.dispenser.jam_ms,
    },
    { save: save, emit: emit, appended: appended, motor: motor, mono: mono, position: position, tray: tray, show: show, beep: beep },
    (fileJson(STATE_FILE) as CycleState | undefined) || null, // unreadable: start fresh; the backend re-sends the schedule
  );
  const c = stGet("cf", {});
  cfVer = c.v || 0;
  hbS = c.h || BOARD.defaults.heartbeat_s;
  if (!startDevice(port)) {
    pinOut(BOARD.pins.led_red, true);
    return false;
  }
  cycle.recover(); // before anything below can emit (it would overwrite the journal)
  watch(BOARD.pins.button, BOARD.pins.button_active_low ? "input_pullup" : "input_pulldown", BOARD.defaults.debounce_ms, onButton);
  watch(BOARD.pins.tray_sensor, "input_pulldown", BOARD.defaults.debounce_ms, tick);
  watch(BOARD.pins.lid_switch, "input_pulldown", BOARD.defaults.debounce_ms, lid);
  watch(BOARD.pins.tamper_switch, "input_pulldown", BOARD.defaults.debounce_ms, lid);
  watch(BOARD.pins.mains_sense, "input_pulldown", BOARD.defaults.debounce_ms, supervise);
  if (nowS() >= CLOCK_VALID_FROM) bootCycle();
  else cycle.fault(FaultCode.FAULT_CLOCK_NOT_SET, true, 0, nowS());
  lid();
  supervise();
  later(superviseLoop, BOARD.dispenser.battery_check_s * 1000);
  // heartbeat at boot: tells the gateway a new boot id is here, so it shakes hands and syncs the time
  beat();
  return true;
}

// ------------------------------------------------------------------ the dose cycle's ports

function save(s: CycleState): void {
  fileWrite(STATE_FILE, JSON.stringify(s));
}

/** Appends a journalled cycle event ({dose}, {fault} or {supply}) to the flash outbox. */
function emit(body: any, time: number): void {
  bodyStart();
  if (body.dose) {
    const d = body.dose;
    pbBeg(Envelope.dose);
    pv(DoseEvent.kind, d.kind);
    pv(DoseEvent.delayS, d.delayS);
    pv(DoseEvent.slot, d.slot);
    pv(DoseEvent.mode, d.mode);
    pv(DoseEvent.remaining, d.remaining);
  } else if (body.fault) {
    const f = body.fault;
    pbBeg(Envelope.fault);
    pv(Fault.code, f.code);
    pv(Fault.cleared, f.cleared);
    pv(Fault.detail, f.detail);
  } else {
    const u = body.supply;
    pbBeg(Envelope.supply);
    pv(Supply.remaining, u.remaining);
    pv(Supply.hoursLeft, u.hoursLeft);
    pv(Supply.refilled, u.refilled);
  }
  pbEnd();
  if (!queue(CLS_CRITICAL, time) && !reportingFull) refused++;
}

/** reliable events ever appended (the outbox's next seq, persisted with it): the emit journal's count */
function appended(): number {
  return obNext;
}

function motor(on: boolean): void {
  pinOut(BOARD.pins.motor, on);
}

function position(): number {
  return adc(BOARD.pins.slot_sensor) * (BOARD.dispenser.compartments + 1);
}

function tray(): boolean {
  return pinIn(BOARD.pins.tray_sensor);
}

/**
 * LEDs, steady (no blink timers: a reminder can run for hours and timers cost power and events):
 * green = press now (window open / dose in the tray), green + red = reminder escalation running or
 * the dose lies uncollected, red alone = cannot dispense (jam, empty, sensor fault).
 */
function show(mode: number): void {
  if (mode === showMode) return;
  showMode = mode;
  pinOut(BOARD.pins.led_red, mode === SHOW_FAULT || mode === SHOW_REMIND);
  pinOut(BOARD.pins.led_green, mode === SHOW_READY || mode === SHOW_REMIND || mode === SHOW_COLLECT);
}

/** n short beeps (n = escalation level: more beeps = more insistent), 200 ms apart */
let beepLeft = 0;
function beep(n: number): void {
  beepLeft = n * 2;
  beepStep();
}

function beepStep(): void {
  beepLeft--;
  pinOut(BOARD.pins.buzzer, beepLeft % 2 === 1);
  if (beepLeft > 0) later(beepStep, 200);
}

// ------------------------------------------------------------------ inputs, timers

function bootCycle(): void {
  if (booted) return;
  booted = true;
  cycle.boot(nowS());
  tick();
}

function onButton(level: boolean): void {
  if (level === !BOARD.pins.button_active_low) press();
}

function press(): void {
  if (!booted) return;
  try {
    cycle.press(nowS());
  } catch (e) {
    errors++;
    log("dispenser: press failed: " + e);
  }
  tick();
}

function lid(): void {
  cycle.lid(pinIn(BOARD.pins.lid_switch), pinIn(BOARD.pins.tamper_switch), nowS());
}

/** Runs the cycle and sleeps until it asks to run again. */
function tick(): void {
  if (!booted) return;
  const t = nowS();
  let next = t + 60;
  // Espruino prints an uncaught error in a timer and goes on, which would leave the dose cycle
  // without its next timer: catch, count, report (at most hourly) and keep the cycle running.
  try {
    next = cycle.step(t);
  } catch (e) {
    errors++;
    log("dispenser: step failed: " + e);
    if (t - errorReportedAt >= 3600) {
      errorReportedAt = t;
      try {
        cycle.report(FaultCode.FAULT_INTERNAL_ERROR, errors, t);
      } catch (e2) {
        // reporting failed too (e.g. flash): the retry above still keeps the cycle alive
      }
    }
  }
  cancel(timer);
  let ms = (next - t) * 1000;
  if (ms < 10) ms = 10;
  timer = later(wake, ms);
}

function wake(): void {
  timer = null;
  tick();
}

function batteryMv(): number {
  return Math.round(adc(BOARD.pins.battery) * BOARD.battery.vref * BOARD.battery.divider * 1000);
}

/** Mains, battery, storage, outbox and interpreter error flags: latched faults reported on change. */
function supervise(): void {
  const t = nowS();
  cycle.fault(FaultCode.FAULT_MAINS_LOST, !pinIn(BOARD.pins.mains_sense), 0, t);
  const mv = batteryMv();
  battMv = mv;
  const low = BOARD.battery.low_mv;
  const isLow = (cycle.st.faults & (1 << FaultCode.FAULT_BATTERY_LOW)) !== 0;
  // 100 mV hysteresis so a battery around the threshold does not flap
  if (!isLow && mv < low) cycle.fault(FaultCode.FAULT_BATTERY_LOW, true, mv, t);
  else if (isLow && mv > low + 100) cycle.fault(FaultCode.FAULT_BATTERY_LOW, false, mv, t);
  const free = flashFree();
  cycle.fault(FaultCode.FAULT_STORAGE_NEARLY_FULL, free < BOARD.dispenser.storage_low_bytes, free, t);
  const flags = errFlags();
  let mem = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] === "LOW_MEMORY" || flags[i] === "MEMORY") mem |= flags[i] === "MEMORY" ? 1 : 2;
  if (mem) cycle.report(FaultCode.FAULT_OUT_OF_MEMORY, mem, t);
  reportOutboxFull();
}

function superviseLoop(): void {
  supervise();
  later(superviseLoop, BOARD.dispenser.battery_check_s * 1000);
}

/**
 * The outbox refused records (full of unacked critical records: ~5 weeks offline at 4 doses a day
 * with outbox_max = 256). The report itself cannot be queued then, so it is remembered and sent once
 * there is room again, with the number of refused records as detail.
 */
function reportOutboxFull(): void {
  if (!refused || obDepth() >= BOARD.defaults.outbox_max) return;
  reportingFull = true;
  const n = refused;
  refused = 0;
  cycle.report(FaultCode.FAULT_OUTBOX_FULL, n, nowS());
  reportingFull = false;
}

function beat(): void {
  try {
    heartbeat(hbS);
  } catch (e) {
    internalError(e);
  }
  later(beat, hbS * 1000);
}

// ------------------------------------------------------------------ the port (core -> app)

function down(p: Uint8Array, n: number): void {
  let s = pr(p, 0, n, Envelope.schedule);
  if (s >= 0) return schedule(p, s, prEnd);
  s = pr(p, 0, n, Envelope.config);
  if (s >= 0) return config(p, s, prEnd);
  s = pr(p, 0, n, Envelope.command);
  if (s < 0) return;
  const e = prEnd;
  const k = pr(p, s, e, Command.kind);
  const arg = pr(p, s, e, Command.arg);
  const t = nowS();
  if (k === CommandKind.COMMAND_REFILL_CONFIRMED) cycle.refill(arg, t);
  else if (k === CommandKind.COMMAND_ASSISTED_MODE) {
    cycle.setAssisted(arg !== 0);
    lid();
  } else if (k === CommandKind.COMMAND_TRAVEL_MODE) cycle.setTravel(arg);
  tick();
}

/** Applies a Schedule at p[s, e) and answers with ScheduleAck (reliable). */
function schedule(p: Uint8Array, s: number, e: number): void {
  const doses: any[] = [];
  for (let k = 0; ; k++) {
    const d = pr(p, s, e, PbSchedule.doses, k);
    if (d < 0) break;
    const de = prEnd;
    doses.push({ minute: pr(p, d, de, ScheduledDose.minute), weekdays: pr(p, d, de, ScheduledDose.weekdays) });
  }
  const version = pr(p, s, e, PbSchedule.version);
  let err = "internal error";
  try {
    err = cycle.setSchedule(
      {
        version: version, doses: doses, earlyMin: pr(p, s, e, PbSchedule.earlyMin), lateMin: pr(p, s, e, PbSchedule.lateMin),
        collectMin: pr(p, s, e, PbSchedule.collectMin), remindEveryMin: pr(p, s, e, PbSchedule.remindEveryMin),
      },
      nowS(),
    );
  } catch (x) {
    internalError(x);
  }
  tick();
  bodyStart();
  pbBeg(Envelope.scheduleAck);
  pv(ScheduleAck.version, version);
  pv(ScheduleAck.ok, err === "");
  pv(ScheduleAck.error, err.substr(0, MAX_ERROR_BYTES)); // ASCII: one byte per char
  pbEnd();
  queue(CLS_CRITICAL);
}

/**
 * Applies a Config at p[s, e): a dispenser takes heartbeat_s (30..3600; 0 = board default) and refuses
 * the alarm-button keys rather than ignore them silently. Answers with ConfigAck (reliable).
 */
function config(p: Uint8Array, s: number, e: number): void {
  const ver = pr(p, s, e, Config.version);
  const h = pr(p, s, e, Config.heartbeatS);
  let err = "";
  if (h && (h < 30 || h > 3600)) err = "heartbeatS " + h + (h < 30 ? " < min 30" : " > max 3600");
  else if (pr(p, s, e, Config.cancelWindowS) || pr(p, s, e, Config.ackTimeoutS) || pr(p, s, e, Config.holdMs) || pr(p, s, e, Config.holdToAlarm))
    err = "alarm-only keys on a dispenser";
  if (!err) {
    cfVer = ver;
    hbS = h || BOARD.defaults.heartbeat_s;
    stSet("cf", { v: ver, h: h });
  }
  bodyStart();
  pbBeg(Envelope.configAck);
  pv(ConfigAck.version, ver);
  pv(ConfigAck.ok, !err);
  pv(ConfigAck.error, err);
  pbEnd();
  queue(CLS_CRITICAL);
}

function acked(): void {}

function hello(): void {}

/** Every time sync (Hello's gateway time or TimeSync): first set, or a jump. err = device minus gateway s. */
function synced(err: number): void {
  const t = nowS();
  cycle.fault(FaultCode.FAULT_CLOCK_NOT_SET, false, 0, t);
  const lim = BOARD.dispenser.clock_jump_s;
  if (booted && (err > lim || err < -lim)) cycle.report(FaultCode.FAULT_CLOCK_JUMPED, -err, t);
  if (!booted) bootCycle();
  else tick();
}

function cfgVer(): number {
  return cfVer;
}

function schedVer(): number {
  return cycle.st.sch ? cycle.st.sch.version : 0;
}

function getBattMv(): number {
  return battMv;
}

function mains(): boolean {
  return pinIn(BOARD.pins.mains_sense);
}

const port: AppPort = {
  kind: DeviceKind.DEVICE_KIND_DISPENSER,
  down: down,
  acked: acked,
  hello: hello,
  synced: synced,
  cfgVer: cfgVer,
  schedVer: schedVer,
  battMv: getBattMv,
  mains: mains,
};
