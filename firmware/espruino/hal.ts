// The Hal on a real Espruino device (and in the simulator, which provides the same globals).
// This is the ONLY file in the firmware that names Espruino globals (docs/architecture.md).
//
// Data port: serial boards use board.data.serial (Serial1) at board.data.baud on tx/rx; BLE boards expose
// the Varde service (board.data.service) with a write characteristic (to_device) and a notify
// characteristic (from_device) that carry the framed byte stream; notifications are chunked to
// board.data.mtu_payload bytes. Both characteristics require an encrypted link, and the Nordic UART
// (REPL over BLE) is removed: NRF.setServices(..., {uart: false}).
// Console: in production it is moved to LoopbackA (E.setConsole(LoopbackA, {force: true})), so frames and
// the REPL never share the port; maintenance() moves it back (serial: the data port; BLE: Nordic UART).
import type { Hal } from "../core/hal.ts";

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
declare const LoopbackA: any;
declare const NRF: any;
declare const Bluetooth: any;
declare const process: any;
declare const require: (name: string) => any;

/** seconds without an idle interpreter before the watchdog reboots the device */
export const WATCHDOG_S = 30;

export function createEspruinoHal(board: any): Hal {
  // modules are looked up on each use (idiomatic on Espruino, and no closure keeps them alive)
  const S = function () {
    return require("Storage");
  };
  const data = board.data;
  const ble = data.transport === "ble";
  let dataCb: (b: Uint8Array) => void = function () {};
  let stateCb: (up: boolean) => void = function () {};
  let up = !ble;
  let maint = false;
  // hardware watchdog, kicked automatically whenever the interpreter is idle: a hang (a loop that
  // never returns) reboots the device within WATCHDOG_S, and the flash outbox resends what was pending
  E.enableWatchdog(WATCHDOG_S, true);

  if (ble) {
    const chars: any = {};
    chars[data.to_device] = {
      writable: true,
      maxLen: data.mtu_payload,
      security: { write: { encrypted: data.require_encryption, mitm: false } },
      onWrite: function (evt: any) {
        dataCb(new Uint8Array(evt.data));
      },
    };
    chars[data.from_device] = {
      notify: true,
      readable: true,
      maxLen: data.mtu_payload,
      value: [0],
      security: { read: { encrypted: data.require_encryption, mitm: false } },
    };
    const services: any = {};
    services[data.service] = chars;
    NRF.setServices(services, { uart: false, advertise: [data.service] });
    NRF.setSecurity({ bond: true, mitm: false, lesc: true, encryptUart: true });
    NRF.setAdvertising({}, { name: data.ble_name, connectable: true });
    NRF.on("connect", function () {
      up = true;
      lastTx = getTime() * 1000; // a new link starts at a fast interval
      stateCb(true);
    });
    NRF.on("disconnect", function () {
      up = false;
      dropQueue();
      stateCb(false);
    });
    E.setConsole(LoopbackA, { force: true });
  } else {
    Serial1.setup(data.baud, { tx: data.tx, rx: data.rx });
    E.setConsole(LoopbackA, { force: true });
    Serial1.on("data", function (d: string) {
      if (!maint) dataCb(E.toUint8Array(d));
    });
  }

  // Notification pacing (BLE). The SoftDevice holds few notifications (one on S132 v5+) and sends one
  // per connection event; NRF.updateServices ignores NRF_ERROR_RESOURCES, so a notification sent while
  // its queue is full is lost without a trace (e.g. the second half of a 58-byte DeviceInfo sent back to
  // back with the first). So chunks go out one at a time, data.notify_gap_ms apart (more than a
  // connection interval while the link is busy), or data.notify_idle_gap_ms after a quiet spell of
  // IDLE_MS (Espruino then slows the interval to ~200 ms until its faster one is negotiated again).
  // The queue is bounded to QUEUE_CHUNKS chunks: a frame that does not fit is dropped whole (never half
  // a frame) and the reliable layer retransmits. A lost link empties the queue.
  const QUEUE_CHUNKS = 8;
  const IDLE_MS = 100000;
  const txq: Uint8Array[] = [];
  let txTimer: any = null;
  let lastTx = 0;

  function pump(): void {
    txTimer = null;
    const c = txq.shift();
    if (!c) return;
    const upd: any = {};
    upd[data.service] = {};
    upd[data.service][data.from_device] = { value: c, notify: true };
    try {
      NRF.updateServices(upd);
    } catch (e) {
      txq.length = 0; // central gone or not subscribed: the reliable layer retransmits
      return;
    }
    const t = getTime() * 1000;
    // the gap runs after every chunk, so a frame queued right after a single-chunk one waits too
    txTimer = setTimeout(pump, t - lastTx > IDLE_MS ? data.notify_idle_gap_ms : data.notify_gap_ms);
    lastTx = t;
  }

  function notify(bytes: Uint8Array): void {
    const n = data.mtu_payload;
    if (txq.length + Math.ceil(bytes.length / n) > QUEUE_CHUNKS) return;
    for (let i = 0; i < bytes.length; i += n) txq.push(bytes.slice(i, i + n));
    if (txTimer === null) pump();
  }

  function dropQueue(): void {
    txq.length = 0;
    if (txTimer !== null) clearTimeout(txTimer);
    txTimer = null;
  }

  const hal: Hal = {
    now: function () {
      return getTime() * 1000;
    },
    setTime: function (s: number) {
      setTime(s);
    },
    setTimeout: function (fn: () => void, ms: number) {
      return setTimeout(fn, ms);
    },
    clearTimeout: function (id: any) {
      clearTimeout(id);
    },
    write: function (pin: string, on: boolean) {
      digitalWrite(pin, on ? 1 : 0);
    },
    read: function (pin: string) {
      return !!digitalRead(pin);
    },
    analog: function (pin: string) {
      return analogRead(pin);
    },
    watch: function (pin: string, debounceMs: number, cb: (level: boolean, t: number) => void) {
      pinMode(pin, board.pins.button_active_low ? "input_pullup" : "input_pulldown");
      return setWatch(
        function (e: any) {
          cb(!!e.state, e.time * 1000);
        },
        pin,
        { repeat: true, edge: "both", debounce: debounceMs },
      );
    },
    unwatch: function (id: any) {
      clearWatch(id);
    },
    readFile: function (name: string) {
      return S().read(name);
    },
    writeFile: function (name: string, d: string) {
      try {
        return S().write(name, d) !== false;
      } catch (e) {
        return false;
      }
    },
    appendLog: function (name: string, d: string) {
      try {
        S().open(name, "a").write(d);
        return true;
      } catch (e) {
        return false;
      }
    },
    readLog: function (name: string, cb: (line: string) => void) {
      let f: any;
      try {
        f = S().open(name, "r");
      } catch (e) {
        return 0; // no such log yet
      }
      let n = 0;
      let l = f.readLine();
      while (l !== undefined) {
        n += l.length;
        cb(l[l.length - 1] === "\n" ? l.substr(0, l.length - 1) : l);
        l = f.readLine();
      }
      return n;
    },
    erase: function (name: string) {
      try {
        S().open(name, "r").erase();
      } catch (e) {
        // not a StorageFile
      }
      S().erase(name);
    },
    storageFree: function () {
      return S().getFree();
    },
    linkWrite: function (bytes: Uint8Array) {
      if (maint || !up) return;
      if (ble) notify(bytes);
      else Serial1.write(bytes);
    },
    onLinkData: function (cb: (b: Uint8Array) => void) {
      dataCb = cb;
    },
    linkUp: function () {
      return up && !maint;
    },
    onLinkState: function (cb: (up: boolean) => void) {
      stateCb = cb;
    },
    sha256: function (d: Uint8Array) {
      return new Uint8Array(require("crypto").SHA256(d));
    },
    random: function () {
      return (E.hwRand() >>> 0) / 4294967296;
    },
    reboot: function () {
      E.reboot();
    },
    memory: function () {
      const m = process.memory();
      return { free: m.free, total: m.total };
    },
    errorFlags: function () {
      return E.getErrorFlags() || [];
    },
    maintenance: function () {
      maint = true;
      if (ble) {
        NRF.setServices({}, { uart: true });
        E.setConsole(Bluetooth, { force: false });
      } else {
        E.setConsole(Serial1, { force: true });
      }
    },
    log: function (text: string) {
      console.log(text);
    },
  };
  return hal;
}
