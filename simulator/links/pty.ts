// A real pseudo-terminal pair for the serial path: socat makes two linked ptys; the simulated device
// holds one end (opened with serialport, as a USB-serial adapter would be), the gateway or a tool
// opens the other by its path exactly as it would open /dev/ttyUSB0.
//   const pty = await openPtyPair(dir);  // pty.hostPath → the gateway; pty.device → SimDevice link
//   await pty.unplug();                  // the cable is pulled: both ttys vanish (socat killed)
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SerialPort } from "serialport";
import { DataListeners, type LinkEnd } from "./link.ts";

export interface PtyPair {
  /** path the gateway/tool opens */
  hostPath: string;
  /** path of the device's end */
  devicePath: string;
  /** the device's end as a link for SimDevice */
  device: LinkEnd;
  /** kills socat: both ttys vanish, as when a USB device is unplugged */
  unplug(): Promise<void>;
  close(): Promise<void>;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens an existing serial path (a pty end, a tty) as a LinkEnd. */
export async function openSerialLinkEnd(p: string, baudRate = 115200): Promise<{ link: LinkEnd; port: SerialPort }> {
  const port = new SerialPort({ path: p, baudRate, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(new Error(`${p}: cannot open the device end of the pty: ${e.message}`)) : res())));
  const ls = new DataListeners();
  port.on("data", (b: Buffer) => ls.emit(new Uint8Array(b)));
  port.on("error", () => undefined); // a vanished pty surfaces as close; nothing to act on here
  const link: LinkEnd = {
    write: (b) => {
      if (port.isOpen) port.write(Buffer.from(b));
    },
    onData: (cb) => ls.add(cb),
    close: () => {
      if (port.isOpen) port.close();
    },
  };
  return { link, port };
}

/** Makes a pty pair under `dir` (names `<prefix>host`, `<prefix>device`). Needs Debian's socat. */
export async function openPtyPair(dir: string, prefix = "pty-"): Promise<PtyPair> {
  const hostPath = path.join(dir, prefix + "host");
  const devicePath = path.join(dir, prefix + "device");
  let proc: ChildProcess;
  try {
    proc = spawn("socat", [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    throw new Error(`cannot start socat (${(e as Error).message}): install it with "apt-get install -y socat" or run make setup`);
  }
  let stderr = "";
  proc.stderr!.on("data", (b) => (stderr += b));
  let spawnError: Error | null = null;
  proc.once("error", (e) => (spawnError = e));
  await until(() => spawnError !== null || proc.exitCode !== null || (fs.existsSync(hostPath) && fs.existsSync(devicePath)), 5000, `socat did not create ${hostPath} within 5 s: ${stderr}`);
  if (spawnError) throw new Error(`cannot start socat (${(spawnError as Error).message}): install it with "apt-get install -y socat" or run make setup`);
  if (proc.exitCode !== null) throw new Error(`socat exited with ${proc.exitCode}: ${stderr}`);
  const { link, port } = await openSerialLinkEnd(devicePath);
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((r) => {
      proc.once("exit", () => r());
      proc.kill("SIGKILL");
    });
  };
  return {
    hostPath,
    devicePath,
    device: link,
    unplug: kill,
    close: async () => {
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
      await kill();
    },
  };
}
