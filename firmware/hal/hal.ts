// The hardware layer: the ONLY file of the firmware that names Espruino globals (docs/architecture.md).
// Flat functions, no objects or closures kept in RAM (docs/firmware-memory.md). What differs between
// boards is chosen at build time from BOARD constants (esbuild folds the branches of other boards away):
//
//  * serial boards (BOARD.data.transport "serial", ESP32): the data port is BOARD.data.serial at
//    BOARD.data.baud; the console moves to LoopbackA so frames and the REPL never share the port.
//  * BLE boards ("ble", nRF52): the Varde service carries the framed byte stream (write characteristic
//    to the device, notify characteristic from it), notifications paced one at a time (below); both
//    characteristics need an encrypted link; the Nordic UART (REPL over BLE) is removed.
//  * host boards ("host": hardware/*-host.toml): the upstream Espruino interpreter built for Linux, which
//    has no GPIO and no radio. The data port is Serial1 opened on a pseudo-terminal, and the pins go
//    through a second pseudo-terminal on Serial2 with a line protocol the tests drive:
//        device -> test   "o<pin>=<0|1>\n"   an output changed (LEDs, buzzer, motor)
//        test -> device   "i<pin>=<0|1>\n"   an input's level (fires watches on a change)
//                         "a<pin>=<0..1>\n"  an analog input's value
//    Both paths, and the inputs' levels at power-on, are read from Storage "varde.host" ({"d": "/dev/pts/N",
//    "i": "/dev/pts/M", "in": {"D39": true, "aD34": 0.6}}), written by the test harness before each boot
//    (test/support/espruino-device.ts). Nothing above this file knows which board runs.
//
// Units: ms of the device clock (getTime() * 1000); pins are Espruino pin names ("D25").

declare const getTime: () => number;
declare const setTime: (t: number) => void;
declare const digitalWrite: (pin: any, v: any) => void;
declare const digitalRead: (pin: any) => number;
declare const analogRead: (pin: any) => number;
declare const pinMode: (pin: any, mode: string) => void;
declare const setWatch: (fn: (e: any) => void, pin: any, opts: any) => any;
declare const clearWatch: (id: any) => void;
declare const E: any;
declare const Serial1: any;
declare const Serial2: any;
declare const LoopbackA: any;
declare const NRF: any;
declare const Bluetooth: any;
declare const process: any;
declare const require: (name: string) => any;
declare const BOARD: any;

// Board branches are written out as BOARD.data.transport === "..." at each use: esbuild folds the
// comparison of two literals and drops the dead branch (it does not propagate a const holding it).

/** seconds without an idle interpreter before the watchdog reboots the device */
export const WATCHDOG_S = 30;

// ------------------------------------------------------------------ time, timers

export function now(): number {
  return getTime() * 1000;
}

export function setClock(unixS: number): void {
  setTime(unixS);
}

export function later(fn: () => void, ms: number): any {
  return setTimeout(fn, ms);
}

/** Clears a timer; null/undefined is ignored (Espruino's clearTimeout(undefined) clears every timer). */
export function cancel(id: any): void {
  if (id !== null && id !== undefined) clearTimeout(id);
}

// ------------------------------------------------------------------ pins

/** host boards: input levels and analog values set by the test, and the watches on them */
let hostIn: any = {};
let hostWatch: any[] = [];
let hostLine = "";

export function pinOut(pin: string, on: boolean): void {
  if (BOARD.data.transport === "host") Serial2.write("o" + pin + "=" + (on ? 1 : 0) + "\n");
  else digitalWrite(pin, on ? 1 : 0);
}

export function pinIn(pin: string): boolean {
  if (BOARD.data.transport === "host") return !!hostIn[pin];
  return !!digitalRead(pin);
}

/** analog input, 0..1 of the reference voltage */
export function adc(pin: string): number {
  if (BOARD.data.transport === "host") return hostIn["a" + pin] || 0;
  return analogRead(pin);
}

/**
 * Calls cb(level, tMs) on every debounced edge of an input. mode: "input_pullup", "input_pulldown" or
 * "input" (each input's pull comes from its board file: a button is not a light barrier).
 */
export function watch(pin: string, mode: string, debounceMs: number, cb: (level: boolean, t: number) => void): void {
  if (BOARD.data.transport === "host") {
    hostWatch.push(pin, cb);
    return;
  }
  pinMode(pin, mode);
  setWatch(
    function (e: any) {
      cb(!!e.state, e.time * 1000);
    },
    pin,
    { repeat: true, edge: "both", debounce: debounceMs },
  );
}

function hostData(d: string): void {
  hostLine += d;
  let nl = hostLine.indexOf("\n");
  while (nl >= 0) {
    const l = hostLine.substr(0, nl);
    hostLine = hostLine.substr(nl + 1);
    const eq = l.indexOf("=");
    const pin = l.substr(1, eq - 1);
    if (l[0] === "a") hostIn["a" + pin] = parseFloat(l.substr(eq + 1));
    else if (l[0] === "i") {
      const v = l.substr(eq + 1) === "1";
      if (!!hostIn[pin] !== v) {
        hostIn[pin] = v;
        for (let i = 0; i < hostWatch.length; i += 2) if (hostWatch[i] === pin) hostWatch[i + 1](v, now());
      }
    }
    nl = hostLine.indexOf("\n");
  }
}

// ------------------------------------------------------------------ flash (Storage)

function S(): any {
  return require("Storage");
}

/** a whole small file, undefined when missing */
export function fileRead(name: string): string | undefined {
  return S().read(name);
}

/** a JSON file as Espruino writes it (Storage.writeJSON leaves keys unquoted: readJSON reads both) */
export function fileJson(name: string): any {
  try {
    return S().readJSON(name, true);
  } catch (e) {
    return undefined;
  }
}

/** replaces a small file; false when flash is full */
export function fileWrite(name: string, data: string): boolean {
  try {
    return S().write(name, data) !== false;
  } catch (e) {
    return false;
  }
}

/** appends text (no "\xFF") to an append-only StorageFile; a power cut keeps a prefix. false when full */
export function logAppend(name: string, data: string): boolean {
  try {
    S().open(name, "a").write(data);
    return true;
  } catch (e) {
    return false;
  }
}

/** calls cb with every line of a StorageFile (without its "\n"); returns the file's length */
export function logLines(name: string, cb: (line: string) => void): number {
  const f = S().open(name, "r");
  let n = 0;
  let l = f.readLine();
  while (l !== undefined) {
    n += l.length;
    cb(l[l.length - 1] === "\n" ? l.substr(0, l.length - 1) : l);
    l = f.readLine();
  }
  return n;
}

/** removes a file or StorageFile; missing is fine */
export function fileErase(name: string): void {
  try {
    S().open(name, "r").erase();
  } catch (e) {
    // not a StorageFile
  }
  S().erase(name);
}

export function flashFree(): number {
  return S().getFree();
}

// ------------------------------------------------------------------ the data port

let onData: (b: Uint8Array) => void;
let onState: (up: boolean) => void;
let up = BOARD.data.transport !== "ble";
let maint = false;

/** Opens the data port: onData gets the bytes from the gateway, onState(up) link changes (BLE). */
export function linkStart(data: (b: Uint8Array) => void, state: (up: boolean) => void): void {
  onData = data;
  onState = state;
  // hardware watchdog, kicked whenever the interpreter is idle: a hang reboots the device within
  // WATCHDOG_S and the flash outbox resends whatever was pending
  if (BOARD.data.transport !== "host") E.enableWatchdog(WATCHDOG_S, true);
  if (BOARD.data.transport === "ble") {
    const chars: any = {};
    chars[BOARD.data.to_device] = {
      writable: true,
      maxLen: BOARD.data.mtu_payload,
      security: { write: { encrypted: BOARD.data.require_encryption, mitm: false } },
      onWrite: bleWrite,
    };
    chars[BOARD.data.from_device] = {
      notify: true,
      readable: true,
      maxLen: BOARD.data.mtu_payload,
      value: [0],
      security: { read: { encrypted: BOARD.data.require_encryption, mitm: false } },
    };
    const services: any = {};
    services[BOARD.data.service] = chars;
    NRF.setServices(services, { uart: false, advertise: [BOARD.data.service] });
    NRF.setSecurity({ bond: true, mitm: false, lesc: true, encryptUart: true });
    NRF.setAdvertising({}, { name: BOARD.data.ble_name, connectable: true });
    NRF.on("connect", bleUp);
    NRF.on("disconnect", bleDown);
    E.setConsole(LoopbackA, { force: true });
  } else if (BOARD.data.transport === "host") {
    const h = fileJson("varde.host");
    hostIn = h.in || {}; // the input levels at power-on (a real board reads its pins)
    Serial1.path = h.d;
    Serial2.path = h.i;
    Serial2.setup(BOARD.data.baud);
    Serial2.on("data", hostData);
    Serial1.setup(BOARD.data.baud);
    Serial1.on("data", serialData);
  } else {
    E.setConsole(LoopbackA, { force: true });
    Serial1.setup(BOARD.data.baud, { tx: BOARD.data.tx, rx: BOARD.data.rx });
    Serial1.on("data", serialData);
  }
}

function serialData(d: string): void {
  if (!maint) onData(E.toUint8Array(d));
}

function bleWrite(evt: any): void {
  onData(new Uint8Array(evt.data));
}

function bleUp(): void {
  up = true;
  lastTx = getTime() * 1000; // a new link starts at a fast interval
  onState(true);
}

function bleDown(): void {
  up = false;
  dropQueue();
  onState(false);
}

// Notification pacing (BLE). The SoftDevice holds few notifications (one on S132 v5+) and sends one
// per connection event; NRF.updateServices ignores NRF_ERROR_RESOURCES, so a notification sent while
// its queue is full is lost without a trace. So chunks go out one at a time, notify_gap_ms apart, or
// notify_idle_gap_ms after a quiet spell of IDLE_MS (Espruino then slows the interval to ~200 ms).
// The queue is bounded to QUEUE_CHUNKS chunks: a frame that does not fit is dropped whole (never half a
// frame) and the reliable layer retransmits. A lost link empties the queue.
const QUEUE_CHUNKS = 8;
const IDLE_MS = 100000;
let txq: Uint8Array[] = [];
let txTimer: any = null;
let lastTx = 0;

function pump(): void {
  txTimer = null;
  const c = txq.shift();
  if (!c) return;
  const upd: any = {};
  upd[BOARD.data.service] = {};
  upd[BOARD.data.service][BOARD.data.from_device] = { value: c, notify: true };
  try {
    NRF.updateServices(upd);
  } catch (e) {
    txq = []; // central gone or not subscribed: the reliable layer retransmits
    return;
  }
  const t = getTime() * 1000;
  txTimer = setTimeout(pump, t - lastTx > IDLE_MS ? BOARD.data.notify_idle_gap_ms : BOARD.data.notify_gap_ms);
  lastTx = t;
}

function dropQueue(): void {
  txq = [];
  cancel(txTimer);
  txTimer = null;
}

/** Sends bytes to the gateway now (the caller may reuse the buffer afterwards). */
export function linkSend(bytes: Uint8Array): void {
  if (maint || !up) return;
  if (BOARD.data.transport !== "ble") Serial1.write(bytes);
  else {
    const n = BOARD.data.mtu_payload;
    if (txq.length + Math.ceil(bytes.length / n) > QUEUE_CHUNKS) return;
    // copies: typed-array slice() would give a plain Array on Espruino, and the caller reuses its buffer.
    // The end is clamped: Espruino's subarray() past the end gives a longer view that reads 0s.
    for (let i = 0; i < bytes.length; i += n) txq.push(new Uint8Array(bytes.subarray(i, Math.min(i + n, bytes.length))));
    if (txTimer === null) pump();
  }
}

/** true when bytes sent now can reach the gateway (serial: always; BLE: connected) */
export function linkUp(): boolean {
  return up && !maint;
}

/** Moves the console (REPL) back to the data port for a technician; frames stop until a reboot. */
export function maintenance(): void {
  maint = true;
  // the host build's console is its standard input/output already
  if (BOARD.data.transport === "ble") {
    NRF.setServices({}, { uart: true });
    E.setConsole(Bluetooth, { force: false });
  } else if (BOARD.data.transport !== "host") E.setConsole(Serial1, { force: true });
}

// ------------------------------------------------------------------ the rest

export function sha256(d: Uint8Array): Uint8Array {
  return new Uint8Array(require("crypto").SHA256(d));
}

/** random number in [0, 1) from the hardware RNG */
export function random(): number {
  return (E.hwRand() >>> 0) / 4294967296;
}

export function reboot(): void {
  E.reboot();
}

/** JsVars free */
export function memFree(): number {
  return process.memory().free;
}

/** interpreter error flags since the last call (reading clears them), e.g. ["LOW_MEMORY"] */
export function errFlags(): string[] {
  return E.getErrorFlags() || [];
}

/** debug text: the console, never the data port in production */
export function log(text: string): void {
  console.log(text);
}
