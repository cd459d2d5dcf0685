import { describe, expect, it } from "vitest";
import {
  DOSE_DISPENSED, DOSE_MISSED, DOSE_NOT_COLLECTED, DOSE_REMINDER, DOSE_TAKEN, DoseCycle, FAULT_DOSE_RELEASED, FAULT_FORCED_OPENING,
  FAULT_LID_OPENED, FAULT_MOTOR_JAM, MODE_ASSISTED, MODE_TRAVEL, type CyclePorts, type CycleState, type DoseConfig,
} from "./dose-cycle.ts";
import type { Schedule } from "./schedule.ts";

const CFG: DoseConfig = { compartments: 28, earlyMin: 30, lateMin: 120, collectMin: 15, remindEveryMin: 10, refillWarnH: 72, jamMs: 6000 };
const STEP_S = 1.5;
const T0 = Date.parse("2026-11-23T00:00:00Z") / 1000; // a Monday, CET
const at = (hhmm: string, day = 0) => T0 + day * 86400 + (+hhmm.slice(0, 2) * 60 + +hhmm.slice(3)) * 60 - 3600; // Oslo CET wall time
const SCHED: Schedule = { version: 1, doses: [{ minute: 480, weekdays: 0 }, { minute: 1200, weekdays: 0 }], earlyMin: 0, lateMin: 0, collectMin: 0, remindEveryMin: 0 };

/** A physical dispenser around the cycle: carousel with an absolute encoder, tray, flash, outbox. */
class Rig {
  t = T0;
  pos = 0;
  motorOn = false;
  jammed = false;
  tray = 0;
  flash: string | null = null;
  events: Array<{ body: any; time: number }> = [];
  emptied: number[] = [];
  beeps = 0;
  cycle!: DoseCycle;
  io: CyclePorts;
  constructor() {
    this.io = {
      save: (s: CycleState) => { this.flash = JSON.stringify(s); },
      emit: (body: any, time: number) => { this.events.push({ body, time }); },
      appended: () => this.events.length,
      motor: (on: boolean) => { if (!on) this.stop(); this.motorOn = on; },
      position: () => this.pos,
      mono: () => this.t * 1000,
      tray: () => this.tray > 0,
      show: () => {},
      beep: (n: number) => { this.beeps += n; },
    };
    this.boot();
  }
  boot() {
    this.cycle = new DoseCycle(CFG, this.io, this.flash ? JSON.parse(this.flash) : null);
    this.cycle.boot(this.t);
  }
  /** The motor stops: a compartment standing at the exit empties into the tray. */
  stop() {
    const c = Math.round(this.pos);
    if (this.motorOn && Math.abs(this.pos - c) < 0.15 && c >= 1 && !this.emptied.includes(c)) {
      this.emptied.push(c);
      this.tray++;
    }
    this.motorOn = false;
  }
  physics(dt: number) {
    if (this.motorOn && !this.jammed) this.pos += dt / STEP_S;
  }
  /** Runs the cycle in virtual time until `until`, waking when it asks (at least every 60 s). */
  run(until: number) {
    for (;;) {
      const wake = this.cycle.step(this.t);
      const next = Math.min(Math.max(wake, this.t + 0.05), until);
      if (next <= this.t) return;
      this.physics(next - this.t);
      this.t = next;
      if (this.t >= until) { this.cycle.step(this.t); return; }
    }
  }
  press() { return this.cycle.press(this.t); }
  take() { this.tray = 0; this.cycle.step(this.t); }
  powerCut() { this.stop(); this.boot(); }
  dose(kind?: number) {
    return this.events
      .filter((e) => e.body.dose && (kind === undefined || e.body.dose.kind === kind))
      .map((e) => ({ ...e.body.dose, scheduled: e.time - e.body.dose.delayS }));
  }
}

function started(): Rig {
  const r = new Rig();
  r.cycle.setSchedule(SCHED, r.t);
  return r;
}

describe("dose cycle", () => {
  it("with the window open before the dose time, the cycle wakes at the dose time (reminders start then)", () => {
    const r = new Rig();
    r.cycle.setSchedule({ ...SCHED, earlyMin: 25 }, r.t); // not a multiple of the 10-minute re-check
    const p = at("08:00");
    r.run(p - 24 * 60);
    expect(r.cycle.step(r.t)).toBeLessThanOrEqual(p);
  });

  it("press in the window dispenses once; taking it out reports DoseTaken with the delay", () => {
    const r = started();
    r.run(at("07:20"));
    expect(r.press()).toBe(false); // window opens 07:30
    r.run(at("08:05"));
    expect(r.press()).toBe(true);
    r.run(at("08:05") + 5);
    expect(r.emptied).toEqual([1]);
    expect(r.press()).toBe(false); // dose lies in the tray
    r.run(at("08:07"));
    r.take();
    const taken = r.dose(DOSE_TAKEN);
    expect(taken.length).toBe(1);
    expect(taken[0].scheduled).toBe(at("08:00"));
    expect(taken[0].delayS).toBe(420);
    expect(taken[0].remaining).toBe(27);
    r.run(at("09:00"));
    expect(r.press()).toBe(false); // next dose at 20:00
    expect(r.emptied).toEqual([1]);
  });

  it("no press by the late limit: DoseMissed once, the compartment stays locked, reminders escalated", () => {
    const r = started();
    r.run(at("10:30"));
    expect(r.dose(DOSE_REMINDER).length).toBe(1);
    expect(r.beeps).toBeGreaterThanOrEqual(1 + 2 + 3);
    const missed = r.dose(DOSE_MISSED);
    expect(missed.length).toBe(1);
    expect(missed[0].scheduled).toBe(at("08:00"));
    expect(r.events.find((e) => e.body.dose?.kind === DOSE_MISSED)!.time).toBe(at("10:00"));
    expect(r.press()).toBe(false);
    r.powerCut();
    r.run(at("11:00"));
    expect(r.press()).toBe(false);
    // the 20:00 dose uses compartment 2: the carousel skips the missed one without stopping at it
    r.run(at("20:01"));
    expect(r.press()).toBe(true);
    r.run(at("20:02"));
    expect(r.emptied).toEqual([2]);
    expect(r.dose(DOSE_MISSED).length).toBe(1);
  });

  it("not collected in time: DoseNotCollected, then DoseTaken when it is taken", () => {
    const r = started();
    r.run(at("08:00"));
    r.press();
    r.run(at("08:20"));
    expect(r.dose(DOSE_NOT_COLLECTED).length).toBe(1);
    r.run(at("08:40"));
    r.take();
    expect(r.dose().map((d) => d.kind)).toEqual([DOSE_NOT_COLLECTED, DOSE_TAKEN]);
  });

  it("power cut at any instant of a dispense never gives a second dose and never loses the event", () => {
    for (let k = 0; k < 200; k++) {
      const r = started();
      r.run(at("08:10"));
      r.press();
      r.run(at("08:10") + (k / 200) * 2.5); // the move takes 1.5 s
      r.powerCut();
      r.run(at("08:11"));
      if (r.emptied.length === 0) r.press(); // (a resumed intent already finished it)
      r.run(at("08:12"));
      r.take();
      r.run(at("09:00"));
      r.press();
      r.powerCut();
      r.run(at("09:30"));
      expect(r.emptied).toEqual([1]);
      expect(r.dose(DOSE_TAKEN).length).toBe(1);
    }
  });

  it("power back only after the late limit: the half-done move is abandoned, the dose missed, its compartment never opened", () => {
    const r = started();
    r.run(at("08:10"));
    r.press();
    r.run(at("08:10") + 0.7); // half way to compartment 1
    r.stop(); // power gone: the motor stops between compartments
    r.t = at("10:30");
    r.boot();
    r.run(at("10:31"));
    expect(r.motorOn).toBe(false);
    expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("08:00")]);
    r.run(at("20:01"));
    expect(r.press()).toBe(true);
    r.run(at("20:02"));
    expect(r.emptied).toEqual([2]); // passed compartment 1 without resting there
  });

  it("a slot sensor reading that fits no intent locks the motor with FAULT_SLOT_SENSOR", () => {
    const r = started();
    r.run(at("08:10"));
    r.press();
    r.run(at("08:10") + 0.5);
    r.stop();
    r.pos = 5; // the carousel is somewhere it cannot be
    r.boot();
    r.run(at("08:20"));
    expect(r.events.filter((e) => e.body.fault?.code === 11).length).toBe(1);
    expect(r.press()).toBe(false);
    expect(r.motorOn).toBe(false);
  });

  it("emit journal: a cut between the state write and the outbox append re-appends once", () => {
    const r = started();
    r.run(at("08:00"));
    r.press();
    r.run(at("08:01"));
    const realEmit = r.io.emit;
    r.io.emit = () => { throw new Error("power cut"); }; // state saved, append never happened
    expect(() => r.take()).toThrow();
    r.io.emit = realEmit;
    r.boot();
    r.run(at("08:30"));
    expect(r.dose(DOSE_TAKEN).length).toBe(1);
    r.boot(); // a second boot: already appended, not again
    r.run(at("08:40"));
    expect(r.dose(DOSE_TAKEN).length).toBe(1);
  });

  it("emit journal: recover() runs before a boot-time fault can overwrite the journal", () => {
    const r = started();
    r.run(at("08:00"));
    r.press();
    r.run(at("08:01"));
    const realEmit = r.io.emit;
    r.io.emit = () => { throw new Error("power cut"); };
    expect(() => r.take()).toThrow();
    r.io.emit = realEmit;
    r.cycle = new DoseCycle(CFG, r.io, JSON.parse(r.flash!));
    r.cycle.recover(); // what the app does first, before the clock-not-set fault below
    r.cycle.fault(6, true, 0, 0);
    r.cycle.boot(r.t);
    r.run(at("08:30"));
    expect(r.dose(DOSE_TAKEN).length).toBe(1);
  });

  it("a new schedule owes no dose from before it, but keeps a pending dose it shares with the old one", () => {
    const r = started();
    r.run(at("08:08"));
    // v2 at 08:08 keeps 08:00 (window open, not yet pressed) and adds 06:00 (already past: not owed)
    r.cycle.setSchedule({ ...SCHED, version: 2, doses: [{ minute: 360, weekdays: 0 }, { minute: 480, weekdays: 0 }, { minute: 1200, weekdays: 0 }] }, r.t);
    expect(r.press()).toBe(true);
    r.run(at("08:12"));
    r.take();
    expect(r.dose(DOSE_TAKEN).map((d) => d.scheduled)).toEqual([at("08:00")]);
    // v3 at 21:00 with a 20:30 dose: the old 20:00 dose is open but v3 drops it; 20:30 did not exist
    r.run(at("21:00"));
    r.cycle.setSchedule({ ...SCHED, version: 3, doses: [{ minute: 1230, weekdays: 0 }] }, r.t);
    r.run(at("23:59"));
    expect(r.dose(DOSE_MISSED)).toEqual([]);
    expect(r.dose(DOSE_REMINDER).map((d) => d.scheduled)).toEqual([at("20:00")]); // sent before v3 arrived
    r.run(at("20:40", 1));
    expect(r.press()).toBe(true);
  });

  it("motor jam: FaultMotorJam, no motion until a refill, the dose goes missed", () => {
    const r = started();
    r.run(at("08:00"));
    r.jammed = true;
    r.press();
    r.run(at("08:01"));
    expect(r.events.filter((e) => e.body.fault?.code === FAULT_MOTOR_JAM).length).toBe(1);
    expect(r.motorOn).toBe(false);
    expect(r.press()).toBe(false);
    r.run(at("10:01"));
    expect(r.dose(DOSE_MISSED).length).toBe(1);
    r.jammed = false;
    r.pos = 0;
    r.emptied = [];
    r.cycle.refill(28, r.t);
    expect(r.events.filter((e) => e.body.fault?.code === FAULT_MOTOR_JAM && e.body.fault.cleared).length).toBe(1);
    r.run(at("20:00"));
    expect(r.press()).toBe(true);
  });

  it("clock jumps: back after a dose does not dispense it again; forward reports every skipped dose as missed, once", () => {
    const r = started();
    r.run(at("08:00"));
    r.press();
    r.run(at("08:01"));
    r.take();
    r.t -= 3 * 3600; // time sync moves the clock back 3 h
    r.run(at("07:50"));
    expect(r.press()).toBe(false);
    r.t = at("09:00", 2); // forward 2 days
    r.run(at("09:01", 2));
    const missed = r.dose(DOSE_MISSED).map((d) => d.scheduled);
    expect(missed).toEqual([at("20:00"), at("08:00", 1), at("20:00", 1)]);
    r.run(at("08:30", 2) + 86400);
    // day 2 08:00 (clock landed at 09:00, no press) and 20:00 follow as missed too
    expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("20:00"), at("08:00", 1), at("20:00", 1), at("08:00", 2), at("20:00", 2)]);
    expect(r.emptied).toEqual([1]);
  });

  it("refill warning ahead of time, repeated daily until the refill is confirmed", () => {
    const r = started();
    for (let day = 0; day < 14; day++) {
      r.run(at("08:00", day));
      r.press();
      r.run(at("08:01", day));
      r.take();
      r.run(at("20:00", day));
      r.press();
      r.run(at("20:01", day));
      r.take();
      if (day === 12) { r.pos = 0; r.emptied = []; r.cycle.refill(28, r.t); }
    }
    const sup = r.events.filter((e) => e.body.supply).map((e) => e.body.supply);
    const warn = sup.filter((s) => !s.refilled);
    // 28 doses, 2 a day: the last loaded dose is day 13 08:00 -> warnings from 72 h before, daily
    expect(warn.length).toBeGreaterThanOrEqual(3);
    expect(warn[0].hoursLeft).toBeLessThanOrEqual(72);
    expect(sup.filter((s) => s.refilled).length).toBe(1);
    const afterRefill = r.events.findIndex((e) => e.body.supply?.refilled);
    expect(r.events.slice(afterRefill).filter((e) => e.body.supply && !e.body.supply.refilled).length).toBe(0);
  });

  it("travel mode dispenses the next N doses ahead, reported as travel; assisted doses are reported as assisted", () => {
    const r = started();
    r.run(at("06:00"));
    r.cycle.setTravel(3);
    r.run(at("06:01"));
    const d = r.dose(DOSE_DISPENSED);
    expect(d.map((x) => x.mode)).toEqual([MODE_TRAVEL, MODE_TRAVEL, MODE_TRAVEL]);
    expect(d.map((x) => x.scheduled)).toEqual([at("08:00"), at("20:00"), at("08:00", 1)]);
    expect(r.emptied).toEqual([1, 2, 3]);
    r.tray = 0;
    r.cycle.setAssisted(true);
    r.run(at("20:00", 1));
    expect(r.press()).toBe(true);
    r.run(at("20:01", 1));
    r.take();
    expect(r.dose(DOSE_TAKEN)[0].mode).toBe(MODE_ASSISTED);
    expect(r.emptied).toEqual([1, 2, 3, 4]);
  });

  it("lid: opened by staff is fine, opened otherwise is a fault, forced is a fault; both clear on closing", () => {
    const r = started();
    r.cycle.lid(true, false, r.t);
    r.cycle.lid(false, false, r.t);
    r.cycle.lid(true, true, r.t);
    r.cycle.lid(false, false, r.t);
    r.cycle.setAssisted(true);
    r.cycle.lid(true, false, r.t);
    const f = r.events.map((e) => e.body.fault).map((x) => `${x.code}${x.cleared ? "-" : "+"}`);
    expect(f).toEqual([`${FAULT_LID_OPENED}+`, `${FAULT_LID_OPENED}-`, `${FAULT_FORCED_OPENING}+`, `${FAULT_LID_OPENED}+`, `${FAULT_LID_OPENED}-`, `${FAULT_FORCED_OPENING}-`]);
  });
});

describe("pass-over of a missed compartment", () => {
  const released = (r: Rig) => r.events.filter((e) => e.body.fault?.code === FAULT_DOSE_RELEASED);

  it("right after the miss the carousel parks between the missed compartment and the next; the next dose is a half step", () => {
    const r = started();
    r.run(at("10:00") + 5);
    expect(r.dose(DOSE_MISSED).length).toBe(1);
    expect(r.motorOn).toBe(false);
    expect(r.pos).toBeGreaterThan(1.35);
    expect(r.pos).toBeLessThan(1.65);
    expect(r.cycle.st.pos).toBe(1.5);
    expect(r.emptied).toEqual([]);
    r.run(at("20:01"));
    expect(r.press()).toBe(true);
    const t0 = r.t;
    r.run(at("20:02"));
    expect(r.emptied).toEqual([2]);
    expect(r.cycle.st.pos).toBe(2);
    r.take();
    expect(r.dose(DOSE_TAKEN).map((d) => d.scheduled)).toEqual([at("20:00")]);
    expect(t0).toBeLessThan(r.t);
  });

  it("the park waits while a dose lies in the tray, and is skipped when no loaded compartment follows", () => {
    const r = started();
    r.run(at("08:01"));
    r.press();
    r.run(at("08:02")); // compartment 1 in the tray, never taken out
    r.run(at("22:00") + 5); // 20:00 missed (late limit 22:00): compartment 2 is not passed yet
    expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("20:00")]);
    expect(r.cycle.st.pos).toBe(1);
    expect(r.motorOn).toBe(false);
    r.take();
    r.run(at("22:01"));
    expect(r.cycle.st.pos).toBe(2.5);
    expect(r.emptied).toEqual([1]);
    // a carousel loaded with 3: the third missed -> nothing follows, no pass-over at all
    const q = started();
    q.cycle.refill(1, q.t);
    q.run(at("10:01"));
    expect(q.dose(DOSE_MISSED).length).toBe(1);
    expect(q.cycle.st.pos).toBe(0);
    expect(q.pos).toBe(0);
  });

  it("power cut at any instant of the park move: the missed dose either stays in its compartment or is reported released, never a second dose", () => {
    let releasedRuns = 0;
    for (let k = 0; k <= 250; k++) {
      const r = started();
      r.run(at("10:00"));
      const t0 = r.t;
      r.run(t0 + (k / 250) * 2.6); // the park move (0 -> 1.5) takes 2.25 s
      r.powerCut();
      r.run(at("10:30"));
      r.run(at("20:01"));
      const pressed = r.press();
      r.run(at("20:02"));
      r.take();
      r.run(at("23:00"));
      expect(r.dose(DOSE_MISSED)[0].scheduled).toBe(at("08:00"));
      expect(r.dose(DOSE_TAKEN).every((d) => d.scheduled !== at("08:00"))).toBe(true);
      if (r.emptied.includes(1)) {
        releasedRuns++;
        expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("08:00"), at("20:00")]);
        expect(released(r).map((e) => e.body.fault.detail)).toEqual([1]);
        expect(pressed).toBe(false); // locked: no further dispensing
        expect(r.emptied).toEqual([1]);
        expect(r.dose(DOSE_TAKEN)).toEqual([]); // the released dose is never reported taken
      } else {
        expect(r.dose(DOSE_MISSED).length).toBe(1);
        expect(released(r)).toEqual([]);
        expect(pressed).toBe(true);
        expect(r.emptied).toEqual([2]);
        expect(r.dose(DOSE_TAKEN).map((d) => d.scheduled)).toEqual([at("20:00")]);
      }
    }
    expect(releasedRuns).toBeGreaterThan(5); // the cut did hit the aligned instant
  });

  it("released: locked until a refill is confirmed with the tray empty; the fault clears then", () => {
    const r = started();
    r.run(at("10:00"));
    r.run(r.t + 1.5); // aligned with compartment 1
    expect(Math.abs(r.pos - 1)).toBeLessThan(0.15);
    r.powerCut();
    expect(r.emptied).toEqual([1]);
    r.run(at("10:10"));
    expect(released(r).length).toBe(1);
    expect(r.motorOn).toBe(false);
    r.pos = 0; // the nurse swaps the carousel but leaves the dose in the tray
    r.emptied = [];
    r.cycle.refill(28, r.t);
    expect(r.cycle.st.jam).toBe(1);
    r.run(at("20:01"));
    expect(r.press()).toBe(false);
    r.run(at("22:10"));
    r.take(); // nothing is reported for the released dose
    expect(r.dose(DOSE_TAKEN)).toEqual([]);
    r.cycle.refill(28, r.t);
    expect(released(r).map((e) => e.body.fault.cleared)).toEqual([false, true]);
    r.run(at("08:01", 1));
    expect(r.press()).toBe(true);
    r.run(at("08:02", 1));
    expect(r.emptied).toEqual([1]);
    expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("08:00"), at("20:00")]);
  });

  it("several misses in a row are passed in one park move; a cut on any of them is reported with that compartment", () => {
    for (const cutAt of [1, 2]) {
      const r = started();
      r.run(at("07:00"));
      r.t = at("22:30"); // device off all day (clock kept): 08:00 and 20:00 both missed at once
      r.run(r.t + 0.1);
      expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("08:00"), at("20:00")]);
      expect(r.cycle.st.intent).toMatchObject({ to: 2.5, p: 1 });
      while (r.pos < cutAt) r.run(r.t + 0.05);
      r.powerCut();
      r.run(at("23:00"));
      expect(r.emptied).toEqual([cutAt]);
      expect(released(r).map((e) => e.body.fault.detail)).toEqual([cutAt]);
      r.run(at("08:01", 1));
      expect(r.press()).toBe(false);
    }
  });

  it("a refill confirmed during a park move stops the motor; the fresh carousel is not turned", () => {
    const r = started();
    r.run(at("10:00"));
    r.run(r.t + 0.5);
    expect(r.motorOn).toBe(true);
    r.pos = 0; // the nurse swaps the carousel (motor still on)
    r.cycle.refill(28, r.t);
    expect(r.motorOn).toBe(false);
    expect(r.cycle.busy()).toBe(false);
    r.run(at("10:05"));
    expect(r.pos).toBe(0);
    expect(r.cycle.st.intent).toBe(null);
    r.run(at("20:01"));
    expect(r.press()).toBe(true);
    r.run(at("20:02"));
    expect(r.emptied).toEqual([1]);
  });

  it("a dispense intent that passes a missed compartment (no park yet) and is cut aligned with it is not continued", () => {
    const r = started();
    r.run(at("10:00") + 5);
    // as saved by a dispense 0 -> 2 started before the park (e.g. an older firmware): cut over compartment 1
    const st = JSON.parse(r.flash!);
    st.pos = 0;
    st.intent = { s: at("20:00"), to: 2, m: 0 };
    r.flash = JSON.stringify(st);
    r.t = at("20:01");
    r.pos = 1.05;
    r.motorOn = true;
    r.powerCut();
    r.run(at("20:10"));
    expect(r.emptied).toEqual([1]);
    expect(released(r).map((e) => e.body.fault.detail)).toEqual([1]);
    expect(r.press()).toBe(false);
    r.run(at("23:00"));
    expect(r.emptied).toEqual([1]);
    expect(r.dose(DOSE_TAKEN)).toEqual([]);
    expect(r.dose(DOSE_MISSED).map((d) => d.scheduled)).toEqual([at("08:00"), at("20:00")]);
  });

  it("something in the tray on boot that is not the dose being dispensed: reported, not continued", () => {
    const r = started();
    r.run(at("08:10"));
    r.press();
    r.run(at("08:10") + 0.6);
    r.stop();
    r.tray = 1; // between compartments, yet the tray is occupied
    r.boot();
    r.run(at("08:20"));
    expect(released(r).map((e) => e.body.fault.detail)).toEqual([0]);
    expect(r.motorOn).toBe(false);
    expect(r.emptied).toEqual([]);
  });
});
