// The `espruino` npm package (EspruinoTools, the code behind the official CLI and Web IDE), used
// in-process so `varde flash` uploads exactly as the official tools do (prompt recovery with Ctrl-C,
// `\x10` echo-off lines, board detection through process.env, Storage.write chunks with the same
// throttling) while we keep control of progress and errors.
// What this wrapper adds, and why:
//  * EspruinoTools lists serial ports through serialport.list(), which only knows udev devices, so a
//    pseudo-terminal (/dev/pts/N: a simulator, a socat bridge) was "not found". We add the explicit
//    path to the port list when it exists.
//  * It logs everything with console.log/console.error: that goes to a debug sink (VARDE_DEBUG=1
//    prints it) so the technician sees our progress bar and errors only.
//  * Board JSON is normally fetched from espruino.com on connect: pointed at an empty local directory
//    instead, so flashing works offline in a patient's home.
//  * One tools instance per process (EspruinoTools keeps global state): openEspruino() refuses a second
//    concurrent session.
//  * A pulled cable must fail the flash with a message, not crash the process: EspruinoTools has no
//    'error' listener on its SerialPort, keeps writing queued chunks and runs its prompt recovery after
//    the link is gone; those are guarded below (guardSerialErrors, loadTools, STALE_CHAIN_MS).
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { portKind } from "./link.ts";
import { allEspruinoBoards } from "./espruino-boards.ts";

const require = createRequire(import.meta.url);

// EspruinoTools' global object (untyped JavaScript).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tools = any;

let tools: Tools | undefined;
let busy = false;
/** when the last session's link was lost (see openEspruino) */
let lostAt = 0;
/** EspruinoTools' prompt recovery runs on for up to ~1 s after its link is gone (Ctrl-C, Ctrl-C, then
 * it sends its pending command and takes over the data listener): a new session waits that out */
const STALE_CHAIN_MS = 1500;

function debug(...args: unknown[]): void {
  // device keys travel in the identity write: never put them in a log
  const line = args
    .map((a) => (typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ")
    .replace(/[0-9a-fA-F]{64}/g, "<64 hex>");
  if (process.env.VARDE_DEBUG) process.stderr.write(`[espruino] ${line}\n`);
}

/** Routes console.log/info/warn/error to the debug sink (EspruinoTools logs from its callbacks too, so
 * this lasts for the whole session); returns the release function. Nested holders are counted: the
 * console comes back only when the last one releases (a late release of an earlier session must not
 * un-silence the next one). */
let silenced = 0;
let savedConsole: Pick<Console, "log" | "info" | "warn" | "error"> | null = null;
function silence(): () => void {
  if (silenced++ === 0) {
    savedConsole = { log: console.log, info: console.info, warn: console.warn, error: console.error };
    console.log = console.info = console.warn = console.error = debug;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--silenced === 0 && savedConsole) {
      Object.assign(console, savedConsole);
      savedConsole = null;
    }
  };
}

async function loadTools(): Promise<Tools> {
  if (tools) return tools;
  guardSerialErrors();
  const restore = silence();
  try {
    const lib = require("espruino");
    await new Promise<void>((resolve) => lib.init(resolve));
  } finally {
    restore();
  }
  tools = (globalThis as Record<string, unknown>).Espruino as Tools;
  tools.Core.Notifications = {
    success: debug,
    info: debug,
    warning: debug,
    error: (e: unknown) => debug("ERROR", e),
  };
  tools.Core.Status = { setStatus: () => {}, hasProgress: () => false, incrementProgress: () => {} };
  // EspruinoTools' prompt-recovery timers write Ctrl-C after their link may be gone, and then throw on
  // the missing device (an uncaught TypeError that would kill this process): drop such late writes.
  const write = tools.Core.Serial.write;
  tools.Core.Serial.write = function (...a: unknown[]) {
    if (!tools.Core.Serial.isConnected()) {
      debug("write after disconnect dropped:", a[0]);
      return;
    }
    return write.apply(this, a);
  };
  // Chunks already queued when the link goes write to a device that no longer exists; the tools then
  // call connection.closeLowLevel, which their serial layer never defines (another uncaught error).
  const conn = tools.Core.Serial.connection;
  const writeLowLevel = conn.writeLowLevel;
  conn.writeLowLevel = (d: string) => (tools.Core.Serial.isConnected() ? writeLowLevel(d) : Promise.resolve());
  if (typeof conn.closeLowLevel !== "function")
    conn.closeLowLevel = () => {
      if (tools.Core.Serial.isConnected()) tools.Core.Serial.close();
    };
  return tools;
}

/**
 * EspruinoTools' serial transport registers no 'error' listener on its SerialPort, so a write to a
 * pulled cable (EIO) would be an uncaught exception that kills the process mid-flash. An error nobody
 * listens for is logged instead; the port's 'close' that follows ends the session as a lost link.
 */
function guardSerialErrors(): void {
  let SP: { prototype: { emit: (ev: string, ...a: unknown[]) => boolean; listenerCount(ev: string): number } };
  try {
    const espRequire = createRequire(require.resolve("espruino/package.json"));
    SP = espRequire("serialport").SerialPort;
  } catch {
    return; // no serialport for the tools: serial ports are unavailable to them anyway
  }
  const emit = SP.prototype.emit;
  if ((emit as { vardeGuard?: boolean }).vardeGuard) return;
  const guarded = function (this: { listenerCount(ev: string): number }, ev: string, ...a: unknown[]): boolean {
    if (ev === "error" && this.listenerCount("error") === 0) {
      debug("serial error (no listener):", (a[0] as Error)?.message);
      return false;
    }
    return emit.call(this, ev, ...a);
  };
  (guarded as { vardeGuard?: boolean }).vardeGuard = true;
  SP.prototype.emit = guarded;
}

export interface EspruinoOptions {
  /** serial baud rate (ignored for TCP/BLE) */
  baudRate?: number;
  /** no pause after each Storage.write chunk (fast links: USB CDC, TCP, the simulator) */
  fastStorage?: boolean;
}

export interface EspruinoSession {
  /** process.env as the board reported it on connect (BOARD, VERSION, CONSOLE, ...) */
  env: Record<string, unknown>;
  /** Evaluates an expression on the device and returns its JSON value (undefined: no answer). */
  evaluate(expr: string, timeoutS?: number): Promise<unknown>;
  /** Sends statements (one per line) as the tools send code; resolves once written to the link. */
  send(code: string): Promise<void>;
  /** The tools' own Storage upload code for a file: one require("Storage").write(...) per line. */
  uploadFileCode(name: string, contents: string): string;
  /** bytes of file data per upload line */
  readonly uploadChunk: number;
  /** Sends load(): the device restarts its interpreter and runs its boot code. */
  reboot(): Promise<void>;
  /** Everything the device printed since connect (for "Uncaught" checks and error messages). */
  output(): string;
  connected(): boolean;
  close(): Promise<void>;
}

export class EspruinoError extends Error {}

/** Connects with EspruinoTools and reads process.env; throws EspruinoError when no Espruino answers. */
export async function openEspruino(port: string, o: EspruinoOptions = {}): Promise<EspruinoSession> {
  if (busy) throw new Error("an Espruino session is already open in this process");
  const T = await loadTools();
  busy = true;
  const wait = lostAt + STALE_CHAIN_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const restoreConsole = silence();
  let restored = false;
  // EspruinoTools' own timers (prompt recovery) may still log for a moment after the link is gone
  const restore = () => {
    if (restored) return;
    restored = true;
    busy = false;
    setTimeout(restoreConsole, 1500).unref();
  };
  const kind = portKind(port);
  const cfg = T.Config;
  cfg.BLUETOOTH_LOW_ENERGY = kind === "ble";
  cfg.BLUETOOTH_LOW_ENERGY_DBUS = false;
  cfg.ENV_ON_CONNECT = true;
  cfg.BOARD_JSON_URL = offlineBoardJsonDir();
  cfg.STORAGE_UPLOAD_METHOD = o.fastStorage ? 1 : 0;
  cfg.SAVE_ON_SEND = 0;
  cfg.SET_TIME_ON_WRITE = false;
  if (o.baudRate) cfg.BAUD_RATE = o.baudRate;
  if (kind === "tcp") cfg.SERIAL_TCPIP = [port];
  if (kind === "serial") addExplicitSerialPath(T, port);
  if (kind === "ble") T.Core.Utils.addRecognisedDeviceAddress(port);

  let out = "";
  let isOpen = false;
  let closing = false;
  let onDisconnect: (() => void)[] = [];
  T.Core.Serial.startListening((data: ArrayBuffer) => {
    const s = Buffer.from(new Uint8Array(data)).toString("latin1");
    debug("device>", s);
    if (out.length < 1_000_000) out += s;
  });
  const status = await new Promise<unknown>((resolve) => {
    T.Core.Serial.open(
      port,
      (st: unknown) => resolve(st),
      () => {
        if (isOpen && !closing) lostAt = Date.now();
        isOpen = false;
        restore(); // a lost link ends the session: the next openEspruino may start a new one
        const fns = onDisconnect;
        onDisconnect = [];
        fns.forEach((f) => f());
      },
    );
  });
  if (status === undefined) {
    restore();
    throw new EspruinoError(
      kind === "ble"
        ? `BLE device ${port}: could not connect. Is it advertising and in range, is a Bluetooth adapter present and the optional @abandonware/noble installed? (VARDE_DEBUG=1 shows the tools' log)`
        : `port ${port}: EspruinoTools could not open it (VARDE_DEBUG=1 shows the tools' log)`,
    );
  }
  isOpen = true;
  const env = { ...(T.Core.Env.getData() as Record<string, unknown>) };

  const evaluate = (expr: string, timeoutS: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!isOpen) return reject(new EspruinoError(`port ${port}: the connection to the device was lost`));
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        onDisconnect = onDisconnect.filter((f) => f !== lost);
        fn();
      };
      const lost = () => settle(() => reject(new EspruinoError(`port ${port}: the connection to the device was lost`)));
      onDisconnect.push(lost);
      // executeExpression has no timeout of its own for short commands (same quirk as above)
      const timer = setTimeout(() => settle(() => resolve(undefined)), timeoutS * 1000);
      T.Core.Utils.executeExpression(
        expr,
        (result: string | undefined) =>
          settle(() => {
            if (result === undefined) return resolve(undefined);
            try {
              resolve(JSON.parse(result));
            } catch {
              resolve(undefined);
            }
          }),
        { maxTimeout: timeoutS, minTimeout: Math.min(timeoutS, 3) },
      );
    });

  const session: EspruinoSession = {
    env,
    evaluate: (expr, timeoutS = 10) => evaluate(expr, timeoutS),
    // EspruinoTools calls a write's callback only for writes longer than one block (the "uploads under
    // 512 bytes hang" quirk), so completion is confirmed by a marker expression queued behind the code:
    // the device answers it only after it has run every line before it.
    send: async (code) => {
      if (!isOpen) throw new EspruinoError(`port ${port}: the connection to the device was lost`);
      const text = code
        .split("\n")
        .filter((l) => l.length)
        .map((l) => "\x10" + l + "\n")
        .join("");
      T.Core.Serial.write(text, true);
      const mark = await evaluate('"varde-sync"', 60);
      if (mark !== "varde-sync") throw new EspruinoError(`port ${port}: the device stopped answering during the upload`);
    },
    uploadFileCode: (name, contents) => T.Core.Utils.getUploadFileCode(name, contents),
    uploadChunk: 384, // EspruinoTools' CHUNKSIZE (core/utils.js): a multiple of 96 for atob
    reboot: async () => {
      if (!isOpen) throw new EspruinoError(`port ${port}: the connection to the device was lost`);
      T.Core.Serial.write("\x10load()\n", false);
      await new Promise((r) => setTimeout(r, 500)); // the tools pause 250 ms after load() themselves
    },
    output: () => out,
    connected: () => isOpen,
    close: async () => {
      if (isOpen) {
        closing = true;
        await new Promise<void>((resolve) => {
          onDisconnect.push(resolve);
          T.Core.Serial.close();
          setTimeout(resolve, 1000); // some transports never report the close
        });
      }
      isOpen = false;
      restore();
    },
  };
  return session;
}

/** A local directory of empty board JSON files for every Espruino build we know: nothing to download,
 * and no "file not found" noise for the boards Varde runs on. */
function offlineBoardJsonDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-boardjson-"));
  for (const b of allEspruinoBoards()) fs.writeFileSync(path.join(dir, b + ".json"), "{}");
  return dir;
}

function addExplicitSerialPath(T: Tools, port: string): void {
  const dev = T.Core.Serial.devices.find((d: { name: string }) => d.name === "Node Serial");
  if (!dev || dev.__vardeWrapped) {
    if (dev) dev.__vardeExtra = port;
    return;
  }
  const orig = dev.getPorts;
  dev.__vardeWrapped = true;
  dev.__vardeExtra = port;
  dev.getPorts = (cb: (ports: Array<{ path: string }>, instant: boolean) => void) =>
    orig((ports: Array<{ path: string; description?: string }> | undefined, instant: boolean) => {
      const list = ports ? ports.slice() : [];
      const extra = dev.__vardeExtra as string;
      if (extra && fs.existsSync(extra) && !list.some((p) => p.path === extra)) list.push({ path: extra, description: "serial port (given with --port)" });
      cb(list, instant);
    });
}
