// The dispenser's dose cycle: one state machine over a small port interface (no Espruino globals,
// so it runs unchanged in Node unit tests, in the simulator and on the device).
//
// Life of a dose (identity = its scheduled instant s, see schedule.ts):
//   window opens at s - early; reminders from s: green light, then from s + remind a sound burst
//   per interval, one beep more each time (max 3), and one DOSE_REMINDER event; the window closes
//   at the late limit L(s) = min(s + late, next dose - early) (never before s + 1 min).
//   press inside the window -> intent persisted -> motor -> slot sensor verified -> tray watched:
//   taken out -> DOSE_TAKEN (delay from s); not taken within `collect` -> DOSE_NOT_COLLECTED and
//   reminders go on until taken (then DOSE_TAKEN). No press by L(s) -> DOSE_MISSED, and the
//   compartment is skipped for good: `last` moves past s, so no later press, reboot or clock
//   change can reach that dose again.
//
// Invariants (what makes "never a double dose, never a lost event" hold):
//  * `last` only grows; a dose with s <= last is never dispensed. Doses resolve strictly in order.
//  * Compartment c holds the c-th dose after the last refill; resolving a dose (dispensed or
//    missed) consumes one compartment (`slot`). The carousel is driven to ABSOLUTE positions read
//    from the slot sensor (an absolute encoder), so a resumed move can never overshoot into the
//    next compartment.
//  * The dispense intent {s, to} is saved before the motor is switched on. On boot an intent is
//    resolved from the slot sensor: at `to` -> it was dispensed (finish it, once); short of `to`
//    -> resume the same move if the window is still open, else abandon it (the dose goes missed);
//    anything else -> FAULT_SLOT_SENSOR and the motor stays locked.
//  * Pass-over of a missed compartment (the carousel only turns forward, so a missed compartment k
//    must be passed to reach k + 1, and a compartment empties when the carousel comes to REST at
//    it — a power cut at the instant it is aligned with k drops the missed dose into the tray):
//     - the pass-over is done once, right after the miss, as its own persisted move (a "park"
//       intent {s: 0, to: slot + 0.5, p: 1}): the carousel parks between k and k + 1, so the later
//       dispense of k + 1 is a half step that passes no loaded compartment. The park waits until
//       the tray is empty (two compartments must never lie in the tray at once) and is skipped when
//       no loaded compartment follows (the next motion is then a fresh carousel).
//     - on boot, an intent whose move was cut with the carousel resting ON a passed-over (missed)
//       compartment, or with something in the tray that is not the dose being dispensed, is NOT
//       continued: FAULT_DOSE_RELEASED (detail = that compartment, 0 = unknown) is raised, the
//       intent dropped and the motor locked (`jam`); the missed dose stays reported missed (it has
//       no `tray` record, so taking it out reports nothing). Dispensing resumes only after a refill
//       is confirmed (staff visit) with the tray empty; the fault is cleared then.
//  * Event emission is journalled: the state is saved with the pending event and the outbox's
//    append count, then the event is appended. On boot, a journalled event whose append count
//    was not reached is appended again; one that was reached is not. So a power cut between the
//    state write and the outbox append neither loses nor duplicates an event.
//  * The tray must be empty to dispense: a dose still lying in the tray blocks the next one.
// Espruino subset.
import { nextDose, nthDose, validateSchedule, type Schedule } from "./schedule.ts";
import { DoseEventKind, DoseMode, FaultCode } from "../../protocol/gen/fields.ts";

// Enum values: protocol/varde.proto via the generated const enums (inlined by the build as numbers).
export const DOSE_TAKEN = DoseEventKind.DOSE_TAKEN;
export const DOSE_MISSED = DoseEventKind.DOSE_MISSED;
export const DOSE_NOT_COLLECTED = DoseEventKind.DOSE_NOT_COLLECTED;
export const DOSE_REMINDER = DoseEventKind.DOSE_REMINDER;
export const DOSE_DISPENSED = DoseEventKind.DOSE_DISPENSED;
export const MODE_NORMAL = DoseMode.DOSE_MODE_NORMAL;
export const MODE_ASSISTED = DoseMode.DOSE_MODE_ASSISTED;
export const MODE_TRAVEL = DoseMode.DOSE_MODE_TRAVEL;
export const FAULT_MOTOR_JAM = FaultCode.FAULT_MOTOR_JAM;
export const FAULT_LID_OPENED = FaultCode.FAULT_LID_OPENED;
export const FAULT_FORCED_OPENING = FaultCode.FAULT_FORCED_OPENING;
export const FAULT_MAINS_LOST = FaultCode.FAULT_MAINS_LOST;
export const FAULT_BATTERY_LOW = FaultCode.FAULT_BATTERY_LOW;
export const FAULT_CLOCK_NOT_SET = FaultCode.FAULT_CLOCK_NOT_SET;
export const FAULT_CLOCK_JUMPED = FaultCode.FAULT_CLOCK_JUMPED;
export const FAULT_STORAGE_NEARLY_FULL = FaultCode.FAULT_STORAGE_NEARLY_FULL;
export const FAULT_OUT_OF_MEMORY = FaultCode.FAULT_OUT_OF_MEMORY;
export const FAULT_SLOT_SENSOR = FaultCode.FAULT_SLOT_SENSOR;
export const FAULT_DOSE_RELEASED = FaultCode.FAULT_DOSE_RELEASED;

/** Indicator states handed to the ports (main.ts maps them to LEDs). */
export const SHOW_IDLE = 0;
export const SHOW_READY = 1; // window open: press now (green)
export const SHOW_REMIND = 2; // reminder escalation running (green blinking)
export const SHOW_COLLECT = 3; // dose lies in the tray (green blinking)
export const SHOW_FAULT = 4; // cannot dispense: jam, empty, sensor fault (red)

export interface DoseConfig {
  compartments: number;
  earlyMin: number;
  lateMin: number;
  collectMin: number;
  remindEveryMin: number;
  refillWarnH: number;
  jamMs: number;
}

export interface CyclePorts {
  /** Saves the state atomically (one Storage file write). */
  save(state: CycleState): void;
  /** Appends a reliable event (an Envelope body such as {dose:{...}}) to the flash outbox. */
  emit(body: any, time: number): void;
  /** Count of events ever appended to the outbox (persisted with the outbox; used by the emit journal). */
  appended(): number;
  motor(on: boolean): void;
  /** Monotonic milliseconds (never jumps on a time sync): times the motor for the jam check. */
  mono(): number;
  /** Carousel position from the slot sensor: 0 = home, k = compartment k at the exit, fractions while turning. */
  position(): number;
  /** True while something lies in the tray. */
  tray(): boolean;
  show(mode: number): void;
  beep(count: number): void;
}

export interface CycleState {
  v: number;
  /** scheduled instant of the last resolved dose; 0 = not started */
  last: number;
  /** compartments consumed since the last refill */
  slot: number;
  /** doses loaded at the last refill */
  loaded: number;
  /** last verified carousel position (k + 0.5 = parked past missed compartment k) */
  pos: number;
  /** dispense intent, saved before the motor moves: scheduled, target position, mode; p = 1: a park
   * move past missed compartments (s = 0, to = slot + 0.5) */
  intent: { s: number; to: number; m: number; p?: number } | null;
  /** dose in the tray: scheduled, dispensed at, mode, seen in the tray, not-collected reported */
  tray: { s: number; t: number; m: number; seen: number; nc: number } | null;
  /** scheduled instant whose DOSE_REMINDER went out */
  remind: number;
  /** doses still to dispense ahead (travel mode) */
  travel: number;
  assisted: number;
  /** motor jammed / slot sensor fault / missed dose released: no motion until a refill (service visit) is confirmed */
  jam: number;
  /** device time of the last RefillNeeded */
  refillAt: number;
  /** latched fault conditions, bit (1 << code) */
  faults: number;
  sch: Schedule | null;
  /** emit journal: event body, its time, and the outbox append count before it */
  pend: { b: any; t: number; q: number } | null;
}

export function freshState(compartments: number): CycleState {
  return {
    v: 1, last: 0, slot: 0, loaded: compartments, pos: 0, intent: null, tray: null, remind: 0, travel: 0,
    assisted: 0, jam: 0, refillAt: 0, faults: 0, sch: null, pend: null,
  };
}

/** Tolerance of the slot sensor reading around a compartment position. */
const ALIGN = 0.15;
const REFILL_REPEAT_S = 24 * 3600;
/** Catch-up bound per step (clock jumps, long outages): more doses are handled on the next step. */
const CATCHUP = 32;

export class DoseCycle {
  st: CycleState;
  cfg: DoseConfig;
  io: CyclePorts;
  /** monotonic ms the current motor run started (RAM only) */
  moveStart: number;
  /** the motor is running for the intent */
  moving: boolean;
  /** reminder level already sounded for `lvlFor` (RAM: after a reboot the current level sounds again) */
  lvl: number;
  lvlFor: number;
  /** times the carousel stopped at a compartment by this instance (diagnostics and tests) */
  dispenses: number;
  /** cache for hoursLeft() */
  lastKey: string;
  lastLoaded: number;

  constructor(cfg: DoseConfig, io: CyclePorts, saved: CycleState | null) {
    this.cfg = cfg;
    this.io = io;
    this.st = saved && saved.v === 1 ? saved : freshState(cfg.compartments);
    this.moveStart = 0;
    this.moving = false;
    this.lvl = -1;
    this.lvlFor = 0;
    this.dispenses = 0;
    this.lastKey = "";
    this.lastLoaded = 0;
  }

  // ---------------------------------------------------------------- persistence + events

  save(): void {
    this.io.save(this.st);
  }

  /** Journalled emit: state (with the event) saved, then the event appended. */
  emit(body: any, time: number): void {
    this.st.pend = { b: body, t: Math.floor(time), q: this.io.appended() };
    this.save();
    this.io.emit(body, Math.floor(time));
  }

  dose(kind: number, s: number, time: number, mode: number, slot: number): void {
    this.emit(
      {
        // the scheduled instant travels as Envelope.time - delayS (protocol/varde.proto DoseEvent)
        dose: { kind: kind, delayS: Math.floor(time) - s, slot: slot, mode: mode, remaining: this.remaining() },
      },
      time,
    );
  }

  /** Raises or clears a latched fault; emits only on a change (survives reboots via `faults`). */
  fault(code: number, active: boolean, detail: number, now: number): void {
    const bit = 1 << code;
    const was = (this.st.faults & bit) !== 0;
    if (was === active) return;
    this.st.faults = active ? this.st.faults | bit : this.st.faults & ~bit;
    this.emit({ fault: { code: code, cleared: !active, detail: detail } }, now);
  }

  /** A one-off fault report (not a condition with an end), e.g. a clock jump. */
  report(code: number, detail: number, now: number): void {
    this.emit({ fault: { code: code, cleared: false, detail: detail } }, now);
  }

  remaining(): number {
    const r = this.st.loaded - this.st.slot;
    return r > 0 ? r : 0;
  }

  // ---------------------------------------------------------------- boot

  /**
   * Call first after power-on, before anything can emit (it needs no clock): an event journalled
   * before the cut whose outbox record was not written is appended now; one that was is not.
   */
  recover(): void {
    const st = this.st;
    if (st.pend) {
      if (this.io.appended() === st.pend.q) this.io.emit(st.pend.b, st.pend.t);
      st.pend = null;
      this.save();
    }
  }

  /** Call once the clock is set: resolves a dispense intent left on flash by a power cut. */
  boot(now: number): void {
    const st = this.st;
    this.recover();
    this.io.motor(false);
    const it = st.intent;
    if (!it) return;
    const x = this.io.position();
    const c = Math.round(x);
    if (Math.abs(x - it.to) < ALIGN) {
      this.finish(now);
    } else if (Math.abs(x - c) < ALIGN && c > st.pos + ALIGN && c < it.to) {
      // resting on a compartment this move was passing over (a missed one): it emptied into the tray
      this.released(c, now);
    } else if (x > st.pos - ALIGN && x < it.to) {
      if (it.m !== MODE_TRAVEL && this.io.tray()) {
        // the tray was empty when this move started: what lies there now is not the dose being dispensed
        this.released(0, now);
      } else if (it.p || it.m === MODE_TRAVEL || now < this.lateLimit(it.s)) {
        this.run(); // resume the same move: absolute target, so it stops at `to`
      } else {
        st.intent = null; // window gone: abandon; the dose resolves as missed
        this.save();
      }
    } else {
      st.intent = null;
      st.jam = 1;
      this.fault(FAULT_SLOT_SENSOR, true, Math.round(x * 10), now);
    }
  }

  /** A missed dose (compartment c, 0 = unknown) fell into the tray: never continue, lock until a service visit. */
  released(c: number, now: number): void {
    const st = this.st;
    st.intent = null;
    st.jam = 1;
    st.pos = this.io.position();
    this.fault(FAULT_DOSE_RELEASED, true, c, now);
    this.save();
  }

  // ---------------------------------------------------------------- schedule + commands

  /**
   * Applies a schedule (downlink). Returns "" or an error for the ScheduleAck.
   * Doses the new schedule would have had before now are not owed (they did not exist at their
   * time), so `last` moves to now — except a dose whose window is open under the old schedule and
   * that the new schedule keeps at the same instant: it stays pending.
   */
  setSchedule(s: Schedule, now: number): string {
    const err = validateSchedule(s);
    if (err) return err;
    const st = this.st;
    const old = st.sch;
    if (old && old.version === s.version) return "";
    let from = Math.floor(now);
    if (old && !st.intent) {
      const p = this.pending();
      if (p > 0 && now >= p - this.early() && now < this.lateLimit(p) && nextDose(s, p - 1) === p) from = p - 1;
    }
    if (st.intent) from = st.last; // a dispense under way finishes under the old schedule's terms
    if (from > st.last) st.last = from;
    st.sch = s;
    this.save();
    return "";
  }

  setAssisted(on: boolean): void {
    this.st.assisted = on ? 1 : 0;
    this.save();
  }

  setTravel(n: number): void {
    this.st.travel = n > this.remaining() ? this.remaining() : n;
    this.save();
  }

  /**
   * A refill (fresh carousel, at home position) was confirmed with n doses loaded. Clears a jam —
   * except a released missed dose still lying in the tray: that lock (and FAULT_DOSE_RELEASED)
   * stays until a refill is confirmed with the tray empty.
   */
  refill(n: number, now: number): void {
    const st = this.st;
    st.loaded = n > 0 && n <= this.cfg.compartments ? n : this.cfg.compartments;
    st.slot = 0;
    st.pos = Math.round(this.io.position());
    st.refillAt = 0;
    st.intent = null;
    this.io.motor(false); // a move under way (e.g. a park at a late limit) ends with the old carousel
    this.moving = false;
    const rel = (st.faults & (1 << FAULT_DOSE_RELEASED)) !== 0;
    if (st.jam && !(rel && this.io.tray())) {
      st.jam = 0;
      if (st.faults & (1 << FAULT_MOTOR_JAM)) this.fault(FAULT_MOTOR_JAM, false, 0, now);
      if (st.faults & (1 << FAULT_SLOT_SENSOR)) this.fault(FAULT_SLOT_SENSOR, false, 0, now);
      if (rel) this.fault(FAULT_DOSE_RELEASED, false, 0, now);
    }
    this.emit({ supply: { remaining: st.loaded, hoursLeft: this.hoursLeft(now), refilled: true } }, now);
  }

  /**
   * Lid and tamper switches. The lid may be opened while staff are present (assisted mode: refill,
   * service); otherwise an open lid is FAULT_LID_OPENED. The tamper contact on the lock bolt means
   * the lid was forced: FAULT_FORCED_OPENING. Both clear when the lid is closed again.
   */
  lid(open: boolean, forced: boolean, now: number): void {
    if (forced) this.fault(FAULT_FORCED_OPENING, true, 0, now);
    if (open && !this.st.assisted) this.fault(FAULT_LID_OPENED, true, 0, now);
    if (!open) {
      this.fault(FAULT_LID_OPENED, false, 0, now);
      if (!forced) this.fault(FAULT_FORCED_OPENING, false, 0, now);
    }
  }

  // ---------------------------------------------------------------- dose arithmetic

  cfgMin(fromSchedule: number, board: number): number {
    return fromSchedule > 0 ? fromSchedule : board;
  }
  early(): number {
    return 60 * this.cfgMin(this.st.sch ? this.st.sch.earlyMin : 0, this.cfg.earlyMin);
  }
  collect(): number {
    return 60 * this.cfgMin(this.st.sch ? this.st.sch.collectMin : 0, this.cfg.collectMin);
  }
  remindEvery(): number {
    return 60 * this.cfgMin(this.st.sch ? this.st.sch.remindEveryMin : 0, this.cfg.remindEveryMin);
  }
  /** The late limit of dose s: s + late, but no later than the next dose's window opening. */
  lateLimit(s: number): number {
    const sch = this.st.sch;
    let l = s + 60 * this.cfgMin(sch ? sch.lateMin : 0, this.cfg.lateMin);
    if (sch) {
      const n = nextDose(sch, s);
      if (n > 0 && n - this.early() < l) l = n - this.early();
    }
    return l < s + 60 ? s + 60 : l;
  }
  /** The oldest unresolved dose, or -1. */
  pending(): number {
    return this.st.sch ? nextDose(this.st.sch, this.st.last) : -1;
  }
  /** Hours until the last loaded dose at the current schedule (0 when empty). */
  hoursLeft(now: number): number {
    const r = this.remaining();
    if (!this.st.sch || r === 0) return 0;
    // the walk over r doses is cached: it only changes when a dose resolves or the schedule changes
    const key = this.st.last + ":" + r + ":" + this.st.sch.version;
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastLoaded = nthDose(this.st.sch, this.st.last, r);
    }
    const t = this.lastLoaded;
    return t > now ? Math.floor((t - now) / 3600) : 0;
  }

  // ---------------------------------------------------------------- motion

  busy(): boolean {
    return this.st.intent !== null && this.moving;
  }

  run(): void {
    this.moveStart = this.io.mono();
    this.moving = true;
    this.io.motor(true);
  }

  start(s: number, mode: number, now: number): void {
    const st = this.st;
    st.intent = { s: s, to: st.slot + 1, m: mode };
    this.save(); // intent on flash BEFORE the motor moves
    this.run();
  }

  /** Motor running: stop at the target, or declare a jam. */
  move(now: number): void {
    const it = this.st.intent;
    if (!it) return;
    const x = this.io.position();
    if (Math.abs(x - it.to) < ALIGN) {
      this.io.motor(false);
      this.finish(now);
      return;
    }
    if (x > it.to + ALIGN) {
      // cannot happen with a working encoder; stop before another compartment opens
      this.io.motor(false);
      this.moving = false;
      this.st.intent = null;
      this.st.jam = 1;
      this.fault(FAULT_SLOT_SENSOR, true, Math.round(x * 10), now);
      return;
    }
    const steps = it.to - this.st.pos;
    if (this.io.mono() - this.moveStart > this.cfg.jamMs * (steps > 1 ? steps : 1)) {
      this.io.motor(false);
      this.moving = false;
      this.st.intent = null;
      this.st.jam = 1;
      this.fault(FAULT_MOTOR_JAM, true, it.to, now);
    }
  }

  /** The carousel stands at the intent's compartment: the dose is out. Resolve it once. */
  finish(now: number): void {
    const st = this.st;
    const it = st.intent;
    if (!it) return;
    this.moving = false;
    if (it.p) {
      // parked past the missed compartments: nothing was dispensed
      st.pos = it.to;
      st.intent = null;
      this.save();
      return;
    }
    this.dispenses++;
    st.pos = it.to;
    st.slot = it.to;
    st.last = it.s;
    st.intent = null;
    if (it.m === MODE_TRAVEL) {
      if (st.travel > 0) st.travel--;
      this.dose(DOSE_DISPENSED, it.s, now, MODE_TRAVEL, it.to);
    } else {
      st.tray = { s: it.s, t: Math.floor(now), m: it.m, seen: 0, nc: 0 };
      this.save();
    }
  }

  // ---------------------------------------------------------------- inputs

  /** The dispense button. Returns true when it started a dispense. */
  press(now: number): boolean {
    const st = this.st;
    if (this.busy() || st.jam || !st.sch) return false;
    if (st.tray || this.io.tray()) {
      this.io.beep(1); // take the dose in the tray first
      return false;
    }
    const p = this.pending();
    if (p < 0 || this.remaining() === 0) return false;
    if (now < p - this.early() || now >= this.lateLimit(p)) return false;
    this.start(p, st.assisted ? MODE_ASSISTED : MODE_NORMAL, now);
    return true;
  }

  /**
   * Advances everything to device time `now`; call on every timer and input. Returns the device
   * time it wants to run again (the caller may call earlier; never needs to call later). Every
   * deadline (window, reminder step, late limit, collect time) is a wake time, so nothing waits for
   * the 10-minute re-check.
   */
  step(now: number): number {
    const st = this.st;
    if (this.busy()) {
      this.move(now);
      if (this.busy()) return now + 0.1;
    }
    // re-check at least every 10 min; clock corrections and inputs call step() at once anyway
    let wake = now + 600;
    // dose in the tray
    const tr = st.tray;
    if (tr) {
      const occupied = this.io.tray();
      if (occupied && !tr.seen) {
        tr.seen = 1;
        this.save();
      }
      if (!occupied && tr.seen) {
        st.tray = null;
        this.dose(DOSE_TAKEN, tr.s, now, tr.m, st.slot);
        this.lvl = -1;
      } else if (!tr.nc && now >= tr.t + this.collect()) {
        tr.nc = 1;
        this.dose(DOSE_NOT_COLLECTED, tr.s, now, tr.m, st.slot);
      } else if (!tr.nc) {
        wake = Math.min(wake, tr.t + this.collect());
      }
    }
    if (!st.sch) {
      this.io.show(st.tray ? SHOW_COLLECT : SHOW_IDLE);
      return wake;
    }
    // doses whose window closed without a press
    let p = this.pending();
    for (let i = 0; i < CATCHUP && p > 0 && !st.intent && now >= this.lateLimit(p); i++) {
      const l = this.lateLimit(p);
      st.last = p;
      st.slot++;
      this.dose(DOSE_MISSED, p, l, MODE_NORMAL, st.slot);
      p = this.pending();
    }
    if (p > 0 && now >= this.lateLimit(p)) return now; // more to catch up
    // pass the missed compartments now, once, and park between compartments (see the header)
    if (!st.intent && !st.jam && !st.tray && st.pos < st.slot - ALIGN && st.slot < st.loaded && !this.io.tray()) {
      st.intent = { s: 0, to: st.slot + 0.5, m: MODE_NORMAL, p: 1 };
      this.save(); // intent on flash BEFORE the motor moves
      this.run();
      return now + 0.1;
    }
    // travel mode: dispense ahead, one compartment after the other
    if (st.travel > 0 && !st.intent && !st.jam && p > 0 && this.remaining() > 0) {
      this.start(p, MODE_TRAVEL, now);
      return now + 0.1;
    }
    // indicators and reminders
    let show = st.tray ? (st.tray.nc ? SHOW_REMIND : SHOW_COLLECT) : SHOW_IDLE;
    const ev = this.remindEvery();
    if (st.tray && st.tray.nc) {
      // not collected: escalate from the collect deadline on
      wake = this.escalate(st.tray.t + this.collect(), ev, now, wake, -1);
    } else if (p > 0 && !st.tray && now >= p - this.early()) {
      show = st.jam || this.remaining() === 0 ? SHOW_FAULT : now >= p + ev ? SHOW_REMIND : SHOW_READY;
      if (now >= p) wake = this.escalate(p, ev, now, wake, p);
      else wake = Math.min(wake, p); // the window is open before the dose time: reminders start at it
      wake = Math.min(wake, this.lateLimit(p));
    } else if (p > 0) {
      wake = Math.min(wake, p - this.early());
    }
    this.io.show(show);
    // refill warning, repeated daily until a refill is confirmed
    const h = this.hoursLeft(now);
    if (h <= this.cfg.refillWarnH && (st.refillAt === 0 || now - st.refillAt >= REFILL_REPEAT_S)) {
      st.refillAt = Math.floor(now);
      this.emit({ supply: { remaining: this.remaining(), hoursLeft: h, refilled: false } }, now);
    }
    return wake;
  }

  /** Sound escalation from `from`: at each interval one more beep (max 3). Reports DOSE_REMINDER once for dose s. */
  escalate(from: number, every: number, now: number, wake: number, s: number): number {
    const level = Math.floor((now - from) / every);
    if (this.lvlFor !== from) {
      this.lvlFor = from;
      this.lvl = 0;
    }
    if (level >= 1 && level > this.lvl) {
      this.lvl = level;
      this.io.beep(level > 3 ? 3 : level);
      if (s > 0 && this.st.remind !== s) {
        this.st.remind = s;
        this.dose(DOSE_REMINDER, s, now, MODE_NORMAL, this.st.slot + 1);
      }
    }
    const nextAt = from + (level + 1) * every;
    return nextAt < wake ? nextAt : wake;
  }
}
