// SimDevice: one simulated Varde device — a board from hardware/*.toml, its flash, pins, peripherals,
// a link on its data port, and the Espruino runtime that exists only while it has power.
//
//   const clock = new VirtualClock({ seed: 1 });
//   const dev = new SimDevice({ board: "alarm-esp32", clock, link });
//   dev.install(bundle);            // writes .bootcde to flash
//   dev.powerOn();                  // new context, runs .boot0-3 and .bootcde, emits E "init"
//   dev.button().press(200); clock.runFor(1000);
//   dev.led("led_green").on; dev.output; dev.errors;
//
// Power off drops the runtime (RAM, timers, watches, firmware-driven pins); flash and physical inputs
// (a held button, battery voltage) stay. The device clock restarts at 0 on power-on unless `rtc` is
// "keep"; reboot() (E.reboot, watchdog) keeps it.
import { loadBoard, type Board } from "../hardware/boards.ts";
import type { Clock } from "./clock.ts";
import { DeviceTime } from "./espruino/device-time.ts";
import { PinBank } from "./espruino/pins.ts";
import { espruinoTransform } from "./espruino/transform.ts";
import { EspruinoRuntime, type GlobalProvider, type RuntimeHost } from "./espruino/runtime.ts";
import { errorText } from "./espruino/format.ts";
import { Flash } from "./flash.ts";
import type { LinkEnd } from "./links/link.ts";
import { Button, type ButtonOptions } from "./peripherals/button.ts";
import { Buzzer } from "./peripherals/buzzer.ts";
import { Led } from "./peripherals/led.ts";
import { rolePin } from "./peripherals/pin-role.ts";
import { Battery, Mains } from "./peripherals/power.ts";
import type { Prng } from "./prng.ts";

export interface SimDeviceOptions {
  /** a Board or a board id / path for loadBoard() */
  board: Board | string;
  clock: Clock;
  /** default: an empty flash of the board's storage_bytes */
  flash?: Flash;
  /** wired to the board's data serial device (data.serial, e.g. "Serial1") */
  link?: LinkEnd;
  /** name used in logs; default the board id */
  name?: string;
  /** label for this device's random stream (hwRand); default the name */
  seed?: string;
  /** device clock error in ppm (positive = fast) */
  driftPpm?: number;
  /** "reset": the device clock reads 0 after power-on (no RTC backup); "keep": true time survives */
  rtc?: "reset" | "keep";
  /** extra globals/modules (BLE, REPL helpers) */
  providers?: GlobalProvider[];
  /** process.memory() recomputes its estimate at most this often, device ms (default 1 h; 0 = always). An estimate walks the program and its closures (~0.1 s for the alarm app), so it is cached. */
  memoryRefreshMs?: number;
  /** starting battery voltage; default the board's full_mv */
  batteryMv?: number;
  /** keep at most this many characters of console output (default 1,000,000) */
  outputLimit?: number;
  /** each firmware timer fires up to this many ms late, drawn from the seeded PRNG (default 0) */
  timerJitterMs?: number;
  /**
   * "espruino" (default): boot code is rewritten for what Espruino does differently at the syntax level
   * (espruino/transform.ts: `for (let ...)` loops share one binding, \u escapes keep 8 bits, static members
   * are not inherited, `array.length = n` throws, missing members read through [] throw, ...);
   * "v8": run the boot code exactly as written.
   */
  letLoops?: "espruino" | "v8";
}

/** Thrown through the firmware's code when cutPowerAtFlashOp fires; never counted as a firmware error. */
export class PowerCutError extends Error {}

export interface UncaughtRecord {
  /** true time, ms */
  time: number;
  error: unknown;
  text: string;
}

export class SimDevice {
  readonly board: Board;
  readonly clock: Clock;
  readonly flash: Flash;
  readonly pins: PinBank;
  readonly name: string;
  readonly rng: Prng;
  time: DeviceTime;
  runtime: EspruinoRuntime | null = null;
  /** uncaught exceptions, every power-on */
  readonly errors: UncaughtRecord[] = [];
  /** number of power-ons and reboots */
  boots = 0;
  /** power cuts made by cutPowerAtFlashOp */
  powerCuts = 0;
  private link: LinkEnd | null = null;
  private unlink: (() => void) | null = null;
  private out: string[] = [];
  private outLen = 0;
  private readonly outputLimit: number;
  private outputListeners: Array<(text: string) => void> = [];
  private consoleHandler: ((bytes: Uint8Array, rt: EspruinoRuntime) => void) | null = null;
  private serialTaps: Array<(device: string, bytes: Uint8Array) => void> = [];
  private readonly providers: GlobalProvider[];
  private readonly rtc: "reset" | "keep";
  private readonly memoryRefreshMs: number;
  private readonly timerJitterMs: number;
  private readonly letLoops: "espruino" | "v8";
  private buttons = new Map<string, Button>();
  private leds = new Map<string, Led>();
  private buzzerP: Buzzer | null = null;
  private batteryP: Battery;
  private mainsP: Mains | null = null;
  private rebootPending = false;

  constructor(opts: SimDeviceOptions) {
    this.board = typeof opts.board === "string" ? loadBoard(opts.board) : opts.board;
    this.clock = opts.clock;
    this.flash = opts.flash ?? Flash.forBoard(this.board);
    this.name = opts.name ?? this.board.id;
    this.rng = opts.clock.rng.fork(opts.seed ?? this.name);
    this.pins = new PinBank(() => this.clock.now());
    this.rtc = opts.rtc ?? "reset";
    this.time = new DeviceTime(this.clock, opts.driftPpm ?? 0, this.rtc === "keep" ? this.clock.now() : 0);
    this.providers = opts.providers ?? [];
    this.memoryRefreshMs = opts.memoryRefreshMs ?? 3_600_000;
    this.outputLimit = opts.outputLimit ?? 1_000_000;
    this.timerJitterMs = opts.timerJitterMs ?? 0;
    this.letLoops = opts.letLoops ?? "espruino";
    const batPin = typeof this.board.pins.battery === "string" ? rolePin(this.board, "battery") : null;
    this.batteryP = new Battery(this.pins, this.board, batPin, opts.batteryMv);
    // the board's button and its pull resistor exist before any firmware runs: the pin idles at the
    // released level from the start
    if (typeof this.board.pins.button === "string") this.button();
    // outputs watch their pins from the start so their history covers every boot
    this.allLeds();
    if (typeof this.board.pins.buzzer === "string") this.buzzer();
    // mains present from the start when the board has a mains sense pin
    if (typeof this.board.pins.mains === "string") this.mains();
    if (opts.link) this.attachLink(opts.link);
  }

  // ---- power -----------------------------------------------------------------------------------

  get powered(): boolean {
    return this.runtime !== null;
  }

  /** Writes the app bundle to flash as .bootcde (what `varde flash` does on hardware). */
  install(bundleCode: string): void {
    // an empty program is no .bootcde at all (Espruino cannot create a zero-length file)
    if (!bundleCode.length) this.flash.erase(".bootcde");
    else this.flash.write(".bootcde", Buffer.from(bundleCode, "latin1"));
  }

  /** Power applied: a fresh interpreter runs .boot0-.boot3 and .bootcde from flash, then E "init". */
  powerOn(): void {
    if (this.runtime) throw new Error(`${this.name}: powerOn() while already powered; call powerOff() or reboot() first`);
    if (this.rtc === "reset") this.time = new DeviceTime(this.clock, this.time.driftPpm, 0);
    this.start();
  }

  /** Power cut: RAM and everything the firmware scheduled are gone; flash stays. */
  powerOff(): void {
    if (!this.runtime) return;
    this.runtime.kill();
    this.runtime = null;
    this.pins.powerOnReset();
  }

  /** Soft restart (E.reboot, watchdog): E "kill" first, then a fresh interpreter; device time kept. */
  reboot(): void {
    if (this.runtime) {
      this.runtime.emitKill();
      this.runtime.kill();
      this.runtime = null;
      this.pins.powerOnReset();
    }
    this.start();
  }

  /**
   * Espruino's reset(): a fresh interpreter WITHOUT running the boot code (the REPL's blank slate).
   * E "kill" is emitted first; flash and device time are kept.
   */
  reset(): void {
    if (this.runtime) {
      this.runtime.emitKill();
      this.runtime.kill();
      this.runtime = null;
    }
    this.start(false);
  }

  private start(runBoot = true): void {
    this.pins.powerOnReset();
    this.boots++;
    const host = this.host();
    const rt = new EspruinoRuntime(host);
    this.runtime = rt;
    if (!runBoot) return;
    for (let i = 0; i < 4; i++) this.runBootFile(rt, ".boot" + i);
    this.runBootFile(rt, ".bootcde");
    if (this.runtime === rt) rt.emitInit();
  }

  private runBootFile(rt: EspruinoRuntime, name: string): void {
    const code = this.flash.read(name);
    if (!code || this.runtime !== rt) return;
    const text = Buffer.from(code).toString("latin1");
    rt.runCode(this.letLoops === "espruino" ? espruinoTransform(text) : text, name);
  }

  private host(): RuntimeHost {
    const dev = this;
    const hostObj: RuntimeHost = {
      board: this.board,
      clock: this.clock,
      time: this.time,
      pins: this.pins,
      flash: this.flash,
      rng: this.rng,
      providers: this.providers,
      memoryRefreshMs: this.memoryRefreshMs,
      timerJitterMs: this.timerJitterMs,
      jitterRng: this.rng.fork("timer-jitter"),
      batteryMv: () => this.batteryP.mv,
      serialOut: (device, bytes) => {
        for (const t of this.serialTaps) t(device, bytes);
        if (this.link && device === this.dataSerial) this.link.write(bytes);
      },
      output: (text) => this.appendOutput(text),
      uncaught: (e) => this.errors.push({ time: this.clock.now(), error: e, text: errorText(e) }),
      requestReboot: () => {
        // only the running interpreter may reboot the device (not one that lost power mid-code)
        if (this.rebootPending || !this.runtime || this.runtime.host !== hostObj) return;
        this.rebootPending = true;
        this.clock.schedule(0, () => {
          this.rebootPending = false;
          if (this.runtime) this.reboot();
        });
      },
      get consoleInput() {
        return dev.consoleHandler ?? undefined;
      },
    };
    return hostObj;
  }

  // ---- data port -------------------------------------------------------------------------------

  /** the Espruino serial device the board's data port is on (Serial1 unless the board says otherwise) */
  get dataSerial(): string {
    return this.board.data.serial ?? "Serial1";
  }

  /** Connects a link to the data port (replacing any previous one). Bytes arriving unpowered are lost. */
  attachLink(link: LinkEnd): void {
    this.detachLink();
    this.link = link;
    this.unlink = link.onData((bytes) => this.receive(this.dataSerial, bytes));
  }

  detachLink(): void {
    if (this.unlink) this.unlink();
    this.unlink = null;
    this.link = null;
  }

  /** Bytes arriving on a serial device of the chip (the link calls this for the data port). */
  receive(device: string, bytes: Uint8Array): void {
    if (this.runtime) this.runtime.receive(device, bytes);
  }

  /** Sees every byte the firmware writes to any serial device (e.g. a REPL on USB). */
  tapSerial(fn: (device: string, bytes: Uint8Array) => void): () => void {
    this.serialTaps.push(fn);
    return () => {
      this.serialTaps = this.serialTaps.filter((x) => x !== fn);
    };
  }

  /**
   * Where bytes go that arrive on the device the console is on (the REPL). Without a handler they are
   * dropped, as keystrokes to a busy device would be. The technician's REPL emulation installs one.
   */
  setConsoleInputHandler(fn: ((bytes: Uint8Array, rt: EspruinoRuntime) => void) | null): void {
    this.consoleHandler = fn;
  }

  /** which device the console is on now ("Serial1", "LoopbackA", ...), or null when unpowered */
  get consoleDevice(): string | null {
    return this.runtime ? this.runtime.consoleName : null;
  }

  /** Evaluates code in the running device (REPL, tests). Throws when unpowered or when the code throws. */
  evaluate(code: string): unknown {
    if (!this.runtime) throw new Error(`${this.name}: not powered; call powerOn() first`);
    return this.runtime.evaluate(code);
  }

  // ---- console output --------------------------------------------------------------------------

  private appendOutput(text: string): void {
    this.out.push(text);
    this.outLen += text.length;
    while (this.outLen > this.outputLimit && this.out.length > 1) this.outLen -= this.out.shift()!.length;
    for (const l of this.outputListeners.slice()) l(text);
  }

  /** everything printed on the console so far (all power-ons; the oldest is dropped beyond outputLimit) */
  get output(): string {
    if (this.out.length > 1) this.out = [this.out.join("")];
    return this.out[0] ?? "";
  }

  onOutput(fn: (text: string) => void): () => void {
    this.outputListeners.push(fn);
    return () => {
      this.outputListeners = this.outputListeners.filter((x) => x !== fn);
    };
  }

  // ---- peripherals -------------------------------------------------------------------------------

  /** The button on pin role `role` of the board file (default "button"). */
  button(role = "button", opts?: ButtonOptions): Button {
    let b = this.buttons.get(role);
    if (!b) {
      const activeLow = this.board.pins[role + "_active_low"] === true;
      b = new Button(this.pins, this.clock, this.rng.fork("button:" + role), rolePin(this.board, role), activeLow, opts);
      this.buttons.set(role, b);
    } else if (opts) {
      if (opts.bounceMs !== undefined) b.bounceMs = opts.bounceMs;
      if (opts.bounceEdges !== undefined) b.bounceEdges = opts.bounceEdges;
    }
    return b;
  }

  /** An LED by pin role: "led_red", or short "red"/"green"/"blue". */
  led(name: string): Led {
    const role = this.board.pins[name] !== undefined ? name : "led_" + name;
    let l = this.leds.get(role);
    if (!l) {
      const activeLow = this.board.pins[role + "_active_low"] === true || this.board.pins.led_active_low === true;
      l = new Led(this.pins, rolePin(this.board, role), role, () => this.clock.now(), activeLow);
      this.leds.set(role, l);
    }
    return l;
  }

  /** every LED role on the board ("led_*" pins), created on first call */
  allLeds(): Led[] {
    return Object.keys(this.board.pins)
      .filter((k) => k.startsWith("led_") && typeof this.board.pins[k] === "string")
      .map((k) => this.led(k));
  }

  buzzer(role = "buzzer"): Buzzer {
    if (!this.buzzerP) this.buzzerP = new Buzzer(this.pins, rolePin(this.board, role), () => this.clock.now());
    return this.buzzerP;
  }

  get battery(): Battery {
    return this.batteryP;
  }

  setBattery(mv: number): void {
    this.batteryP.set(mv);
  }

  /** Mains presence on pin role `role` (default "mains"), read as 1 while present. */
  mains(role = "mains", activeLevel: 0 | 1 = 1): Mains {
    if (!this.mainsP) this.mainsP = new Mains(this.pins, rolePin(this.board, role), activeLevel);
    return this.mainsP;
  }

  setMains(present: boolean): void {
    this.mains().set(present);
  }

  /**
   * Cuts power just before the n-th mutating flash call from now (1 = the next one): that call does not
   * happen, the interpreter is gone mid-code, flash keeps what was written before. Use it to prove the
   * firmware survives a power cut at any instant. Returns a function that disarms it.
   */
  cutPowerAtFlashOp(n: number): () => void {
    let left = n;
    const hook = (): void => {
      if (--left > 0) return;
      this.flash.beforeMutate = null;
      this.powerCuts++;
      this.powerOff();
      throw new PowerCutError(`${this.name}: power cut before flash operation ${n}`);
    };
    this.flash.beforeMutate = hook;
    return () => {
      if (this.flash.beforeMutate === hook) this.flash.beforeMutate = null;
    };
  }

  /** Sets an Espruino error flag the firmware will read with E.getErrorFlags(). */
  raiseErrorFlag(flag: string): void {
    this.runtime?.setErrorFlag(flag);
  }
}
