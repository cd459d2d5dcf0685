// A simulated Varde device on a real pseudo-terminal pair (simulator/links/pty.ts), with the Espruino
// REPL emulation, for the technician-tool tests: the tools open `port` as they would open /dev/ttyUSB0.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Flash, RealtimeClock, SimDevice, SimRepl, openPtyPair, type PtyPair } from "../../../simulator/index.ts";

export interface SimOnPty {
  /** the tool side of the current pty pair (changes after replug) */
  port: string;
  dev: SimDevice;
  repl: SimRepl;
  clock: RealtimeClock;
  /** the cable is pulled: socat dies, both ttys vanish */
  unplug(): Promise<void>;
  /** a new cable: a fresh pty pair wired to the same device; `port` is updated */
  replug(): Promise<void>;
  stop(): Promise<void>;
}

export async function simOnPty(board: string, opts: { flash?: Flash; powerOn?: boolean } = {}): Promise<SimOnPty> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-tech-"));
  let n = 0;
  let pty: PtyPair = await openPtyPair(dir, `p${n}-`);
  const clock = new RealtimeClock();
  const repl = new SimRepl();
  const dev = new SimDevice({ board, clock, link: pty.device, providers: [repl.provider], flash: opts.flash, rtc: "keep" });
  repl.attach(dev);
  if (opts.powerOn !== false) dev.powerOn();
  let stopped = false;
  const sim: SimOnPty = {
    port: pty.hostPath,
    dev,
    repl,
    clock,
    unplug: () => pty.unplug(),
    replug: async () => {
      await pty.close();
      pty = await openPtyPair(dir, `p${++n}-`);
      dev.attachLink(pty.device);
      sim.port = pty.hostPath;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      dev.powerOff();
      clock.stop();
      await pty.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return sim;
}
