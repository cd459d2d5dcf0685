// One power-on of a simulated Espruino: a fresh vm context with the Espruino globals the firmware may
// use (docs/architecture.md, "Firmware <-> simulator") and without what Espruino lacks (strip.ts).
// Everything the firmware registers (timers, watches, listeners) lives here and dies with kill(),
// which is what a power cut or reboot does to RAM. Flash, pins driven by peripherals and the clock
// belong to the SimDevice and survive.
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import type { Board } from "../../hardware/boards.ts";
import type { Clock, ClockTimer } from "../clock.ts";
import type { Flash } from "../flash.ts";
import type { Prng } from "../prng.ts";
import type { DeviceTime } from "./device-time.ts";
import { uncaughtText } from "./format.ts";
import { HELD_COST, MemoryEstimator, jsVarLayout, type HeldByRuntime } from "./memory.ts";
import { pinNumber, PIN_COUNT, type PinBank, type PinChange, type PinMode } from "./pins.ts";
import { Realm, bytesToString, toBytes } from "./realm.ts";
import { createStorageModule } from "./storage.ts";
import { stripMissing } from "./strip.ts";
import { installEspruinoSemantics, printedValue } from "./semantics.ts";
import { HIDDEN_PROTOTYPES } from "./transform.ts";
import { espruinoStringToFloat } from "./numbers.ts";

export const ESPRUINO_VERSION = "2v29";

/** What a runtime needs from the device that owns it. */
export interface RuntimeHost {
  readonly board: Board;
  readonly clock: Clock;
  readonly time: DeviceTime;
  readonly pins: PinBank;
  readonly flash: Flash;
  readonly rng: Prng;
  batteryMv(): number;
  /** bytes the firmware wrote to a serial device that leaves the chip (Serial1, USB...) */
  serialOut(device: string, bytes: Uint8Array): void;
  /** console text (print, console.log, Uncaught ...) */
  output(text: string): void;
  /** an exception nobody caught (already printed) */
  uncaught(e: unknown): void;
  /** E.reboot(), watchdog: the device restarts after the current event */
  requestReboot(reason: string): void;
  /** bytes that arrived on the device the console is on (the REPL); dropped when absent */
  consoleInput?(bytes: Uint8Array, rt: EspruinoRuntime): void;
  readonly providers: GlobalProvider[];
  /** process.memory() recomputes its estimate at most this often (device ms); 0 = every call */
  readonly memoryRefreshMs: number;
  /** each timer fires up to this many ms late (seeded); models a busy interpreter */
  readonly timerJitterMs?: number;
  readonly jitterRng?: Prng;
}

/**
 * Adds globals and require() modules to a runtime (the BLE helper's NRF/Bluetooth, the technician's
 * REPL helpers). Called once per power-on after the built-in globals exist and before they are stripped.
 */
export type GlobalProvider = (rt: EspruinoRuntime) => {
  globals?: Record<string, unknown>;
  modules?: Record<string, unknown>;
  /** called when the runtime dies (power off / reboot) */
  onKill?: () => void;
} | void;

interface Timer {
  id: number;
  fn: unknown;
  args: unknown[];
  interval: number | null;
  handle: ClockTimer | null;
}

interface Watch {
  id: number;
  pin: number;
  fn: unknown;
  edge: 1 | -1 | 0;
  repeat: boolean;
  debounceMs: number;
  stable: 0 | 1;
  lastTime: number;
  rawEdgeTime: number;
  pending: ClockTimer | null;
  dataPin: number | null;
}

type Listeners = Record<string, unknown[]>;

/** Host side of an Espruino serial device (Serial1, LoopbackA, ...). */
class SerialSim {
  listeners: Listeners = {};
  rx = "";
  baud = 9600;
  obj: Record<string, any> = {};
  constructor(readonly name: string) {}
}

const RX_BUFFER_MAX = 512;

export class EspruinoRuntime {
  readonly realm: Realm;
  readonly memory: MemoryEstimator;
  dead = false;
  /** name of the device the console is on: "Serial1", "LoopbackA", "USB", "Bluetooth", "null" ... */
  consoleName = "Serial1";
  private timers = new Map<number, Timer>();
  private nextTimer = 1;
  private watches = new Map<number, Watch>();
  private nextWatch = 1;
  private serials: Record<string, SerialSim> = {};
  private eListeners: Listeners = {};
  private required = new Set<string>();
  private errorFlags = new Set<string>();
  private modules: Record<string, unknown> = {};
  private killHooks: Array<() => void> = [];
  private unsubPins: () => void;
  private pulses = new Map<number, number>();
  private hostEvents = new Set<ClockTimer>();
  private watchdog: { timeoutMs: number; handle: ClockTimer | null } | null = null;
  private memCache: { at: number; usage: number } | null = null;
  private readonly PinCtor: new (n: number) => object;
  private pinObjs: object[] = [];

  constructor(readonly host: RuntimeHost) {
    this.realm = new Realm();
    this.memory = new MemoryEstimator(this.realm, jsVarLayout(host.board.memory.jsvars));
    this.unsubPins = host.pins.onChange((c) => this.onPinChange(c));
    this.PinCtor = this.makePinClass();
    this.install();
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Runs code at the top level (the .bootcde). Uncaught errors are printed and counted. */
  runCode(code: string, filename = ".bootcde"): void {
    if (this.dead) return;
    this.memory.sources.add(code);
    try {
      this.realm.run(code, filename);
    } catch (e) {
      this.reportUncaught(e);
    }
  }

  /** Evaluates an expression for a REPL or a test; exceptions propagate to the caller. */
  evaluate(code: string): unknown {
    return this.realm.run(code, "REPL");
  }

  /** Emits E "init" and calls onInit() if the program defined it, as Espruino does after loading. */
  emitInit(): void {
    this.emitE("init", []);
    const onInit = this.realm.global.onInit;
    if (typeof onInit === "function") this.invoke(onInit, []);
  }

  /** E "kill": before a reboot (not on power loss). */
  emitKill(): void {
    this.emitE("kill", []);
  }

  /** RAM is gone: cancel everything this runtime scheduled. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const t of this.timers.values()) this.host.clock.cancel(t.handle ?? undefined);
    for (const w of this.watches.values()) this.host.clock.cancel(w.pending ?? undefined);
    for (const e of this.hostEvents) this.host.clock.cancel(e);
    if (this.watchdog?.handle) this.host.clock.cancel(this.watchdog.handle);
    this.timers.clear();
    this.watches.clear();
    this.hostEvents.clear();
    this.unsubPins();
    if (this.host.flash.onConsole) this.host.flash.onConsole = null;
    for (const k of this.killHooks) k();
  }

  // ---- calls into the firmware -------------------------------------------------------------------

  /** Calls a firmware callback as an event; an exception is printed as "Uncaught ..." and counted. */
  invoke(fn: unknown, args: unknown[], self?: unknown): void {
    if (this.dead) return;
    try {
      if (typeof fn === "string") this.realm.run(fn, "callback");
      else if (typeof fn === "function") this.realm.call(fn, args, self);
    } catch (e) {
      this.reportUncaught(e);
    }
  }

  reportUncaught(e: unknown): void {
    if (this.dead) return; // power went away mid-code: nothing is printed any more
    this.print(uncaughtText(e) + "\n");
    this.host.uncaught(e);
  }

  /** Console output: captured by the device and sent to whatever the console is on. */
  print(text: string): void {
    this.host.output(text);
    const wire = text.replace(/\n/g, "\r\n");
    const dev = this.serials[this.consoleName];
    if (dev) return this.serialWrite(dev, toBytes(wire));
    // a console device added by a provider (e.g. Bluetooth from simulator/ble): use its write()
    const other = this.realm.global[this.consoleName] as { write?: unknown } | undefined;
    if (!this.dead && other && typeof other.write === "function") {
      try {
        this.realm.call(other.write, [wire], other);
      } catch {
        /* console output must never break the program */
      }
    }
  }

  /** Schedules host work on the device's clock; dropped if the runtime dies first. */
  later(localDelayMs: number, fn: () => void): ClockTimer {
    const h = this.host.clock.schedule(this.host.time.toTrueDelay(localDelayMs), () => {
      this.hostEvents.delete(h);
      if (!this.dead) fn();
    });
    this.hostEvents.add(h);
    return h;
  }

  setErrorFlag(flag: string): void {
    this.errorFlags.add(flag);
  }

  /** Bytes arriving on a serial device (from a link). */
  receive(deviceName: string, bytes: Uint8Array): void {
    if (this.dead) return;
    // the console device's input is the REPL's (providers call this for their own devices too)
    if (this.consoleName === deviceName) {
      if (this.host.consoleInput) this.host.consoleInput(bytes, this);
      return;
    }
    const dev = this.serials[deviceName];
    if (dev) this.deliver(dev, bytesToString(bytes));
  }

  private deliver(dev: SerialSim, data: string): void {
    const ls = dev.listeners.data;
    if (ls && ls.length) {
      for (const fn of ls.slice()) this.invoke(fn, [data], dev.obj);
    } else {
      // kept for read()/available(); bounded, oldest dropped. No error flag: Espruino raises
      // UART_OVERFLOW for its global input queue, not for data nobody reads (console on LoopbackA
      // fills LoopbackB's buffer all day long in production firmware).
      dev.rx = (dev.rx + data).slice(-RX_BUFFER_MAX);
    }
  }

  /** Callbacks the simulator holds for the program (they count towards memory). */
  heldCallbacks(): unknown[] {
    const out: unknown[] = [];
    for (const t of this.timers.values()) out.push(t.fn, ...t.args);
    for (const w of this.watches.values()) out.push(w.fn);
    for (const k of Object.keys(this.eListeners)) out.push(...this.eListeners[k]);
    for (const s of Object.values(this.serials)) for (const k of Object.keys(s.listeners)) out.push(...s.listeners[k]);
    return out;
  }

  /** What the interpreter keeps for the program besides its globals: callbacks and their bookkeeping. */
  heldState(): HeldByRuntime {
    let overhead = 0;
    for (const t of this.timers.values()) overhead += t.interval === null ? HELD_COST.timeout : HELD_COST.interval;
    overhead += this.watches.size * HELD_COST.watch;
    for (const k of Object.keys(this.eListeners)) overhead += this.eListeners[k].length * HELD_COST.listener;
    for (const s of Object.values(this.serials)) for (const k of Object.keys(s.listeners)) overhead += s.listeners[k].length * HELD_COST.serialListener;
    overhead += this.required.size * HELD_COST.module;
    return { callbacks: this.heldCallbacks(), overhead };
  }

  get timerCount(): number {
    return this.timers.size;
  }

  get watchCount(): number {
    return this.watches.size;
  }

  pinObject(n: number): object {
    return this.pinObjs[n];
  }

  // ---- building the context ------------------------------------------------------------------------

  private makePinClass(): new (n: number) => object {
    const rt = this;
    const h = this.realm.obj({
      read: (p: unknown) => rt.host.pins.read(pinNumber(p)) === 1,
      write: (p: unknown, v: unknown) => rt.host.pins.write(pinNumber(p), v ? 1 : 0),
      mode: (p: unknown, m: unknown) => rt.pinMode(p, m, true),
      getMode: (p: unknown) => rt.host.pins.mode(pinNumber(p)),
      analog: (p: unknown) => rt.host.pins.analog(pinNumber(p)),
      pin: (n: unknown) => rt.pinObjs[pinNumber(n)],
    });
    const factory = this.realm.run(
      `(function (h) {
        function Pin(n) {
          if (!(this instanceof Pin)) return h.pin(n);
          Object.defineProperty(this, "__pin", { value: n, enumerable: false });
        }
        Pin.prototype.read = function () { return h.read(this); };
        Pin.prototype.write = function (v) { h.write(this, v); };
        Pin.prototype.set = function () { h.write(this, 1); };
        Pin.prototype.reset = function () { h.write(this, 0); };
        Pin.prototype.toggle = function () { var v = !h.read(this); h.write(this, v); return v; };
        Pin.prototype.mode = function (m) { h.mode(this, m); };
        Pin.prototype.getMode = function () { return h.getMode(this); };
        Pin.prototype.analog = function () { return h.analog(this); };
        Pin.prototype.getInfo = function () { return { num: this.__pin }; };
        Pin.prototype.toString = function () { return "D" + this.__pin; };
        Pin.prototype.valueOf = function () { return this.__pin; };
        return Pin;
      })`,
      "pin.js",
    ) as (h: unknown) => new (n: number) => object;
    return factory(h);
  }

  private install(): void {
    const r = this.realm;
    const g = r.global;
    const host = this.host;
    const rt = this;

    // pins
    for (let i = 0; i < PIN_COUNT; i++) {
      const p = new this.PinCtor(i);
      this.pinObjs.push(p);
      g["D" + i] = p;
    }
    g.Pin = this.PinCtor;
    const named: Record<string, string> = { BTN: "button", BTN1: "button", LED1: "led_red", LED2: "led_green", LED3: "led_blue" };
    for (const k of Object.keys(named)) {
      const v = host.board.pins[named[k]];
      if (typeof v === "string") g[k] = this.pinObjs[pinNumber(v)];
    }

    // time
    this.installDate();
    g.getTime = r.fn(() => host.time.nowMs() / 1000);
    g.setTime = r.fn((s: unknown) => host.time.set(Number(s) * 1000));

    // timers
    g.setTimeout = r.fn((fn: unknown, ms?: unknown, ...args: unknown[]) => this.addTimer(fn, ms, args, false));
    g.setInterval = r.fn((fn: unknown, ms?: unknown, ...args: unknown[]) => this.addTimer(fn, ms, args, true));
    const clear = (name: string) =>
      r.fn(function (...a: unknown[]) {
        if (a.length === 0) {
          rt.clearTimers();
          return;
        }
        // Espruino refuses an explicit undefined so a lost handle does not silently clear every timer
        if (a[0] === undefined) throw r.error(`${name}(undefined) not allowed. Use ${name}() instead`);
        rt.removeTimer(a[0]);
      });
    g.clearTimeout = clear("clearTimeout");
    g.clearInterval = clear("clearInterval");
    g.changeInterval = r.fn((id: unknown, ms: unknown) => this.changeInterval(id, ms));

    // pins API
    g.digitalWrite = r.fn((pin: unknown, value: unknown) => this.digitalWrite(pin, value));
    g.digitalRead = r.fn((pin: unknown) => this.digitalRead(pin));
    g.pinMode = r.fn((pin: unknown, mode?: unknown, automatic?: unknown) => this.pinMode(pin, mode, !automatic));
    g.getPinMode = r.fn((pin: unknown) => host.pins.mode(pinNumber(pin)));
    g.analogRead = r.fn((pin: unknown) => {
      const n = pinNumber(pin);
      if (!host.pins.isForced(n)) host.pins.setMode(n, "analog", false);
      return host.pins.analog(n);
    });
    g.analogWrite = r.fn((pin: unknown, value: unknown, opts?: { freq?: number }) => {
      this.noPower();
      const duty = Math.max(0, Math.min(1, Number(value)));
      host.pins.setPwm(pinNumber(pin), { duty, freq: opts && typeof opts.freq === "number" ? opts.freq : 1000 });
    });
    g.digitalPulse = r.fn((pin: unknown, value: unknown, time: unknown) => this.digitalPulse(pin, value, time));
    g.setWatch = r.fn((fn: unknown, pin: unknown, opts?: unknown) => this.setWatch(fn, pin, opts));
    g.clearWatch = r.fn((...a: unknown[]) => {
      if (a.length === 0) {
        for (const w of this.watches.values()) host.clock.cancel(w.pending ?? undefined);
        this.watches.clear();
        return;
      }
      if (a[0] === undefined) throw r.error("clearWatch(undefined) not allowed. Use clearWatch() instead");
      const w = this.watches.get(Number(a[0]));
      if (!w) throw r.error(`clearWatch: no watch with id ${String(a[0])}`);
      host.clock.cancel(w.pending ?? undefined);
      this.watches.delete(w.id);
    });

    // base64 (Espruino has both; the upload tools send Storage chunks as atob("..."))
    g.atob = r.fn((s: unknown) => Buffer.from(String(s), "base64").toString("latin1"));
    g.btoa = r.fn((s: unknown) => Buffer.from(String(s), "latin1").toString("base64"));

    // console
    const print = r.fn((...a: unknown[]) => this.print(a.map((x) => printedValue(r, x)).join(" ") + "\n"));
    g.print = print;
    g.console = r.obj({ log: print, info: print, warn: print, error: print, debug: print });

    // serial devices
    for (const name of ["Serial1", "LoopbackA", "LoopbackB", "USB"]) g[name] = this.makeSerial(name).obj;

    // E
    g.E = this.makeE();

    // process
    g.process = r.obj({
      version: ESPRUINO_VERSION,
      env: r.obj({ VERSION: ESPRUINO_VERSION, BOARD: boardEnvName(host.board), CONSOLE: "Serial1", MODULES: "", EXPTR: 0 }),
      memory: () => this.processMemory(),
    });

    // modules
    this.modules.Storage = createStorageModule(r, host.flash, () => !this.dead, {
      string: (str) => this.memory.noteFlashString(str),
      buffer: (b) => this.memory.noteFlashBuffer(b),
    });
    // Espruino prints its compaction progress on the console
    host.flash.onConsole = (text) => this.print(text);
    this.modules.crypto = this.makeCrypto();
    g.require = r.fn((name: unknown) => {
      const m = this.modules[String(name)];
      if (m === undefined) throw r.error(`Module "${String(name)}" not found`);
      this.required.add(String(name));
      return m;
    });

    for (const p of host.providers) {
      const got = p(this);
      if (!got) continue;
      if (got.globals) for (const k of Object.keys(got.globals)) g[k] = got.globals[k];
      if (got.modules) for (const k of Object.keys(got.modules)) this.modules[k] = got.modules[k];
      if (got.onKill) this.killHooks.push(got.onKill);
    }

    installEspruinoSemantics(r, HIDDEN_PROTOTYPES, (code) => this.memory.sources.add(code));
    stripMissing(r.ctx);
    // modules are the interpreter's: not the program's memory (a module costs its cache entry when required)
    this.memory.markBuiltins(Object.values(this.modules));
    registerRuntime(this);
  }

  private installDate(): void {
    const rt = this;
    // Espruino's Date: "now" is the device clock; local time is UTC (no E.setTimeZone offset modelled).
    // Measured on 2v29: Date() without new gives a Date; an unparseable date is time 0, not NaN; ISO
    // fractional seconds go through the digit-by-digit float parser ("05.678" -> 677 ms); toString and
    // toUTCString do not pad the day ("Thu Jan 1 1970 00:00:00 GMT+0000").
    const make = this.realm.run(
      `(function (now, secMs) {
        var RealDate = Date;
        var ISO = /^(\\d{4})-(\\d\\d)-(\\d\\d)(?:T(\\d\\d):(\\d\\d)(?::(\\d\\d(?:\\.\\d*)?))?)?(Z|[+-]\\d\\d:?\\d\\d)?$/;
        function parse(str) {
          var m = ISO.exec(str);
          if (m) {
            var sec = m[6] ? Math.floor(+m[6]) : 0, ms = m[6] ? secMs(m[6]) : 0, off = 0;
            if (m[7] && m[7] !== "Z") off = (m[7][0] === "-" ? -1 : 1) * (+m[7].substr(1, 2) * 60 + +m[7].substr(m[7].length - 2)) * 60000;
            return RealDate.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, sec, ms) - off;
          }
          var t = RealDate.parse(str);
          return t === t ? t : 0;
        }
        function D(a, b, c, d, e, f, g) {
          var n = arguments.length;
          if (!(this instanceof D)) return new RealDate(now());
          if (n === 0) return new RealDate(now());
          if (n === 1) return new RealDate(typeof a === "string" ? parse(a) : a);
          return new RealDate(RealDate.UTC(a, b, n > 2 ? c : 1, n > 3 ? d : 0, n > 4 ? e : 0, n > 5 ? f : 0, n > 6 ? g : 0));
        }
        D.prototype = RealDate.prototype;
        D.prototype.constructor = D;
        D.now = function () { return now(); };
        D.parse = function (str) { return parse(String(str)); };
        D.UTC = RealDate.UTC;
        var P = RealDate.prototype;
        ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"].forEach(function (k) {
          P["get" + k] = P["getUTC" + k];
          if (P["setUTC" + k]) P["set" + k] = P["setUTC" + k];
        });
        P.getTimezoneOffset = function () { return 0; };
        var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        function two(x) { return (x < 10 ? "0" : "") + x; }
        function clock(t) { return two(t.getUTCHours()) + ":" + two(t.getUTCMinutes()) + ":" + two(t.getUTCSeconds()); }
        P.toString = function () {
          return DAYS[this.getUTCDay()] + " " + MONTHS[this.getUTCMonth()] + " " + this.getUTCDate() + " " + this.getUTCFullYear() + " " + clock(this) + " GMT+0000";
        };
        P.toUTCString = function () {
          return DAYS[this.getUTCDay()] + ", " + this.getUTCDate() + " " + MONTHS[this.getUTCMonth()] + " " + this.getUTCFullYear() + " " + clock(this) + " GMT";
        };
        P.toDateString = function () { return this.toString().split(" ").slice(0, 4).join(" "); };
        P.toTimeString = function () { return this.toString().split(" ").slice(4).join(" "); };
        globalThis.Date = D;
      })`,
      "date.js",
    ) as (now: unknown, secMs: unknown) => void;
    make(
      this.realm.fn(() => rt.host.time.nowMs()),
      this.realm.fn((sec: string) => {
        const v = espruinoStringToFloat(sec).value * 1000;
        return (v < 0 ? Math.ceil(v) : Math.floor(v)) % 1000;
      }),
    );
  }

  // ---- timers --------------------------------------------------------------------------------------

  private addTimer(fn: unknown, ms: unknown, args: unknown[], interval: boolean): number {
    if (typeof fn !== "function" && typeof fn !== "string") throw this.realm.error(`${interval ? "setInterval" : "setTimeout"}: first argument must be a function`);
    let d = Number(ms);
    if (!Number.isFinite(d) || d < 0) d = 0;
    const t: Timer = { id: this.nextTimer++, fn, args, interval: interval ? d : null, handle: null };
    this.timers.set(t.id, t);
    this.armTimer(t, d);
    return t.id;
  }

  private armTimer(t: Timer, localDelay: number): void {
    const j = this.host.timerJitterMs && this.host.jitterRng ? this.host.jitterRng.next() * this.host.timerJitterMs : 0;
    t.handle = this.host.clock.schedule(this.host.time.toTrueDelay(localDelay + j), () => {
      if (this.dead || this.timers.get(t.id) !== t) return;
      if (t.interval !== null) this.armTimer(t, t.interval);
      else this.timers.delete(t.id);
      this.invoke(t.fn, t.args);
    });
  }

  private removeTimer(id: unknown): void {
    const t = this.timers.get(Number(id));
    if (!t) return;
    this.host.clock.cancel(t.handle ?? undefined);
    this.timers.delete(t.id);
  }

  private clearTimers(): void {
    for (const t of this.timers.values()) this.host.clock.cancel(t.handle ?? undefined);
    this.timers.clear();
  }

  private changeInterval(id: unknown, ms: unknown): void {
    const t = this.timers.get(Number(id));
    if (!t) throw this.realm.error(`changeInterval: no interval with id ${String(id)}`);
    this.host.clock.cancel(t.handle ?? undefined);
    const d = Math.max(0, Number(ms) || 0);
    if (t.interval !== null) t.interval = d;
    this.armTimer(t, d);
  }

  // ---- pins ----------------------------------------------------------------------------------------

  private pinList(pin: unknown): number[] {
    if (Array.isArray(pin)) return pin.map((p) => pinNumber(p));
    return [pinNumber(pin)];
  }

  private noPower(): void {
    if (this.dead) throw this.realm.error("no power");
  }

  private digitalWrite(pin: unknown, value: unknown): void {
    this.noPower();
    const list = this.pinList(pin);
    const v = Number(value) || (value === true ? 1 : 0);
    // arrays: the last pin gets bit 0 (Espruino)
    list.forEach((p, i) => this.host.pins.write(p, ((v >> (list.length - 1 - i)) & 1) as 0 | 1));
  }

  private digitalRead(pin: unknown): number {
    const list = this.pinList(pin);
    let v = 0;
    for (const p of list) v = (v << 1) | this.host.pins.read(p);
    return v;
  }

  pinMode(pin: unknown, mode: unknown, forced: boolean): string | void {
    const n = pinNumber(pin);
    if (mode === undefined) return this.host.pins.mode(n);
    const m = String(mode) as PinMode;
    const ok = ["analog", "input", "input_pullup", "input_pulldown", "output", "opendrain", "af_output", "af_opendrain", "opendrain_pullup", "auto"];
    if (!ok.includes(m)) throw this.realm.error(`pinMode: unknown mode "${m}" (one of ${ok.join(", ")})`);
    this.host.pins.setMode(n, m, forced);
  }

  private digitalPulse(pin: unknown, value: unknown, time: unknown): void {
    const n = pinNumber(pin);
    const times = Array.isArray(time) ? time.map(Number) : [Number(time)];
    let level: 0 | 1 = value ? 1 : 0;
    // pulses queue behind earlier ones on the same pin, like Espruino's hardware pulse queue
    const now = this.host.time.nowMs();
    let start = Math.max(now, this.pulses.get(n) ?? now);
    const startLevel = level;
    this.later(start - now, () => this.host.pins.write(n, startLevel));
    for (const t of times) {
      start += Math.max(0, t);
      level = (level ^ 1) as 0 | 1;
      const l = level;
      this.later(start - now, () => this.host.pins.write(n, l));
    }
    this.pulses.set(n, start);
  }

  private setWatch(fn: unknown, pin: unknown, opts: unknown): number {
    if (typeof fn !== "function" && typeof fn !== "string") throw this.realm.error("setWatch: first argument must be a function");
    const n = pinNumber(pin);
    const isBtn = typeof this.host.board.pins.button === "string" && pinNumber(this.host.board.pins.button) === n;
    let repeat = false;
    let edge: 1 | -1 | 0 = isBtn ? 1 : 0;
    let debounce = isBtn ? 25 : 0;
    let dataPin: number | null = null;
    if (typeof opts === "boolean" || typeof opts === "number") repeat = !!opts;
    else if (opts && typeof opts === "object") {
      const o = opts as { repeat?: unknown; edge?: unknown; debounce?: unknown; data?: unknown };
      repeat = !!o.repeat;
      if (o.edge !== undefined) {
        if (o.edge === "rising" || o.edge === 1) edge = 1;
        else if (o.edge === "falling" || o.edge === -1) edge = -1;
        else if (o.edge === "both" || o.edge === 0) edge = 0;
        else throw this.realm.error(`setWatch: edge must be "rising", "falling" or "both", got ${String(o.edge)}`);
      }
      if (o.debounce !== undefined) debounce = Math.max(0, Number(o.debounce) || 0);
      if (o.data !== undefined) dataPin = pinNumber(o.data);
    }
    const now = this.host.time.nowMs() / 1000;
    const w: Watch = { id: this.nextWatch++, pin: n, fn, edge, repeat, debounceMs: debounce, stable: this.host.pins.level(n), lastTime: now, rawEdgeTime: now, pending: null, dataPin };
    this.watches.set(w.id, w);
    return w.id;
  }

  private onPinChange(c: PinChange): void {
    if (this.dead) return;
    for (const w of this.watches.values()) {
      if (w.pin !== c.pin) continue;
      w.rawEdgeTime = this.host.time.nowMs() / 1000;
      if (w.debounceMs > 0) {
        this.host.clock.cancel(w.pending ?? undefined);
        w.pending = this.later(w.debounceMs, () => {
          w.pending = null;
          this.settle(w, this.host.pins.level(w.pin), w.rawEdgeTime);
        });
      } else {
        this.settle(w, this.host.pins.level(w.pin), w.rawEdgeTime);
      }
    }
  }

  private settle(w: Watch, level: 0 | 1, time: number): void {
    if (level === w.stable || this.watches.get(w.id) !== w) return;
    const last = w.lastTime;
    w.stable = level;
    w.lastTime = time;
    if (w.edge === 1 && level !== 1) return;
    if (w.edge === -1 && level !== 0) return;
    if (!w.repeat) this.watches.delete(w.id);
    const ev: Record<string, unknown> = { state: level === 1, time, lastTime: last };
    if (w.dataPin !== null) ev.data = this.host.pins.level(w.dataPin) === 1;
    this.invoke(w.fn, [this.realm.obj(ev)]);
  }

  // ---- serial --------------------------------------------------------------------------------------

  private makeSerial(name: string): SerialSim {
    const r = this.realm;
    const s = new SerialSim(name);
    this.serials[name] = s;
    const write = (...a: unknown[]) => this.serialWrite(s, toBytes(a));
    s.obj = r.obj({
      setup: (baud?: unknown) => {
        if (baud !== undefined) s.baud = Number(baud);
      },
      write,
      print: (x: unknown) => this.serialWrite(s, toBytes(String(x))),
      println: (x: unknown) => this.serialWrite(s, toBytes(String(x) + "\r\n")),
      available: () => s.rx.length,
      read: (n?: unknown) => {
        const k = n === undefined ? s.rx.length : Math.min(Number(n), s.rx.length);
        const out = s.rx.slice(0, k);
        s.rx = s.rx.slice(k);
        return out;
      },
      inject: (...a: unknown[]) => this.deliver(s, bytesToString(toBytes(a))),
      setConsole: () => this.setConsole(name),
      ...emitterMethods(this, s.listeners, () => {
        // first data listener: buffered bytes are delivered (as Espruino does on the next idle)
        if (s.rx.length && s.listeners.data && s.listeners.data.length) {
          const data = s.rx;
          s.rx = "";
          this.later(0, () => this.deliver(s, data));
        }
      }),
    });
    return s;
  }

  private serialWrite(s: SerialSim, bytes: Uint8Array): void {
    if (this.dead || !bytes.length) return;
    if (s.name === "LoopbackA" || s.name === "LoopbackB") {
      const other = this.serials[s.name === "LoopbackA" ? "LoopbackB" : "LoopbackA"];
      const str = bytesToString(bytes);
      // deliver asynchronously, as a real loopback does on the next idle loop
      this.later(0, () => this.deliver(other, str));
      return;
    }
    this.host.serialOut(s.name, bytes);
  }

  setConsole(dev: unknown): void {
    if (dev === null || dev === undefined || dev === "null") {
      this.consoleName = "null";
      return;
    }
    if (typeof dev === "string") {
      this.consoleName = dev;
      return;
    }
    for (const s of Object.values(this.serials)) if (s.obj === dev) this.consoleName = s.name;
    const named = Object.keys(this.realm.global).find((k) => this.realm.global[k] === dev);
    if (named) this.consoleName = named;
  }

  // ---- E -------------------------------------------------------------------------------------------

  private emitE(ev: string, args: unknown[]): void {
    for (const fn of (this.eListeners[ev] ?? []).slice()) this.invoke(fn, args);
  }

  private makeE(): Record<string, unknown> {
    const r = this.realm;
    const host = this.host;
    return r.obj({
      toUint8Array: (...a: unknown[]) => r.bytes(toBytes(a)),
      toString: (...a: unknown[]) => bytesToString(toBytes(a)),
      toArrayBuffer: (s: unknown) => r.arrayBuffer(toBytes(String(s))),
      toJS: (v: unknown) => JSON.stringify(v),
      getErrorFlags: () => {
        const flags = r.array([...this.errorFlags]);
        this.errorFlags.clear();
        return flags;
      },
      setConsole: (dev: unknown) => this.setConsole(dev),
      getConsole: () => this.consoleName,
      reboot: () => host.requestReboot("E.reboot()"),
      hwRand: () => host.rng.u32() | 0,
      getBattery: () => batteryPercent(host.board, host.batteryMv()),
      getTemperature: () => 21,
      getAnalogVRef: () => (host.board.battery ? host.board.battery.vref : 3.3),
      getSizeOf: (v: unknown) => this.memory.sizeOf(v),
      CRC32: (d: unknown) => crc32(toBytes(d)),
      enableWatchdog: (timeout: unknown, isAuto?: unknown) => this.enableWatchdog(Number(timeout), isAuto !== false),
      kickWatchdog: () => this.kickWatchdog(),
      ...emitterMethods(this, this.eListeners),
    });
  }

  private enableWatchdog(timeoutS: number, isAuto: boolean): void {
    if (!(timeoutS > 0)) throw this.realm.error("E.enableWatchdog: timeout must be > 0 seconds");
    // automatic mode is kicked whenever the interpreter is idle: it only fires on a hang, which
    // in the simulator shows up as the host being stuck instead.
    if (isAuto) return;
    this.watchdog = { timeoutMs: timeoutS * 1000, handle: null };
    this.kickWatchdog();
  }

  private kickWatchdog(): void {
    const wd = this.watchdog;
    if (!wd) return;
    if (wd.handle) this.host.clock.cancel(wd.handle);
    wd.handle = this.later(wd.timeoutMs, () => {
      this.print("Watchdog timeout\n");
      this.host.requestReboot("watchdog");
    });
  }

  private processMemory(): unknown {
    const total = this.host.board.memory.jsvars;
    const now = this.host.time.nowMs();
    if (!this.memCache || this.host.memoryRefreshMs === 0 || now - this.memCache.at >= this.host.memoryRefreshMs || now < this.memCache.at) {
      this.memCache = { at: now, usage: this.memory.usage(this.heldState()) };
    }
    const usage = Math.min(this.memCache.usage, total);
    if (this.memCache.usage > total) {
      this.errorFlags.add("LOW_MEMORY");
      this.errorFlags.add("MEMORY");
    }
    return this.realm.obj({ free: total - usage, usage, total, history: 0, gc: 0, gctime: 0, blocksize: this.host.board.memory.var_bytes, estimated: true });
  }

  private makeCrypto(): Record<string, unknown> {
    const r = this.realm;
    const sha = (alg: string) => (d: unknown) => r.arrayBuffer(new Uint8Array(createHash(alg).update(toBytes(d)).digest()));
    const m: Record<string, unknown> = { SHA1: sha("sha1"), SHA224: sha("sha224"), SHA256: sha("sha256") };
    // the upstream board files: Puck.js (nRF52832) has the AES library and not SHA512 (SHA384/512);
    // ESP32 has SHA512 and not AES
    const nrf = /nrf52/i.test(this.host.board.chip);
    if (!nrf) Object.assign(m, { SHA384: sha("sha384"), SHA512: sha("sha512") });
    const aes = (encrypt: boolean) => (message: unknown, key: unknown, options?: unknown) => aesCrypt(r, encrypt, toBytes(message), toBytes(key), options);
    if (nrf) m.AES = r.fnObj({ encrypt: aes(true), decrypt: aes(false) });
    return r.obj(m);
  }
}

/** on/emit/removeListener/removeAllListeners over a listener table (Espruino objects are event emitters). */
function emitterMethods(rt: EspruinoRuntime, table: Listeners, onAdd?: () => void): Record<string, unknown> {
  return {
    on(ev: unknown, fn: unknown) {
      const k = String(ev);
      (table[k] ??= []).push(fn);
      if (onAdd) onAdd();
    },
    addListener(ev: unknown, fn: unknown) {
      (table[String(ev)] ??= []).push(fn);
      if (onAdd) onAdd();
    },
    prependListener(ev: unknown, fn: unknown) {
      (table[String(ev)] ??= []).unshift(fn);
    },
    removeListener(ev: unknown, fn: unknown) {
      const k = String(ev);
      if (table[k]) table[k] = table[k].filter((f) => f !== fn);
    },
    removeAllListeners(ev?: unknown) {
      if (ev === undefined) for (const k of Object.keys(table)) delete table[k];
      else delete table[String(ev)];
    },
    emit(this: unknown, ev: unknown, ...args: unknown[]) {
      for (const fn of (table[String(ev)] ?? []).slice()) rt.invoke(fn, args, this);
    },
  };
}

export function batteryPercent(board: Board, mv: number): number {
  const b = board.battery;
  if (!b) return 100;
  const p = Math.round(((mv - b.empty_mv) / (b.full_mv - b.empty_mv)) * 100);
  return Math.max(0, Math.min(100, p));
}

function boardEnvName(board: Board): string {
  if (/nrf52832/i.test(board.chip)) return "PUCKJS";
  if (/esp32/i.test(board.chip)) return "ESP32";
  return board.chip.toUpperCase();
}

/** AES as Espruino's crypto library does it (jswrap_crypto_AEScrypt): CBC by default with a zero IV,
 *  ECB block by block (a trailing partial block left as zeros), CFB as CFB8, CTR from a zero counter
 *  (the IV is ignored), no padding; OFB is not available. */
function aesCrypt(r: Realm, encrypt: boolean, msg: Uint8Array, key: Uint8Array, options: unknown): ArrayBuffer | undefined {
  let iv = new Uint8Array(16);
  let mode = "CBC";
  if (options !== undefined) {
    if (options === null || typeof options !== "object") throw r.error("'options' must be undefined, or an Object");
    const o = options as { iv?: unknown; mode?: unknown };
    if (o.iv !== undefined) {
      const b = toBytes(o.iv);
      iv = new Uint8Array(16);
      iv.set(b.subarray(0, 16));
    }
    if (o.mode !== undefined) {
      mode = String(o.mode);
      if (!["CBC", "CFB", "CTR", "OFB", "ECB"].includes(mode)) return undefined;
    }
  }
  if (![16, 24, 32].includes(key.length)) throw r.error("Invalid key length");
  const bits = key.length * 8;
  const run = (alg: string, input: Uint8Array, ivUsed: Uint8Array | null): Uint8Array => {
    const c = encrypt ? createCipheriv(alg, key, ivUsed) : createDecipheriv(alg, key, ivUsed);
    c.setAutoPadding(false);
    return new Uint8Array(Buffer.concat([c.update(input), c.final()]));
  };
  let out: Uint8Array;
  if (mode === "CBC") {
    if (msg.length % 16) throw r.error("Invalid data length");
    out = run(`aes-${bits}-cbc`, msg, iv);
  } else if (mode === "ECB") {
    out = new Uint8Array(msg.length);
    const whole = msg.length - (msg.length % 16);
    if (whole) out.set(run(`aes-${bits}-ecb`, msg.subarray(0, whole), null));
  } else if (mode === "CFB") out = run(`aes-${bits}-cfb8`, msg, iv);
  else if (mode === "CTR") out = run(`aes-${bits}-ctr`, msg, new Uint8Array(16));
  else throw r.error("Feature not available");
  return r.arrayBuffer(out);
}

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) | 0;
}

// Unhandled promise rejections inside a device context reach Node's process event; route them to the
// device as Espruino does ("Uncaught ..." printed, execution goes on) instead of crashing the simulator.
// A rejection from a context that has since lost power is dropped with it.
const byPromiseProto = new WeakMap<object, EspruinoRuntime>();
let hooked = false;
function registerRuntime(rt: EspruinoRuntime): void {
  byPromiseProto.set(rt.realm.run("Object.getPrototypeOf(Promise.resolve())", "promise-proto") as object, rt);
  if (hooked) return;
  hooked = true;
  process.on("unhandledRejection", (reason, promise) => {
    const r = byPromiseProto.get(Object.getPrototypeOf(promise));
    if (r) {
      if (r.dead) return;
      r.print("Uncaught Error: Unhandled promise rejection: " + printedValue(r.realm, reason) + "\n");
      r.host.uncaught(reason);
      return;
    }
    // not ours: behave as Node would without this listener, unless someone else handles it
    if (process.listenerCount("unhandledRejection") === 1) throw reason;
  });
}
