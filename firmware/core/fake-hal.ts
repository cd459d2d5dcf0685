// A Hal for fast Node unit tests of firmware logic: virtual time, recorded pin writes, in-memory flash
// with optional torn appends (power cut) and a size limit, and an in-memory link. Written in the
// Espruino subset like the rest of firmware/ (SHA-256 is injected, so no Node import). Not bundled.
import type { Hal } from "./hal.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

interface Watch {
  id: number;
  pin: string;
  cb: (level: boolean, t: number) => void;
}

export interface PinChange {
  t: number;
  on: boolean;
}

export class FakeHal implements Hal {
  t: number;
  timers: Timer[];
  nextId: number;
  levels: any;
  analogs: any;
  /** pin -> history of writes */
  writes: any;
  watches: Watch[];
  /** flash: name -> contents (files and logs share the space) */
  files: any;
  /** flash size in bytes (sum of file lengths) */
  flashSize: number;
  /** when >= 0, the next appendLog writes only this many chars and then the "power" is cut */
  tearAt: number;
  /** set when a torn append happened: the test must stop using this app instance */
  powerCut: boolean;
  /** frames (raw bytes) the device wrote to the link */
  sent: Uint8Array[];
  dataCb: ((b: Uint8Array) => void) | null;
  stateCb: ((up: boolean) => void) | null;
  up: boolean;
  shaFn: (d: Uint8Array) => Uint8Array;
  seed: number;
  rebooted: number;
  maintained: number;
  flags: string[];
  free: number;
  total: number;
  logs: string[];

  constructor(sha256: (d: Uint8Array) => Uint8Array, files?: any) {
    this.t = 1700000000000;
    this.timers = [];
    this.nextId = 1;
    this.levels = {};
    this.analogs = {};
    this.writes = {};
    this.watches = [];
    this.files = files || {};
    this.flashSize = 65536;
    this.tearAt = -1;
    this.powerCut = false;
    this.sent = [];
    this.dataCb = null;
    this.stateCb = null;
    this.up = true;
    this.shaFn = sha256;
    this.seed = 12345;
    this.rebooted = 0;
    this.maintained = 0;
    this.flags = [];
    this.free = 2000;
    this.total = 2630;
    this.logs = [];
  }

  now(): number {
    return this.t;
  }
  setTime(unixS: number): void {
    this.t = unixS * 1000;
  }
  setTimeout(fn: () => void, ms: number): any {
    const id = this.nextId++;
    this.timers.push({ id: id, at: this.t + (ms > 0 ? ms : 0), fn: fn });
    return id;
  }
  clearTimeout(id: any): void {
    for (let i = 0; i < this.timers.length; i++) {
      if (this.timers[i].id === id) {
        this.timers.splice(i, 1);
        return;
      }
    }
  }
  /** Runs timers due within the next ms milliseconds, in time order. Timers use relative delays, so
   *  setTime() does not move them (as on Espruino). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      if (this.powerCut) break;
      let best = -1;
      for (let i = 0; i < this.timers.length; i++) {
        if (this.timers[i].at <= end && (best < 0 || this.timers[i].at < this.timers[best].at)) best = i;
      }
      if (best < 0) break;
      const tm = this.timers[best];
      this.timers.splice(best, 1);
      if (tm.at > this.t) this.t = tm.at;
      tm.fn();
    }
    if (this.t < end) this.t = end;
  }

  write(pin: string, on: boolean): void {
    this.levels[pin] = on;
    if (!this.writes[pin]) this.writes[pin] = [];
    const h: PinChange[] = this.writes[pin];
    if (h.length === 0 || h[h.length - 1].on !== on) h.push({ t: this.t, on: on });
  }
  read(pin: string): boolean {
    return !!this.levels[pin];
  }
  analog(pin: string): number {
    return pin in this.analogs ? this.analogs[pin] : 0.5;
  }
  watch(pin: string, debounceMs: number, cb: (level: boolean, t: number) => void): any {
    const id = this.nextId++;
    this.watches.push({ id: id, pin: pin, cb: cb });
    return id;
  }
  unwatch(id: any): void {
    for (let i = 0; i < this.watches.length; i++) if (this.watches[i].id === id) this.watches.splice(i, 1);
  }
  /** Sets an input level and fires its watches (the fake's edges are already debounced). */
  setPin(pin: string, level: boolean): void {
    if (!!this.levels[pin] === level) return;
    this.levels[pin] = level;
    const ws = this.watches.slice();
    for (let i = 0; i < ws.length; i++) if (ws[i].pin === pin) ws[i].cb(level, this.t);
  }
  /** Current on/off of an output pin. */
  pin(pin: string): boolean {
    return !!this.levels[pin];
  }

  used(): number {
    let n = 0;
    for (const k in this.files) n += this.files[k].length;
    return n;
  }
  readFile(name: string): string | undefined {
    return this.files[name];
  }
  writeFile(name: string, data: string): boolean {
    const old = name in this.files ? this.files[name].length : 0;
    if (this.used() - old + data.length > this.flashSize) return false;
    this.files[name] = data;
    return true;
  }
  appendLog(name: string, data: string): boolean {
    if (this.powerCut) return false;
    if (this.used() + data.length > this.flashSize) return false;
    let d = data;
    if (this.tearAt >= 0) {
      d = data.substr(0, this.tearAt);
      this.tearAt = -1;
      this.powerCut = true;
    }
    this.files[name] = (this.files[name] || "") + d;
    return !this.powerCut;
  }
  readLog(name: string, cb: (line: string) => void): number {
    const s: string | undefined = this.files[name];
    if (s === undefined) return 0;
    const lines = s.split("\n");
    for (let i = 0; i < lines.length; i++) cb(lines[i]);
    return s.length;
  }
  erase(name: string): void {
    if (this.powerCut) return;
    delete this.files[name];
  }
  storageFree(): number {
    return this.flashSize - this.used();
  }

  linkWrite(bytes: Uint8Array): void {
    if (this.powerCut) return;
    this.sent.push(new Uint8Array(bytes));
  }
  onLinkData(cb: (bytes: Uint8Array) => void): void {
    this.dataCb = cb;
  }
  linkUp(): boolean {
    return this.up;
  }
  onLinkState(cb: (up: boolean) => void): void {
    this.stateCb = cb;
  }
  /** Bytes from the gateway to the device. */
  deliver(bytes: Uint8Array): void {
    if (this.dataCb) this.dataCb(bytes);
  }
  setLinkUp(up: boolean): void {
    this.up = up;
    if (this.stateCb) this.stateCb(up);
  }

  sha256(data: Uint8Array): Uint8Array {
    return this.shaFn(data);
  }
  random(): number {
    // LCG (Numerical Recipes), deterministic per fake
    this.seed = (this.seed * 1664525 + 1013904223) % 4294967296;
    return this.seed / 4294967296;
  }
  reboot(): void {
    this.rebooted++;
  }
  memory(): { free: number; total: number } {
    return { free: this.free, total: this.total };
  }
  errorFlags(): string[] {
    const f = this.flags;
    this.flags = [];
    return f;
  }
  maintenance(): void {
    this.maintained++;
  }
  log(text: string): void {
    this.logs.push(text);
  }
}
