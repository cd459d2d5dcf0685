// A Varde device on the real Espruino interpreter: a firmware bundle built for a host board
// (hardware/*-host.toml) installed into the interpreter's flash exactly as `varde flash` lays it out
// (boot loader in .bootcde, the bundle in a slot, the pointer, the identity written with
// Storage.writeJSON: cli/tech/boot-layout.ts), booted as after a reset, with its data port on a
// pseudo-terminal for the gateway and its pins on a second one driven by the test (the host board's
// line protocol, firmware/hal/hal.ts):
//
//   const dev = await RealDevice.create({ build: "nrf52", board: "alarm-host", id: 7, key });
//   await dev.boot();              dev.dataPath -> the gateway's serial transport
//   await dev.press("D0", 300);    dev.pin("D4") (LED level)   await dev.memory()
//   await dev.powerCut();          await dev.boot();            (flash kept, RAM gone)
import * as fs from "node:fs";
import { buildFirmware } from "../../firmware/build/index.ts";
import { commitExpr, LOADER, SLOTS, type BootPointer } from "../../cli/tech/boot-layout.ts";
import { openSerialLinkEnd } from "../../simulator/links/pty.ts";
import { EspruinoSandbox, openInterpreterPty, type EspruinoBuild, type EspruinoProcess, type InterpreterPty } from "./espruino.ts";
import { createHash } from "node:crypto";
import type { SerialPort } from "serialport";
import type { LinkEnd } from "../../simulator/links/link.ts";

export interface RealDeviceOptions {
  build: EspruinoBuild;
  /** a host board: "alarm-host" or "dispenser-host" */
  board: string;
  id: number;
  /** 64 hex chars */
  key: string;
  /** the bundle (default: built now for the board) */
  code?: string;
}

export interface PinChange {
  /** ms since the RealDevice was created (host clock) */
  t: number;
  on: boolean;
}

export class RealDevice {
  proc: EspruinoProcess | null = null;
  /** output pin levels as the firmware last wrote them, and their history */
  readonly pins = new Map<string, boolean>();
  readonly history = new Map<string, PinChange[]>();
  private io: { link: LinkEnd; port: SerialPort } | null = null;
  private ioLine = "";
  private readonly t0 = Date.now();
  /** input levels set by the test: pin -> level, "a" + pin -> analog value (kept across reboots, like a wire) */
  readonly levels = new Map<string, boolean | number>();

  private constructor(
    readonly box: EspruinoSandbox,
    readonly data: InterpreterPty,
    readonly ioPty: InterpreterPty,
    readonly code: string,
  ) {}

  /** The pty path the gateway opens (its [[transport]] type = "serial"). */
  get dataPath(): string {
    return this.data.hostPath;
  }

  static async create(o: RealDeviceOptions): Promise<RealDevice> {
    const code = o.code ?? (await buildFirmware(o.board, { noWrite: true })).code;
    const box = await EspruinoSandbox.create(o.build);
    const data = await openInterpreterPty(box.dir, "data-");
    const io = await openInterpreterPty(box.dir, "io-");
    const dev = new RealDevice(box, data, io, code);
    await dev.install(o);
    return dev;
  }

  /** varde flash's layout: the bundle in slot A, then identity, loader and pointer (its commit step). */
  private async install(o: RealDeviceOptions): Promise<void> {
    const kind = o.board.startsWith("alarm") ? "alarm" : "dispenser";
    await this.box.writeStorage({ [SLOTS[0]]: this.code });
    const pointer: BootPointer = { f: SLOTS[0], n: this.code.length, h: createHash("sha256").update(this.code, "latin1").digest("hex"), v: "test", b: o.board };
    const out = await this.box.runOk(`print(${commitExpr({ id: o.id, key: o.key, kind }, pointer)});`);
    if (!/ok/.test(out)) throw new Error(`install on espruino-${o.build}: ${out}`);
    const loader = await this.box.readStorage(".bootcde");
    if (Buffer.from(loader!).toString("latin1") !== LOADER) throw new Error("install: .bootcde is not the Varde loader");
  }

  /** Boots the interpreter from flash (as after a reset) and connects the pins' pseudo-terminal. */
  async boot(): Promise<void> {
    if (!this.io) {
      this.io = await openSerialLinkEnd(this.ioPty.hostPath);
      this.io.link.onData((b: Uint8Array) => this.onIo(b));
    }
    // the wires at power-on: the host board reads its pins' levels from varde.host at boot
    const levels: Record<string, boolean | number> = {};
    for (const [k, v] of this.levels) levels[k] = v;
    await this.box.runOk(`require("Storage").writeJSON("varde.host",${JSON.stringify({ d: this.data.devicePath, i: this.ioPty.devicePath, in: levels })});`);
    this.proc = await this.box.boot();
  }

  private onIo(b: Uint8Array): void {
    this.ioLine += Buffer.from(b).toString("latin1");
    let nl: number;
    while ((nl = this.ioLine.indexOf("\n")) >= 0) {
      const l = this.ioLine.slice(0, nl);
      this.ioLine = this.ioLine.slice(nl + 1);
      const m = /^o(D\d+)=([01])$/.exec(l);
      if (!m) continue;
      const on = m[2] === "1";
      if (this.pins.get(m[1]) === on) continue; // the firmware rewrites levels on every LED step
      this.pins.set(m[1], on);
      const h = this.history.get(m[1]) ?? [];
      h.push({ t: Date.now() - this.t0, on });
      if (h.length > 2000) h.shift();
      this.history.set(m[1], h);
    }
  }

  /** An output pin's level (false before the firmware wrote it). */
  pin(name: string): boolean {
    return this.pins.get(name) ?? false;
  }

  /** Changes of an output pin within the last `ms` (host time). */
  changes(name: string, ms: number): PinChange[] {
    const since = Date.now() - this.t0 - ms;
    return (this.history.get(name) ?? []).filter((c) => c.t >= since);
  }

  /** Sets a digital input's level (kept across reboots, like a wire). */
  setInput(pin: string, on: boolean): void {
    this.levels.set(pin, on);
    if (this.proc) this.io?.link.write(Buffer.from(`i${pin}=${on ? 1 : 0}\n`));
  }

  /** Sets an analog input (0..1 of the reference voltage). */
  setAnalog(pin: string, v: number): void {
    this.levels.set("a" + pin, v);
    if (this.proc) this.io?.link.write(Buffer.from(`a${pin}=${v}\n`));
  }

  /** Presses a button (active level `activeHigh`) for ms of real time. */
  async press(pin: string, ms: number, activeHigh = true): Promise<void> {
    this.setInput(pin, activeHigh);
    await new Promise((r) => setTimeout(r, ms));
    this.setInput(pin, !activeHigh);
  }

  /** process.memory() of the running firmware, as the interpreter counts it. */
  async memory(): Promise<{ usage: number; free: number; total: number }> {
    const out = await this.exec('print("@@mem "+JSON.stringify(process.memory()))');
    const m = /@@mem (\{.*\})/.exec(out);
    if (!m) throw new Error(`process.memory() on espruino-${this.box.build}: ${out}`);
    const j = JSON.parse(m[1]);
    return { usage: j.usage, free: j.free, total: j.total };
  }

  /** Runs a line on the console (the host board keeps the REPL on standard input). */
  exec(code: string): Promise<string> {
    if (!this.proc) throw new Error("RealDevice: not booted");
    return this.proc.exec(code);
  }

  /** Everything the interpreter printed since the boot (errors, "Uncaught", "OUT OF MEMORY"...). */
  get output(): string {
    return this.proc?.output ?? "";
  }

  /** Power cut: SIGKILL (flash stays, RAM is gone). */
  async powerCut(): Promise<void> {
    await this.proc?.kill();
    this.proc = null;
  }

  async dispose(): Promise<void> {
    await this.powerCut();
    this.io?.link.close();
    await this.data.close();
    await this.ioPty.close();
    await this.box.dispose();
    fs.rmSync(this.box.dir, { recursive: true, force: true });
  }
}

/**
 * The dispenser's mechanics around a RealDevice (as simulator/peripherals/dispenser.ts models them): the
 * carousel turns while the motor pin is high (step_ms per compartment) and its absolute encoder reads
 * position / (compartments + 1) on the slot sensor; a compartment at the exit when the motor stops
 * empties into the tray (the tray sensor goes high); take() empties the tray.
 */
export class DispenserMechanics {
  pos = 0;
  tray = 0;
  private last = Date.now();
  private motorWas = false;
  private timer: NodeJS.Timeout;
  readonly emptied: number[] = [];

  constructor(
    readonly dev: RealDevice,
    readonly pins: Record<string, string | boolean>,
    readonly compartments: number,
    readonly stepMs: number,
  ) {
    this.publish();
    this.timer = setInterval(() => this.tick(), 20);
  }

  private publish(): void {
    this.dev.setAnalog(this.pins.slot_sensor as string, this.pos / (this.compartments + 1));
    this.dev.setInput(this.pins.tray_sensor as string, this.tray > 0);
  }

  private tick(): void {
    const now = Date.now();
    const on = this.dev.pin(this.pins.motor as string);
    if (on) this.pos += (now - this.last) / this.stepMs;
    if (this.motorWas && !on) {
      const c = Math.round(this.pos);
      if (Math.abs(this.pos - c) < 0.15 && c >= 1 && !this.emptied.includes(c)) {
        this.emptied.push(c);
        this.tray++;
      }
    }
    if (on || this.motorWas) this.publish();
    this.motorWas = on;
    this.last = now;
  }

  /** The patient takes the dose out of the tray. */
  take(): void {
    this.tray = 0;
    this.publish();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
