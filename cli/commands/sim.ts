// `varde sim`: runs one simulated device in real time — the firmware bundle in the Espruino simulator,
// its flash persisted in a file, its data port on a pseudo-terminal or a TCP port for a gateway or the
// espruino tools (an Espruino REPL answers while the console is on the data port). Prints LED/buzzer changes and console output; keys: p = press the button, h = hold /
// release, r = reboot, o = power off / on, q = quit (a line "p" + Enter works when stdin is not a TTY).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { FaultyLink, Flash, RealtimeClock, SimDevice, SimRepl, listenTcpLink, openPtyPair, type FaultOptions, type LinkEnd } from "../../simulator/index.ts";

export interface SimCliOptions {
  board: string;
  flash: string;
  bundle?: string;
  ptyLink?: string;
  tcp?: string;
  id?: string;
  key?: string;
  seed?: string;
  driftPpm?: string;
  pressAt?: string[];
  duration?: string;
  quiet?: boolean;
  /** commander's --no-repl sets this false */
  repl?: boolean;
  faultCorrupt?: string;
  faultDrop?: string;
  faultDelay?: string;
}

const stamp = (): string => new Date().toISOString().slice(11, 23);

/**
 * `varde flash` writes the identity with the device key through the console and reads it back, and the
 * console prints what it is asked to (docs/technician.md promises the key is never printed): a key next
 * to its name is hidden, and so is every 64-hex run on a line about the identity file. Bundle hashes
 * elsewhere stay readable.
 */
export function hideKeys(line: string): string {
  const named = line.replace(/(key["']?\s*[:=]\s*["']?)[0-9a-fA-F]{64}/gi, "$1<key hidden>");
  return /varde\.id/.test(named) ? named.replace(/[0-9a-fA-F]{64}/g, "<key hidden>") : named;
}

function fail(msg: string): never {
  throw new Error(msg);
}

async function loadBundle(board: Board, bundle: string | undefined): Promise<{ code: string; from: string }> {
  if (bundle) {
    if (!fs.existsSync(bundle)) fail(`--bundle ${bundle}: no such file; build one with "varde build ${board.id}" or omit --bundle`);
    return { code: fs.readFileSync(bundle, "latin1"), from: bundle };
  }
  const { buildFirmware } = await import("../../firmware/build/index.ts");
  const built = await buildFirmware(board.id, { noWrite: true });
  return { code: built.code, from: `firmware build for ${board.id} (${built.bytes} bytes)` };
}

export async function runSim(o: SimCliOptions, print: (line: string) => void = console.log): Promise<number> {
  const board = loadBoard(o.board);
  if (o.ptyLink && o.tcp !== undefined) fail("give either --pty-link or --tcp, not both");
  if ((o.id === undefined) !== (o.key === undefined)) fail("--id and --key go together (the identity written to Storage varde.id)");
  if (o.key !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.key)) fail(`--key must be 64 hex characters (32 bytes), got ${o.key.length} characters`);
  if (o.id !== undefined && !/^\d+$/.test(o.id)) fail(`--id must be a whole number, got "${o.id}"`);
  // numbers that would otherwise become NaN and quietly do nothing (a run that exits at once, no press)
  if (o.duration !== undefined && !(Number(o.duration) > 0)) fail(`--duration is seconds > 0, got "${o.duration}"`);
  if (o.driftPpm !== undefined && !Number.isFinite(Number(o.driftPpm))) fail(`--drift-ppm is a number of ppm (e.g. 2800 or -50), got "${o.driftPpm}"`);
  for (const t of o.pressAt ?? []) if (!(Number(t) >= 0)) fail(`--press-at takes seconds >= 0, got "${t}"`);
  if (o.tcp !== undefined && !(/^\d+$/.test(o.tcp) && Number(o.tcp) <= 65535)) fail(`--tcp is a port 0-65535 (0 = any free port), got "${o.tcp}"`);
  // a typo in a path must not create folders all over the file system
  for (const [flag, p] of [["--flash", o.flash], ["--pty-link", o.ptyLink]] as const) {
    if (p === undefined) continue;
    const dir = path.dirname(path.resolve(p));
    if (!fs.existsSync(dir)) fail(`${flag} ${p}: the folder ${dir} does not exist; create it first or choose a path in an existing folder (e.g. /tmp/${path.basename(p)})`);
  }

  const flash = new Flash({ capacity: board.memory.storage_bytes, path: o.flash });
  const say = (who: string, text: string): void => print(`${stamp()} ${who.padEnd(7)} ${text}`);

  if (o.id !== undefined) flash.write("varde.id", Buffer.from(JSON.stringify({ id: Number(o.id), key: o.key!.toLowerCase(), kind: board.kind })));
  if (o.bundle || !flash.exists(".bootcde")) {
    const b = await loadBundle(board, o.bundle);
    flash.write(".bootcde", Buffer.from(b.code, "latin1"));
    say("flash", `installed .bootcde from ${b.from}`);
  } else {
    say("flash", `running the .bootcde already in ${o.flash}`);
  }

  // checked before any port is opened, so a bad value leaves nothing behind
  let faults: FaultOptions | null = null;
  if (o.faultCorrupt || o.faultDrop || o.faultDelay) {
    const prob = (v: string | undefined, flag: string): number => {
      const p = v === undefined ? 0 : Number(v);
      if (!(p >= 0 && p <= 1)) fail(`${flag} is a probability between 0 and 1, got "${v}"`);
      return p;
    };
    const delay = o.faultDelay === undefined ? 0 : Number(o.faultDelay);
    if (!(delay >= 0)) fail(`--fault-delay is milliseconds >= 0, got "${o.faultDelay}"`);
    faults = { corruptByte: prob(o.faultCorrupt, "--fault-corrupt"), dropChunk: prob(o.faultDrop, "--fault-drop"), delayMs: [0, delay] };
  }

  const clock = new RealtimeClock({ seed: o.seed ?? "varde-sim" });
  let link: LinkEnd | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  if (o.ptyLink) {
    const target = path.resolve(o.ptyLink);
    const pty = await openPtyPair(path.dirname(target), "." + path.basename(target) + ".");
    try {
      fs.rmSync(target, { force: true });
    } catch {
      /* nothing there */
    }
    fs.symlinkSync(fs.realpathSync(pty.hostPath), target);
    closers.push(() => fs.rmSync(target, { force: true }), () => pty.close());
    link = pty.device;
    say("link", `data port on pseudo-terminal ${target} (open it like a serial port)`);
  } else if (o.tcp !== undefined) {
    const tcp = await listenTcpLink(Number(o.tcp));
    tcp.onConnection((c) => say("link", c ? "client connected" : "client disconnected"));
    closers.push(() => tcp.close());
    link = tcp;
    say("link", `data port on tcp://127.0.0.1:${tcp.port}`);
  }

  let dev: SimDevice;
  let btn: ReturnType<SimDevice["button"]> | null;
  let press: () => void;
  try {
    if (link && faults) {
      link = new FaultyLink(link, clock, faults);
      say("link", `faults: corrupt ${faults.corruptByte}/byte, drop ${faults.dropChunk}/chunk, delay up to ${(faults.delayMs as number[])[1]} ms`);
    }

    // an Espruino REPL wherever the console is (the data port at boot and in maintenance mode), so the
    // espruino tools and `varde flash/probe` can talk to this device as to a real one
    const repl = o.repl === false ? null : new SimRepl();
    dev = new SimDevice({ board, clock, flash, link, rtc: "keep", driftPpm: o.driftPpm ? Number(o.driftPpm) : 0, providers: repl ? [repl.provider] : [] });
    if (repl) repl.attach(dev);
    for (const led of dev.allLeds()) led.onChange((c) => say("led", `${led.name.replace(/^led_/, "")} ${c.state ? "ON" : "off"}`));
    if (typeof board.pins.buzzer === "string") dev.buzzer().onChange((c) => say("buzzer", c.state.on ? `on${c.state.freq ? " " + c.state.freq + " Hz" : ""}` : "off"));
    let pending = "";
    if (!o.quiet)
      dev.onOutput((text) => {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const l of lines) if (l.trim()) say("device", hideKeys(l.replace(/\r$/, "")));
      });

    dev.powerOn();
    say("power", `${board.id} on (${board.chip}, ${board.memory.jsvars} JsVars, ${board.memory.storage_bytes} bytes flash)`);
    btn = typeof board.pins.button === "string" ? dev.button() : null;
    press = (): void => {
      if (!btn) return say("button", "this board has no button pin");
      say("button", "press");
      btn.press(200);
    };
    for (const s of o.pressAt ?? []) clock.schedule(Number(s) * 1000, press);
  } catch (e) {
    // a failure after the data port was opened must not leave it (or socat) behind
    clock.stop();
    for (const c of closers.reverse()) await c();
    throw e;
  }

  return await new Promise<number>((resolve) => {
    let done = false;
    const quit = async (code: number): Promise<void> => {
      if (done) return;
      done = true;
      dev.powerOff();
      clock.stop();
      for (const c of closers.reverse()) await c();
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      if (dev.errors.length) say("errors", `${dev.errors.length} uncaught exception(s) in the firmware`);
      resolve(code);
    };
    const key = (k: string): void => {
      if (k === "p" || k === " ") press();
      else if (k === "h" && btn) {
        if (btn.pressed) {
          btn.release();
          say("button", "released");
        } else {
          btn.hold();
          say("button", "held down (h again to release)");
        }
      } else if (k === "r") {
        say("power", "reboot");
        dev.reboot();
      } else if (k === "o") {
        if (dev.powered) {
          dev.powerOff();
          say("power", "off (flash kept)");
        } else {
          dev.powerOn();
          say("power", "on");
        }
      } else if (k === "q" || k === "\u0003") void quit(0);
    };
    process.on("SIGINT", () => void quit(130));
    process.on("SIGTERM", () => void quit(143));
    if (o.duration) setTimeout(() => void quit(dev.errors.length ? 1 : 0), Number(o.duration) * 1000);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", (d: string) => {
        for (const ch of d) key(ch.toLowerCase());
      });
      say("keys", "p = press, h = hold/release, r = reboot, o = power off/on, q = quit");
    } else if (!o.duration) {
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", (d: string) => {
        for (const line of d.split("\n")) if (line.trim()) key(line.trim()[0].toLowerCase());
      });
      process.stdin.on("end", () => void quit(0));
    }
  });
}

export function register(program: Command): void {
  program
    .command("sim")
    .description("run a simulated device in real time (firmware bundle in the Espruino simulator, flash in a file)")
    .requiredOption("--board <id>", "board id (hardware/<id>.toml) or path to a board .toml")
    .requiredOption("--flash <file>", "flash image file; created when missing, kept between runs")
    .option("--bundle <file>", "firmware bundle to install as .bootcde (default: build it, when the flash has none)")
    .option("--pty-link <path>", "put the data port on a pseudo-terminal; <path> becomes the serial device for the gateway")
    .option("--tcp <port>", "put the data port on a TCP port (0 = any free port)")
    .option("--id <n>", "device id to write to Storage varde.id (with --key)")
    .option("--key <hex>", "32-byte device key, 64 hex characters (with --id)")
    .option("--seed <seed>", "seed for the device's random numbers")
    .option("--drift-ppm <ppm>", "device clock error in ppm (positive = fast)")
    .option("--press-at <seconds...>", "press the button at these times after start (scripted runs)")
    .option("--duration <seconds>", "quit after this many seconds (exit 1 if the firmware threw)")
    .option("--quiet", "do not print the device's console output")
    .option("--no-repl", "no Espruino REPL on the console device (input to it is dropped)")
    .option("--fault-corrupt <p>", "flip a bit in each byte on the data port with probability p (both directions)")
    .option("--fault-drop <p>", "drop each chunk on the data port with probability p")
    .option("--fault-delay <ms>", "delay each chunk by up to ms (order kept)")
    .action(async (opts: SimCliOptions) => {
      try {
        process.exitCode = await runSim(opts);
      } catch (e) {
        console.error(`varde sim: ${(e as Error).message}`);
        process.exitCode = 2;
      }
    });
}
