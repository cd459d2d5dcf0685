// A simulated Varde device on a real pseudo-terminal pair (socat), with the Espruino REPL emulation, for
// the technician-tool tests: the tools open `port` exactly as they would open /dev/ttyUSB0.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SerialPort } from "serialport";
import { Flash, RealtimeClock, SimDevice, type LinkEnd } from "../../../simulator/index.ts";
import { SimRepl } from "../../../simulator/repl/attach.ts";

export interface SimOnPty {
  /** the tool side of the pty pair */
  port: string;
  dev: SimDevice;
  repl: SimRepl;
  clock: RealtimeClock;
  /** cuts the cable: the device side of the pty closes (the tool sees the port vanish) */
  unplug(): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function serialLink(sp: SerialPort): LinkEnd {
  const ls: Array<(b: Uint8Array) => void> = [];
  sp.on("data", (b: Buffer) => ls.slice().forEach((l) => l(new Uint8Array(b))));
  return {
    write: (b) => {
      if (sp.isOpen) sp.write(Buffer.from(b));
    },
    onData: (cb) => {
      ls.push(cb);
      return () => ls.splice(ls.indexOf(cb), 1);
    },
    close: () => {
      if (sp.isOpen) sp.close();
    },
  };
}

export async function simOnPty(board: string, opts: { flash?: Flash; powerOn?: boolean } = {}): Promise<SimOnPty> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-tech-"));
  const tool = path.join(dir, "tool");
  const devSide = path.join(dir, "dev");
  const socat: ChildProcess = spawn("socat", [`pty,raw,echo=0,link=${tool}`, `pty,raw,echo=0,link=${devSide}`], { stdio: "ignore" });
  await waitFor(() => fs.existsSync(tool) && fs.existsSync(devSide), 5000, "socat pty pair");
  const sp = new SerialPort({ path: devSide, baudRate: 115200 });
  await new Promise<void>((res, rej) => sp.once("open", () => res()).once("error", rej));
  const clock = new RealtimeClock();
  const repl = new SimRepl();
  const dev = new SimDevice({ board, clock, link: serialLink(sp), providers: [repl.provider], flash: opts.flash, rtc: "keep" });
  repl.attach(dev);
  if (opts.powerOn !== false) dev.powerOn();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    dev.powerOff();
    clock.stop();
    if (sp.isOpen) await new Promise<void>((r) => sp.close(() => r()));
    socat.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return {
    port: tool,
    dev,
    repl,
    clock,
    unplug: async () => {
      socat.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 50));
    },
    stop,
  };
}
