// The alarm-button application (Espruino subset), over a Hal and firmware/core.
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
import type { Hal } from "../core/hal.ts";
import { Clock } from "../core/clock.ts";
import { State } from "../core/state.ts";
import { Outbox, CLS_CRITICAL, CLS_TELEMETRY } from "../core/outbox.ts";
import { Link } from "../core/link.ts";
import type { Identity } from "../core/link.ts";
import { Session } from "../core/session.ts";
import { Indicator } from "./indicator.ts";
import { FaultCode, CommandKind, DeviceKind } from "../../protocol/gen/codec.ts";
import { truncateUtf8, MAX_ERROR_BYTES } from "../../protocol/caps.ts";

export const MAINTENANCE_HOLD_MS = 5000;
/** how long "acknowledged" and "cancelled" stay shown before idle */
export const SHOW_ACK_MS = 30000;
export const SHOW_CANCEL_MS = 3000;
/** a best-effort Battery report (with the days-left estimate) goes out at least this often */
export const BATTERY_REPORT_MS = 24 * 3600 * 1000;
/** battery must rise this far above low_mv to clear the low state */
const BATTERY_HYSTERESIS_MV = 100;

/**
 * Bit of an Espruino E.getErrorFlags() name in Status.error_flags: FIFO_FULL 1, BUFFER_FULL 2,
 * CALLBACK 4, LOW_MEMORY 8, MEMORY 16, MEMORY_BUSY 32, UART_OVERFLOW 64 (0 for an unknown name).
 * Functions instead of tables here and below keep constant data out of RAM on the nRF52.
 */
export function errorBit(name: string): number {
  const i = ["FIFO_FULL", "BUFFER_FULL", "CALLBACK", "LOW_MEMORY", "MEMORY", "MEMORY_BUSY", "UART_OVERFLOW"].indexOf(name);
  return i < 0 ? 0 : 1 << i;
}
const MEMORY_BITS = 8 | 16;

export class AlarmApp {
  hal: Hal;
  board: any;
  version: string;
  clock: Clock;
  state: State;
  outbox: Outbox;
  link: Link;
  session: Session;
  ind: Indicator;
  cfg: any;
  activeLow: boolean;
  /** seq of the alarm being shown (0 = none) */
  alarmSeq: number;
  alarmTest: boolean;
  /** clock.mono() of the press that raised the open alarm */
  alarmAt: number;
  gatewayHas: boolean;
  cancelUntil: number;
  ackTimer: any;
  holdTimer: any;
  showTimer: any;
  hbTimer: any;
  presses: number[];
  maintenance: boolean;
  batteryLow: boolean;
  errorBits: number;
  errors: number;
  /** clock.mono() of the last Battery report (-1: none since boot) */
  batteryAt: number;

  constructor(hal: Hal, board: any, version: string, ident: Identity) {
    this.hal = hal;
    this.board = board;
    this.version = version;
    const d = board.defaults;
    this.clock = new Clock(hal);
    this.state = new State(hal);
    // the log is compacted at a quarter of the flash left beside the bundle
    this.outbox = new Outbox(hal, d.outbox_max, Math.floor((board.memory.storage_bytes - board.memory.bundle_budget) / 4));
    this.outbox.load();
    this.link = new Link(hal, ident, this.clock, this.outbox, this.state, d.backoff_min_s, d.backoff_max_s);
    const self = this;
    this.session = new Session(hal, this.clock, this.link, {
      kind: DeviceKind.DEVICE_KIND_ALARM,
      firmware: version,
      board: board.id,
      configVersion: function () {
        return self.cfg.version;
      },
      scheduleVersion: function () {
        return 0;
      },
      battery: function () {
        return self.battery();
      },
      mains: function () {
        return false;
      },
      errorBits: function () {
        return self.errorBits;
      },
    });
    this.ind = new Indicator(hal, board.pins);
    this.activeLow = !!board.pins.button_active_low;
    this.cfg = this.loadConfig();
    this.alarmSeq = 0;
    this.alarmTest = false;
    this.alarmAt = 0;
    this.gatewayHas = false;
    this.cancelUntil = 0;
    this.ackTimer = null;
    this.holdTimer = null;
    this.showTimer = null;
    this.hbTimer = null;
    this.presses = [];
    this.maintenance = false;
    this.batteryLow = this.state.get("bl", false);
    this.errorBits = 0;
    this.errors = 0;
    this.batteryAt = -1;
    this.session.onApp = function (env: any) {
      self.guard(function () {
        self.downlink(env);
      });
    };
    this.session.onHello = function () {
      // the gateway supervises with Heartbeat.interval_s: tell it right after the handshake, with a
      // battery report (one sent before the session was up may have been refused as not fresh)
      self.batteryAt = -1;
      self.scheduleHeartbeat(500);
    };
    this.session.onClockJump = function (s: number) {
      self.link.sendReliable({ fault: { code: FaultCode.FAULT_CLOCK_JUMPED, detail: s } }, CLS_TELEMETRY);
    };
    this.link.onAcked = function (seq: number) {
      if (seq === self.alarmSeq && !self.gatewayHas) {
        self.gatewayHas = true;
        // a responder can only answer once the gateway has it: the ack timeout counts from here, and
        // an alarm that timed out while offline ("no-response") is now "received" again
        if (self.ind.state === "sending" || self.ind.state === "no-response") self.ind.set("received");
        self.armAckTimer(self.cfg.ackTimeoutS * 1000);
      }
    };
  }

  /** Board defaults overlaid with the last Config from the backend. */
  loadConfig(): any {
    const d = this.board.defaults;
    const c = this.state.get("cfg", {});
    return {
      version: c.version || 0,
      heartbeatS: c.heartbeatS || d.heartbeat_s,
      cancelWindowS: c.cancelWindowS || d.cancel_window_s,
      ackTimeoutS: c.ackTimeoutS || d.ack_timeout_s,
      holdToAlarm: c.holdToAlarm !== undefined ? c.holdToAlarm : d.hold_to_alarm,
      holdMs: c.holdMs || d.hold_ms,
    };
  }

  /** Runs fn, counting (not propagating) errors: Espruino would print them and go on anyway. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.errors++;
      this.hal.log("varde: " + e);
      this.link.sendReliable({ fault: { code: FaultCode.FAULT_INTERNAL_ERROR, detail: this.errors } }, CLS_TELEMETRY);
    }
  }

  start(): void {
    const self = this;
    const pin = this.board.pins.button;
    // maintenance gesture: button held at power-on for MAINTENANCE_HOLD_MS
    if (this.pressed(this.hal.read(pin))) {
      this.hal.setTimeout(function () {
        if (self.pressed(self.hal.read(pin))) self.enterMaintenance();
      }, MAINTENANCE_HOLD_MS);
    }
    this.hal.watch(pin, this.board.defaults.debounce_ms, function (level: boolean, t: number) {
      self.guard(function () {
        self.button(self.pressed(level));
      });
    });
    this.resume();
    this.scheduleHeartbeat(2000);
    this.link.kick();
    this.session.announce();
  }

  pressed(level: boolean): boolean {
    return this.activeLow ? !level : level;
  }

  enterMaintenance(): void {
    this.maintenance = true;
    this.ind.set("maintenance");
    this.hal.maintenance();
  }

  /** After a reboot: show the alarm that was still open (persisted in state "al"). */
  resume(): void {
    const a = this.state.get("al", null);
    if (!a) return;
    let inOutbox = false;
    for (let i = 0; i < this.outbox.pending.length; i++) if (this.outbox.pending[i].seq === a.s) inOutbox = true;
    this.alarmSeq = a.s;
    this.alarmTest = !!a.t;
    this.gatewayHas = !inOutbox;
    const left = a.at + this.cfg.ackTimeoutS - this.clock.unix();
    this.ind.set(inOutbox ? "sending" : "received");
    this.armAckTimer(left > 0 ? left * 1000 : 0);
  }

  button(down: boolean): void {
    if (this.maintenance) return;
    const self = this;
    if (!down) {
      if (this.holdTimer !== null) this.hal.clearTimeout(this.holdTimer);
      this.holdTimer = null;
      return;
    }
    const now = this.clock.mono();
    const d = this.board.defaults;
    this.presses.push(now);
    if (this.presses.length > d.test_presses) this.presses.splice(0, 1);
    if (this.presses.length === d.test_presses && now - this.presses[0] <= d.test_press_window_ms) {
      this.presses = [];
      this.raiseTest();
      return;
    }
    if (this.alarmSeq && now < this.cancelUntil) {
      if (now - this.alarmAt < d.cancel_guard_ms) return; // part of a burst: the alarm stands
      this.cancel();
      return;
    }
    if (!this.cfg.holdToAlarm) {
      this.raise(false, false);
      return;
    }
    this.holdTimer = this.hal.setTimeout(function () {
      self.holdTimer = null;
      self.guard(function () {
        self.raise(false, true);
      });
    }, this.cfg.holdMs);
  }

  /**
   * A test alarm. While a real alarm is open it is sent beside it and the LEDs keep showing the real
   * one (a test must never hide or replace an alarm); otherwise it is raised like an alarm.
   */
  raiseTest(): number {
    if (this.alarmSeq && !this.alarmTest) {
      const seq = this.link.sendReliable({ alarm: { test: true } }, CLS_CRITICAL);
      if (!seq) this.reportFull();
      return seq;
    }
    return this.raise(true, false);
  }

  /** Raises an alarm (test: a test alarm; hold: raised by a long hold). Returns its seq (0: outbox full). */
  raise(test: boolean, hold: boolean): number {
    const seq = this.link.sendReliable({ alarm: { test: test, hold: hold } }, CLS_CRITICAL);
    this.clearShow();
    if (!seq) {
      // flash outbox full of unsent critical events: still try once, live, and show the fault
      this.link.send({ alarm: { test: test, hold: hold } });
      this.reportFull();
      this.ind.set("fault");
      return 0;
    }
    this.alarmSeq = seq;
    this.alarmTest = test;
    this.alarmAt = this.clock.mono();
    this.gatewayHas = false;
    this.cancelUntil = this.clock.mono() + this.cfg.cancelWindowS * 1000;
    this.state.set("al", { s: seq, t: test, at: this.clock.unix() });
    this.ind.set("sending");
    // a link that answers synchronously may have acked it inside sendReliable already
    let queued = false;
    for (let i = 0; i < this.outbox.pending.length; i++) if (this.outbox.pending[i].seq === seq) queued = true;
    if (!queued) this.link.onAcked(seq);
    this.armAckTimer(this.cfg.ackTimeoutS * 1000);
    return seq;
  }

  armAckTimer(ms: number): void {
    const self = this;
    if (this.ackTimer !== null) this.hal.clearTimeout(this.ackTimer);
    this.ackTimer = this.hal.setTimeout(function () {
      self.ackTimer = null;
      self.guard(function () {
        self.ackTimeout();
      });
    }, ms);
  }

  ackTimeout(): void {
    if (!this.alarmSeq) return;
    this.link.sendReliable({ fault: { code: FaultCode.FAULT_ACK_TIMEOUT, detail: this.alarmSeq } }, CLS_CRITICAL);
    this.ind.set("no-response");
  }

  cancel(): void {
    const seq = this.alarmSeq;
    this.link.sendReliable({ alarm: { cancel: true, alarmSeq: seq, test: this.alarmTest } }, CLS_CRITICAL);
    this.closeAlarm();
    this.show("cancelled", SHOW_CANCEL_MS);
  }

  closeAlarm(): void {
    this.alarmSeq = 0;
    this.cancelUntil = 0;
    if (this.ackTimer !== null) this.hal.clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.state.set("al", null);
  }

  clearShow(): void {
    if (this.showTimer !== null) this.hal.clearTimeout(this.showTimer);
    this.showTimer = null;
  }

  /** Shows a state for ms, then idle. */
  show(state: string, ms: number): void {
    const self = this;
    this.clearShow();
    this.ind.set(state);
    this.showTimer = this.hal.setTimeout(function () {
      self.showTimer = null;
      self.ind.set("idle");
    }, ms);
  }

  downlink(env: any): void {
    if (env.alarmAck) {
      if (env.alarmAck.alarmSeq === this.alarmSeq && this.alarmSeq) {
        this.closeAlarm();
        this.show("acknowledged", SHOW_ACK_MS);
      }
      return;
    }
    if (env.config) return this.applyConfig(env.config);
    if (env.command && env.command.kind === CommandKind.COMMAND_TEST_ALARM) {
      this.raiseTest();
      return;
    }
  }

  /** Validates and applies a Config, answers with ConfigAck (reliable). */
  applyConfig(c: any): void {
    // limits per key: [name, min, max]; 0 (absent) in a Config means "board default"
    const limits = [["heartbeatS", 30, 3600], ["cancelWindowS", 0, 120], ["ackTimeoutS", 10, 3600], ["holdMs", 200, 10000]];
    let err = "";
    for (let i = 0; i < limits.length; i++) {
      const l: any = limits[i];
      const v = c[l[0]];
      if (v && v < l[1]) err = l[0] + " " + v + " < min " + l[1];
      if (v && v > l[2]) err = l[0] + " " + v + " > max " + l[2];
    }
    if (!err) {
      this.state.set("cfg", {
        version: c.version, heartbeatS: c.heartbeatS, cancelWindowS: c.cancelWindowS,
        ackTimeoutS: c.ackTimeoutS, holdToAlarm: c.holdToAlarm, holdMs: c.holdMs,
      });
      this.cfg = this.loadConfig();
      this.scheduleHeartbeat(this.cfg.heartbeatS * 1000);
    }
    this.link.sendReliable({ configAck: { version: c.version, ok: !err, error: truncateUtf8(err, MAX_ERROR_BYTES) } }, CLS_TELEMETRY);
  }

  scheduleHeartbeat(ms: number): void {
    const self = this;
    if (this.hbTimer !== null) this.hal.clearTimeout(this.hbTimer);
    this.hbTimer = this.hal.setTimeout(function () {
      self.hbTimer = null;
      self.guard(function () {
        self.heartbeat();
      });
      self.scheduleHeartbeat(self.cfg.heartbeatS * 1000);
    }, ms);
  }

  /** Battery level from the analog pin and the board's battery model. */
  battery(): { pct: number; mv: number; days: number } {
    const b = this.board.battery;
    const mv = Math.round(this.hal.analog(this.board.pins.battery) * b.vref * b.divider * 1000);
    let pct = Math.round(((mv - b.empty_mv) * 100) / (b.full_mv - b.empty_mv));
    if (pct < 0) pct = 0;
    if (pct > 100) pct = 100;
    // days left: remaining charge over the board's average current draw
    const days = Math.floor(((pct / 100) * b.capacity_mah) / (b.avg_current_ma * 24));
    return { pct: pct, mv: mv, days: days };
  }

  heartbeat(): void {
    const bat = this.battery();
    this.link.send({
      heartbeat: {
        batteryPct: bat.pct,
        batteryMv: bat.mv,
        outboxDepth: this.outbox.depth(),
        intervalS: this.cfg.heartbeatS,
        uptimeS: this.session.uptimeS(),
      },
    });
    if (!this.checkBattery(bat) && (this.batteryAt < 0 || this.clock.mono() - this.batteryAt >= BATTERY_REPORT_MS)) {
      // daily: the days-left estimate for the backend (best effort; the heartbeat carries the level)
      this.link.send({ battery: { percent: bat.pct, millivolts: bat.mv, daysLeft: bat.days, low: this.batteryLow } });
      this.batteryAt = this.clock.mono();
    }
    this.checkHealth();
  }

  /** Queues a reliable Battery event when the level crosses low_mv (with hysteresis); true if it did. */
  checkBattery(bat: any): boolean {
    const low = this.board.battery.low_mv;
    let change = false;
    if (!this.batteryLow && bat.mv <= low) change = true;
    if (this.batteryLow && bat.mv > low + BATTERY_HYSTERESIS_MV) change = true;
    if (!change) return false;
    this.batteryAt = this.clock.mono();
    this.batteryLow = !this.batteryLow;
    this.state.set("bl", this.batteryLow);
    this.link.sendReliable(
      { battery: { percent: bat.pct, millivolts: bat.mv, daysLeft: bat.days, low: this.batteryLow } },
      CLS_TELEMETRY,
    );
    return true;
  }

  /** Interpreter error flags (out of memory...) and a full outbox become faults. */
  checkHealth(): void {
    const flags = this.hal.errorFlags();
    let bits = 0;
    for (let i = 0; i < flags.length; i++) bits |= errorBit(flags[i]);
    if (bits) {
      this.errorBits |= bits;
      if (bits & MEMORY_BITS)
        this.link.sendReliable({ fault: { code: FaultCode.FAULT_OUT_OF_MEMORY, detail: bits } }, CLS_CRITICAL);
    }
    if (this.outbox.full) this.reportFull();
  }

  reportFull(): void {
    this.outbox.full = false;
    // best effort: the outbox has no room for it
    this.link.send({ fault: { code: FaultCode.FAULT_OUTBOX_FULL, detail: this.outbox.depth() } });
  }
}
