// The dispenser app around the dose cycle: pins (from BOARD), timers, indicators, power/battery/
// storage/memory supervision, and the downlinks (Schedule, Command) — over the core Hal. The link
// and session are not named here: events leave through `Net` (main.ts binds it to the core outbox
// and link), so this file runs unchanged in unit tests with a fake Hal.
// Pins (hardware/dispenser-esp32.toml): motor (out), slot_sensor (analog encoder), tray_sensor,
// lid_switch, tamper_switch, mains_sense (in), button (in, active low), led_red/green/blue, buzzer (out),
// battery (analog).
// Espruino subset.
import type { Hal } from "../core/hal.ts";
import {
  DoseCycle, FAULT_BATTERY_LOW, FAULT_CLOCK_JUMPED, FAULT_CLOCK_NOT_SET, FAULT_MAINS_LOST, FAULT_OUT_OF_MEMORY,
  FAULT_STORAGE_NEARLY_FULL, SHOW_COLLECT, SHOW_FAULT, SHOW_READY, SHOW_REMIND, type CycleState, type DoseConfig,
} from "./dose-cycle.ts";

/** Where events go: main.ts binds this to the flash outbox + link of firmware/core. */
export interface Net {
  /** Queues an event body (e.g. {dose:{...}}) with its device time. critical = never dropped, retransmitted. */
  post(body: any, timeS: number, critical: boolean): void;
  /** Reliable events ever appended (the outbox's next seq; persisted with it). */
  appended(): number;
  /** Reliable events waiting for an ack. */
  depth(): number;
  /** Records the outbox holds at most. */
  capacity(): number;
}

/** Storage file of the dispenser state (dose cycle + schedule), rewritten on change. */
export const STATE_FILE = "disp.st";
/** Unix seconds before which the clock counts as not set (2020-01-01). */
const CLOCK_VALID_FROM = 1577836800;

const COMMAND_STATUS = 1;
const COMMAND_REFILL_CONFIRMED = 3;
const COMMAND_ASSISTED_MODE = 4;
const COMMAND_TRAVEL_MODE = 5;
const COMMAND_MAINTENANCE = 6;
const COMMAND_REBOOT = 7;
const FAULT_OUTBOX_FULL = 9;
const FAULT_INTERNAL_ERROR = 12;

export function doseConfig(board: any): DoseConfig {
  const d = board.extra && board.extra.dispenser ? board.extra.dispenser : board.dispenser || {};
  return {
    compartments: d.compartments || 28,
    earlyMin: d.early_min || 30,
    lateMin: d.late_min || 120,
    collectMin: d.collect_min || 15,
    remindEveryMin: d.remind_every_min || 10,
    refillWarnH: d.refill_warn_h || 72,
    jamMs: d.jam_ms || 6000,
  };
}

export class DispenserApp {
  hal: Hal;
  net: Net;
  board: any;
  pins: any;
  d: any;
  cycle: DoseCycle;
  timer: any;
  wakeAt: number;
  booted: boolean;
  showMode: number;
  bootAt: number;
  battMv: number;
  reportingFull: boolean;
  /** records the outbox refused since the last FAULT_OUTBOX_FULL report */
  refused: number;
  /** errors caught in the dose cycle since boot, and when the last FAULT_INTERNAL_ERROR went out */
  errors: number;
  errorReportedAt: number;
  /** monotonic ms (core Clock.mono: does not jump on a time sync) */
  mono: () => number;

  constructor(hal: Hal, board: any, net: Net, mono: () => number) {
    this.hal = hal;
    this.net = net;
    this.board = board;
    this.pins = board.pins;
    this.d = board.extra && board.extra.dispenser ? board.extra.dispenser : board.dispenser || {};
    this.timer = null;
    this.wakeAt = 0;
    this.booted = false;
    this.showMode = -1;
    this.bootAt = hal.now();
    this.battMv = 0;
    this.reportingFull = false;
    this.refused = 0;
    this.errors = 0;
    this.errorReportedAt = -3600;
    this.mono = mono;
    let saved: CycleState | null = null;
    const txt = hal.readFile(STATE_FILE);
    if (txt) {
      try {
        saved = JSON.parse(txt);
      } catch (e) {
        saved = null; // unreadable: start fresh; the backend re-sends the schedule on DeviceInfo
      }
    }
    const app = this;
    this.cycle = new DoseCycle(
      doseConfig(board),
      {
        save: function (s) {
          hal.writeFile(STATE_FILE, JSON.stringify(s));
        },
        emit: function (body, time) {
          net.post(body, time, true);
        },
        appended: function () {
          return net.appended();
        },
        motor: function (on) {
          hal.write(app.pins.motor, on);
        },
        mono: function () {
          return app.mono();
        },
        position: function () {
          return hal.analog(app.pins.slot_sensor) * (app.cycle ? app.cycle.cfg.compartments + 1 : 29);
        },
        tray: function () {
          return hal.read(app.pins.tray_sensor);
        },
        show: function (mode) {
          app.show(mode);
        },
        beep: function (n) {
          app.beep(n);
        },
      },
      saved,
    );
  }


  /** Device time, Unix seconds with fractions. */
  now(): number {
    return this.hal.now() / 1000;
  }

  clockSet(): boolean {
    return this.now() >= CLOCK_VALID_FROM;
  }

  /** Power-on: motor off, inputs watched, supervision started; the dose cycle boots once the clock is set. */
  start(): void {
    const hal = this.hal;
    const p = this.pins;
    const app = this;
    hal.write(p.motor, false);
    this.cycle.recover(); // before anything below can emit (it would overwrite the journal)
    const deb = this.board.defaults && this.board.defaults.debounce_ms ? this.board.defaults.debounce_ms : 50;
    hal.watch(p.button, deb, function (level) {
      if (level === !p.button_active_low) app.press();
    });
    hal.watch(p.tray_sensor, deb, function () {
      app.tick();
    });
    hal.watch(p.lid_switch, deb, function () {
      app.lid();
    });
    hal.watch(p.tamper_switch, deb, function () {
      app.lid();
    });
    hal.watch(p.mains_sense, deb, function () {
      app.supervise();
    });
    if (this.clockSet()) this.bootCycle();
    else this.cycle.fault(FAULT_CLOCK_NOT_SET, true, 0, this.now());
    this.lid();
    this.supervise();
    this.superviseLoop();
  }

  bootCycle(): void {
    if (this.booted) return;
    this.booted = true;
    this.cycle.boot(this.now());
    this.tick();
  }

  /** The gateway set the clock (Hello or TimeSync). correction = device minus gateway seconds, before the fix. */
  clockSynced(correction: number): void {
    const now = this.now();
    this.cycle.fault(FAULT_CLOCK_NOT_SET, false, 0, now);
    const lim = this.d.clock_jump_s || 120;
    if (this.booted && (correction > lim || correction < -lim)) this.cycle.report(FAULT_CLOCK_JUMPED, -correction, now);
    if (!this.booted) this.bootCycle();
    else this.tick();
  }

  press(): void {
    if (!this.booted) return;
    try {
      this.cycle.press(this.now());
    } catch (e) {
      this.errors++;
      this.hal.log("dispenser: press failed: " + e);
    }
    this.tick();
  }

  lid(): void {
    this.cycle.lid(this.hal.read(this.pins.lid_switch), this.hal.read(this.pins.tamper_switch), this.now());
  }

  /** Runs the cycle and sleeps until it asks to run again. */
  tick(): void {
    if (!this.booted) return;
    const now = this.now();
    let next = now + 60;
    // Espruino prints an uncaught error in a timer and goes on, which would leave the dose cycle
    // without its next timer: catch, count, report (at most hourly) and keep the cycle running.
    try {
      next = this.cycle.step(now);
    } catch (e) {
      this.errors++;
      this.hal.log("dispenser: step failed: " + e);
      if (now - this.errorReportedAt >= 3600) {
        this.errorReportedAt = now;
        try {
          this.cycle.report(FAULT_INTERNAL_ERROR, this.errors, now);
        } catch (e2) {
          // reporting failed too (e.g. flash): the retry above still keeps the cycle alive
        }
      }
    }
    const app = this;
    if (this.timer) this.hal.clearTimeout(this.timer);
    let ms = (next - now) * 1000;
    if (ms < 10) ms = 10;
    this.wakeAt = next;
    this.timer = this.hal.setTimeout(function () {
      app.timer = null;
      app.tick();
    }, ms);
  }

  /**
   * LEDs, steady (no blink timers: a reminder can run for hours and timers cost power and events):
   * green = press now (window open / dose in the tray), green + red = reminder escalation running or
   * the dose lies uncollected, red alone = cannot dispense (jam, empty, sensor fault).
   */
  show(mode: number): void {
    if (mode === this.showMode) return;
    this.showMode = mode;
    const p = this.pins;
    this.hal.write(p.led_red, mode === SHOW_FAULT || mode === SHOW_REMIND);
    this.hal.write(p.led_green, mode === SHOW_READY || mode === SHOW_REMIND || mode === SHOW_COLLECT);
  }

  /** n short beeps (n = escalation level: more beeps = more insistent). */
  beep(n: number): void {
    const hal = this.hal;
    const pin = this.pins.buzzer;
    let left = n * 2;
    const toggle = function () {
      left--;
      hal.write(pin, left % 2 === 1);
      if (left > 0) hal.setTimeout(toggle, 200);
    };
    toggle();
  }

  batteryMv(): number {
    const b = this.board.battery || { vref: 3.3, divider: 2 };
    return Math.round(this.hal.analog(this.pins.battery) * b.vref * b.divider * 1000);
  }

  /** Mains, battery, storage, outbox and interpreter error flags: latched faults reported on change. */
  supervise(): void {
    const now = this.now();
    const c = this.cycle;
    c.fault(FAULT_MAINS_LOST, !this.hal.read(this.pins.mains_sense), 0, now);
    const mv = this.batteryMv();
    this.battMv = mv;
    const low = this.board.battery ? this.board.battery.low_mv : 3600;
    const isLow = (c.st.faults & (1 << FAULT_BATTERY_LOW)) !== 0;
    // 100 mV hysteresis so a battery around the threshold does not flap
    if (!isLow && mv < low) c.fault(FAULT_BATTERY_LOW, true, mv, now);
    else if (isLow && mv > low + 100) c.fault(FAULT_BATTERY_LOW, false, mv, now);
    const free = this.hal.storageFree();
    const lowFree = this.d.storage_low_bytes || 8192;
    c.fault(FAULT_STORAGE_NEARLY_FULL, free < lowFree, free, now);
    const flags = this.hal.errorFlags();
    let mem = 0;
    for (let i = 0; i < flags.length; i++) if (flags[i] === "LOW_MEMORY" || flags[i] === "MEMORY") mem |= flags[i] === "MEMORY" ? 1 : 2;
    if (mem) c.report(FAULT_OUT_OF_MEMORY, mem, now);
    this.reportOutboxFull();
  }

  superviseLoop(): void {
    const app = this;
    const s = this.d.battery_check_s || 600;
    this.hal.setTimeout(function () {
      app.supervise();
      app.superviseLoop();
    }, s * 1000);
  }

  /**
   * The outbox refused a record (full of unacked critical records: ~5 weeks offline at 4 doses a
   * day with outbox_max = 256). The report itself cannot be queued then, so it is remembered and
   * sent by supervise() once there is room again, with the number of refused records as detail.
   */
  outboxFull(): void {
    if (this.reportingFull) return;
    this.refused++;
  }

  reportOutboxFull(): void {
    if (!this.refused || this.net.depth() >= this.net.capacity()) return;
    this.reportingFull = true;
    const n = this.refused;
    this.refused = 0;
    this.cycle.report(FAULT_OUTBOX_FULL, n, this.now());
    this.reportingFull = false;
  }

  /** Handles a downlink body; returns a reply body to send reliably ({scheduleAck}/{status}) or null. */
  downlink(env: any): any {
    const now = this.now();
    if (env.schedule) {
      const s = env.schedule;
      const err = this.cycle.setSchedule(
        {
          version: s.version || 0, doses: s.doses || [], earlyMin: s.earlyMin || 0, lateMin: s.lateMin || 0,
          collectMin: s.collectMin || 0, remindEveryMin: s.remindEveryMin || 0,
        },
        now,
      );
      this.tick();
      return { scheduleAck: { version: s.version || 0, ok: err === "", error: err.substr(0, 32) } };
    }
    if (env.command) {
      const k = env.command.kind || 0;
      const arg = env.command.arg || 0;
      if (k === COMMAND_REFILL_CONFIRMED) this.cycle.refill(arg, now);
      else if (k === COMMAND_ASSISTED_MODE) {
        this.cycle.setAssisted(arg !== 0);
        this.lid();
      } else if (k === COMMAND_TRAVEL_MODE) this.cycle.setTravel(arg);
      else if (k === COMMAND_REBOOT) this.hal.reboot();
      else if (k === COMMAND_MAINTENANCE) this.hal.maintenance();
      else if (k === COMMAND_STATUS) return { status: this.status() };
      this.tick();
    }
    return null;
  }

  status(): any {
    const m = this.hal.memory();
    return {
      firmware: "",
      board: this.board.id || "",
      scheduleVersion: this.cycle.st.sch ? this.cycle.st.sch.version : 0,
      outboxDepth: this.net.depth(),
      batteryMv: this.battMv,
      uptimeS: Math.floor((this.hal.now() - this.bootAt) / 1000),
      freeVars: m.free,
      mains: this.hal.read(this.pins.mains_sense),
    };
  }

  /** Heartbeat body (telemetry). */
  heartbeat(intervalS: number): any {
    return {
      heartbeat: {
        batteryMv: this.battMv, outboxDepth: this.net.depth(), intervalS: intervalS,
        mains: this.hal.read(this.pins.mains_sense), uptimeS: Math.floor((this.hal.now() - this.bootAt) / 1000),
      },
    };
  }

  scheduleVersion(): number {
    return this.cycle.st.sch ? this.cycle.st.sch.version : 0;
  }
}
