// A byte link to a device's data port for the technician tools: a serial path (USB/UART adapter or a
// simulator pseudo-terminal) or tcp://host:port. Errors say which port and what to do about it.
// The serial port is opened with an exclusive lock, so a port the gateway (or a terminal) holds is
// reported as busy instead of two programs silently sharing the bytes.
import * as fs from "node:fs";
import * as net from "node:net";
import { SerialPort } from "serialport";

export interface Link {
  readonly port: string;
  write(bytes: Uint8Array | string): void;
  onData(fn: (chunk: Buffer) => void): void;
  onClose(fn: () => void): void;
  close(): Promise<void>;
}

export class LinkError extends Error {}

export type PortKind = "serial" | "tcp" | "ble";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function portKind(port: string): PortKind {
  if (port.startsWith("tcp://")) return "tcp";
  if (MAC.test(port)) return "ble";
  return "serial";
}

export function parseTcp(port: string): { host: string; port: number } {
  const rest = port.slice("tcp://".length);
  const i = rest.lastIndexOf(":");
  const host = (i >= 0 ? rest.slice(0, i) : rest) || "localhost";
  const p = i >= 0 ? Number(rest.slice(i + 1)) : 23;
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new LinkError(`port ${port}: "${rest.slice(i + 1)}" is not a TCP port number; use tcp://host:port`);
  return { host, port: p };
}

/** Fails early, with the fix, when a serial path does not exist. */
export function checkSerialPath(path: string): void {
  if (!fs.existsSync(path))
    throw new LinkError(
      `port ${path} does not exist: is the device plugged in and powered? ` +
        `List serial ports with \`ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/\` and pass the right one with --port`,
    );
}

export async function openLink(port: string, baudRate = 115200): Promise<Link> {
  const kind = portKind(port);
  if (kind === "ble")
    throw new LinkError(`port ${port} is a BLE address; the Varde protocol check over BLE goes through the gateway's BLE transport, not this tool (use a USB cable or tcp:// for probe)`);
  if (kind === "tcp") return openTcp(port);
  checkSerialPath(port);
  const sp = new SerialPort({ path: port, baudRate, autoOpen: false, lock: true });
  await new Promise<void>((resolve, reject) =>
    sp.open((err) => {
      if (!err) return resolve();
      const m = err.message;
      if (/lock|busy|EBUSY|temporarily unavailable/i.test(m))
        reject(new LinkError(`port ${port} is busy: another program has it open (the Varde gateway? a serial terminal?). Stop it and retry`));
      else if (/EACCES|permission/i.test(m))
        reject(new LinkError(`port ${port}: permission denied; add yourself to the "dialout" group (sudo usermod -aG dialout $USER, then log in again)`));
      else reject(new LinkError(`port ${port}: cannot open: ${m}`));
    }),
  );
  // a write to a vanished device (cable pulled) fails with EIO: the close that follows is what callers act on
  sp.on("error", () => undefined);
  return {
    port,
    write: (b) => {
      if (sp.isOpen) sp.write(typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(b), () => undefined);
    },
    onData: (fn) => void sp.on("data", fn),
    onClose: (fn) => void sp.on("close", fn),
    close: () => new Promise<void>((r) => (sp.isOpen ? sp.close(() => r()) : r())),
  };
}

function openTcp(port: string): Promise<Link> {
  const { host, port: p } = parseTcp(port);
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ host, port: p });
    s.setNoDelay(true);
    s.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNREFUSED") reject(new LinkError(`port ${port}: connection refused: nothing listens on ${host}:${p}; is the device (or simulator) running and is the port right?`));
      else if (e.code === "ENOTFOUND") reject(new LinkError(`port ${port}: unknown host ${host}`));
      else reject(new LinkError(`port ${port}: ${e.message}`));
    });
    s.once("connect", () => {
      s.removeAllListeners("error");
      s.on("error", () => s.destroy());
      resolve({
        port,
        write: (b) => void s.write(typeof b === "string" ? b : Buffer.from(b).toString("latin1"), "latin1"),
        onData: (fn) => void s.on("data", fn),
        onClose: (fn) => void s.on("close", fn),
        close: () =>
          new Promise<void>((r) => {
            if (s.destroyed) return r();
            s.once("close", () => r());
            s.end();
            setTimeout(() => s.destroy(), 200); // a peer that never closes its side
          }),
      });
    });
  });
}
