// The real Espruino interpreters (upstream 2v29 built for Linux in the sizes of the boards; see
// ../shared/espruino/README.md) as a test fixture: the ground truth the simulator and the firmware are
// held to.
//
//   const box = await EspruinoSandbox.create("nrf52");       // own temp dir = own 256 KiB espruino.flash
//   const r = await box.run('print(new Uint8Array([1,2]).slice(1))');   // r.output === "[ 2 ]\n"
//   await box.writeStorage({ "varde.id": '{"id":1}', ".bootcde": bundle });
//   const dev = await box.boot({ telnet: true });             // as after a reset: .boot0-3, .bootcde
//   await dev.exec("print(process.memory().usage)");          // console input, output between markers
//   dev.telnetPort;  await dev.kill();  await box.dispose();
//
// Where the interpreters are: $VARDE_ESPRUINO_DIR, default ../shared/espruino from the repo root. Tests
// wrap themselves in describeEspruino(): when the interpreters are missing the tier FAILS under CI
// ($CI set) and is skipped elsewhere, with one line from test/support/espruino-setup.ts (vitest
// globalSetup) saying it did not run and how to get it. Never a silent pass.
//
// Facts of the Linux host builds this file relies on (targets/linux/main.c of the 2v29 source):
// * `espruino FILE` runs FILE without loading anything from flash (jsiInit(false)), then runs the event
//   loop until no timer is left (or quit()); an uncaught error at the top level exits with status 1.
// * `espruino` with no file is "a board after reset": it loads .boot0-3/.bootcde from espruino.flash in
//   the working directory and runs until quit(); the console is stdin/stdout. A line starting with
//   0x10 (DLE) is executed without echo. On end of input the console spins, so stdin stays open.
// * `--telnet` serves the console on TCP port 2323, fixed in the source. To give every interpreter its
//   own free port, boot({telnet}) runs it in a private network namespace (unshare -rn) and forwards a
//   free loopback port of this machine to it through a Unix socket (socat inside, a Node server out).
// * A UART is a file: Serial1.setup(baud, {path}) (or Serial1.path) opens a pseudo-terminal; openPtyPair()
//   makes a linked pair with socat, one end for the interpreter, one for the gateway or the test.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { until } from "./wait.ts";

export type EspruinoBuild = "nrf52" | "esp32" | "linux";

export interface EspruinoBuildInfo {
  /** wrapper script inside the interpreters' folder */
  wrapper: string;
  /** JsVars the build has (process.memory().total); 0 = grows on demand */
  jsvars: number;
  /** the board it is sized like */
  models: string;
  /** whether strings are Unicode-aware (the boards are not: 8-bit strings) */
  unicode: boolean;
}

export const ESPRUINO_BUILDS: Record<EspruinoBuild, EspruinoBuildInfo> = {
  nrf52: { wrapper: "espruino-nrf52", jsvars: 2630, models: "Puck.js-class nRF52832", unicode: false },
  esp32: { wrapper: "espruino-esp32", jsvars: 16383, models: "ESP32", unicode: false },
  linux: { wrapper: "espruino-linux", jsvars: 0, models: "the Linux host build", unicode: true },
};

/** Size of the espruino.flash file the Linux builds create in their working directory. */
export const ESPRUINO_FLASH_BYTES = 262144;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The folder holding the interpreters: $VARDE_ESPRUINO_DIR, default ../shared/espruino from the repo root. */
export function espruinoDir(): string {
  const env = process.env.VARDE_ESPRUINO_DIR;
  return env && env.trim() ? path.resolve(REPO_ROOT, env.trim()) : path.resolve(REPO_ROOT, "../shared/espruino");
}

export type EspruinoAvailability = { ok: true; dir: string } | { ok: false; dir: string; why: string };

let availability: EspruinoAvailability | null = null;

/** Whether the interpreters are there and run (checked once per process: one short run of each build). */
export function findEspruino(): EspruinoAvailability {
  if (availability) return availability;
  const dir = espruinoDir();
  const how = `set VARDE_ESPRUINO_DIR to the folder with espruino-nrf52/-esp32/-linux (default ../shared/espruino; see its README to build them) and install qemu-user (make setup)`;
  for (const b of Object.keys(ESPRUINO_BUILDS) as EspruinoBuild[]) {
    const w = path.join(dir, ESPRUINO_BUILDS[b].wrapper);
    if (!fs.existsSync(w)) return (availability = { ok: false, dir, why: `real Espruino interpreter ${w} is missing: ${how}` });
    const r = spawnSync(w, ["-e", "print(6*7)"], { cwd: os.tmpdir(), input: "", timeout: 30_000, encoding: "latin1" });
    if (r.error || !/\b42\b/.test(r.stdout ?? "")) {
      const detail = (r.error?.message ?? (r.stderr || r.stdout || `exit status ${r.status}`)).trim().split("\n").slice(-1)[0];
      return (availability = { ok: false, dir, why: `real Espruino interpreter ${w} does not run (${detail}): ${how}` });
    }
  }
  return (availability = { ok: true, dir });
}

/** Path of a build's wrapper; throws with what to do when the interpreters are missing. */
export function espruinoBinary(build: EspruinoBuild): string {
  const a = findEspruino();
  if (!a.ok) throw new Error(a.why);
  return path.join(a.dir, ESPRUINO_BUILDS[build].wrapper);
}

/**
 * describe() for tests on the real interpreters. Present: a normal describe. Missing: under CI ($CI set)
 * one failing test naming what is missing; elsewhere the block is skipped (espruino-setup.ts prints the
 * one line that says so).
 */
export function describeEspruino(name: string, fn: () => void): void {
  const a = findEspruino();
  if (a.ok) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it("needs the real Espruino interpreters (CI runs this tier)", () => {
        throw new Error(a.why);
      });
    });
    return;
  }
  describe.skip(name, fn);
}

// ---- running a program ------------------------------------------------------------------------------

export interface RunOptions {
  /** real ms before the interpreter is killed (default 30 s; the i386 builds run under qemu) */
  timeoutMs?: number;
  /** stop collecting output after this many characters (default 4 MB) */
  maxOutput?: number;
  /** extra arguments before the file */
  args?: string[];
}

export interface RunResult {
  /** console output: banner, prompts and terminal control sequences removed, "\r\n" as "\n" */
  output: string;
  /** exactly what the interpreter wrote to stdout (latin1: one char per byte) */
  raw: string;
  stderr: string;
  /** exit status: 0 after the event loop ran dry or quit(), 1 after an uncaught top-level error */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/** Removes what the console adds around program output (banner, ">" prompts, erase-line sequences). */
export function cleanConsole(raw: string): string {
  let s = raw;
  // banner of a file run: ends with the donation line and an empty line
  const donate = s.indexOf("http://espruino.com/Donate\r\n");
  if (donate >= 0) s = s.slice(donate + "http://espruino.com/Donate\r\n".length).replace(/^\r\n/, "");
  // the prompt ">" is erased ("\r" + ESC[J) before output that arrives while it is shown
  s = s.replace(/>\r\x1b\[J/g, "").replace(/\r\x1b\[J/g, "");
  s = s.replace(/\r\n/g, "\n");
  // the prompt left at the end
  s = s.replace(/\n?>$/, (m) => (m.startsWith("\n") ? "\n" : ""));
  return s;
}

/** A latin1 JS string literal for any text/bytes: survives Espruino's 8-bit parser unchanged. */
export function jsString(value: string | Uint8Array): string {
  const s = typeof value === "string" ? value : Buffer.from(value).toString("latin1");
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`jsString: character U+${c.toString(16)} at ${i} is not a byte; pass UTF-8 bytes (Buffer.from(text))`);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/**
 * A temporary working directory for one interpreter build, with its own espruino.flash (the flash
 * Storage of "one device"). Runs are sequential per sandbox; use several sandboxes to run in parallel.
 */
export class EspruinoSandbox {
  private seq = 0;
  private procs = new Set<EspruinoProcess>();

  private constructor(
    readonly build: EspruinoBuild,
    readonly dir: string,
    private readonly ownsDir: boolean,
  ) {}

  /** A fresh sandbox (empty flash) in a new temp dir, or in `dir` when given (kept on dispose). */
  static async create(build: EspruinoBuild, opts: { dir?: string } = {}): Promise<EspruinoSandbox> {
    espruinoBinary(build); // fail early with the message saying what is missing
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `varde-espruino-${build}-`));
    fs.mkdirSync(dir, { recursive: true });
    return new EspruinoSandbox(build, dir, !opts.dir);
  }

  get binary(): string {
    return espruinoBinary(this.build);
  }

  /** the flash file (created by the interpreter on first use of Storage) */
  get flashPath(): string {
    return path.join(this.dir, "espruino.flash");
  }

  /** Runs `code` as a file (nothing is loaded from flash) until no timer is left, quit() or the timeout. */
  async run(code: string, opts: RunOptions = {}): Promise<RunResult> {
    const file = path.join(this.dir, `run-${++this.seq}.js`);
    fs.writeFileSync(file, Buffer.from(code, "latin1"));
    try {
      return await this.runFile(file, opts);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  /** Runs a file that is already on disk (see run()). */
  runFile(file: string, opts: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const maxOutput = opts.maxOutput ?? 4_000_000;
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, [...(opts.args ?? []), file], { cwd: this.dir, stdio: ["pipe", "pipe", "pipe"] });
      let raw = "";
      let stderr = "";
      let timedOut = false;
      child.stdout!.setEncoding("latin1");
      child.stderr!.setEncoding("latin1");
      child.stdout!.on("data", (d: string) => {
        if (raw.length < maxOutput) raw += d;
      });
      child.stderr!.on("data", (d: string) => {
        if (stderr.length < 65536) stderr += d;
      });
      child.stdin!.on("error", () => undefined); // exited before reading: nothing to deliver
      // stdin stays open (never ended): on end of input the console spins
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${this.binary}: ${e.message}`));
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        child.stdin!.destroy();
        resolve({ output: cleanConsole(raw), raw, stderr, code, signal, timedOut });
      });
    });
  }

  /** run(), and throws (with the output) unless it ended by itself with status 0 and printed no "Uncaught". */
  async runOk(code: string, opts: RunOptions = {}): Promise<string> {
    const r = await this.run(code, opts);
    if (r.timedOut || r.code !== 0 || /\bUncaught\b/.test(r.output))
      throw new Error(`espruino-${this.build} in ${this.dir}: ${r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`}${/Uncaught/.test(r.output) ? ", uncaught error" : ""}; output:\n${r.output.slice(-4000)}`);
    return r.output;
  }

  // ---- Storage (written and read by the interpreter itself: it is the authority on the format) ----

  /**
   * Writes files into this sandbox's flash with require("Storage").write, in pieces small enough for
   * the 2,630-JsVar build (a file is created at its full size, then programmed piece by piece).
   */
  async writeStorage(files: Record<string, string | Uint8Array>, opts: { chunk?: number } = {}): Promise<void> {
    const chunk = opts.chunk ?? 1024;
    // a file run copies its whole source into RAM (jspEvaluate), so the pieces go in several runs of
    // at most ~12 KB of source each: well within the 2,630-JsVar build
    const runs: string[][] = [[]];
    let size = 0;
    const add = (stmt: string) => {
      if (size + stmt.length > 12_000 && runs[runs.length - 1].length) {
        runs.push([]);
        size = 0;
      }
      runs[runs.length - 1].push(stmt);
      size += stmt.length;
    };
    for (const [name, value] of Object.entries(files)) {
      const bytes = typeof value === "string" ? Buffer.from(value, "latin1") : Buffer.from(value);
      if (bytes.length === 0) throw new Error(`writeStorage: "${name}" is empty; Espruino cannot create a zero-length file`);
      for (let off = 0; off < bytes.length; off += chunk) {
        const piece = jsString(bytes.subarray(off, off + chunk));
        add(off === 0 ? `S.write(${jsString(name)},${piece},0,${bytes.length});` : `S.write(${jsString(name)},${piece},${off});`);
      }
    }
    for (const r of runs) if (r.length) await this.runOk('var S=require("Storage");\n' + r.join("\n") + "\n");
    // read back: the interpreter must give the same bytes (a file it refused fails here, by name)
    for (const [name, value] of Object.entries(files)) {
      const got = await this.readStorage(name);
      const want = typeof value === "string" ? Buffer.from(value, "latin1") : Buffer.from(value);
      if (!got || Buffer.compare(Buffer.from(got), want) !== 0)
        throw new Error(`writeStorage: "${name}" reads back ${got ? got.length + " different bytes" : "as missing"} from ${this.flashPath} (wrote ${want.length})`);
    }
  }

  /** A file's bytes as the interpreter reads them (require("Storage").read), or undefined when missing. */
  async readStorage(name: string): Promise<Uint8Array | undefined> {
    const out = await this.runOk(
      `var S=require("Storage"),n=${jsString(name)},d=S.read(n);` +
        `if(d===undefined)print("@@missing");else{print("@@len "+d.length);` +
        `for(var o=0;o<d.length;o+=480)print("@@b "+btoa(S.read(n,o,Math.min(480,d.length-o))));}`,
    );
    if (/^@@missing$/m.test(out)) return undefined;
    const len = Number(/^@@len (\d+)$/m.exec(out)?.[1]);
    const parts = [...out.matchAll(/^@@b (.*)$/gm)].map((m) => Buffer.from(m[1], "base64"));
    const data = Buffer.concat(parts);
    if (data.length !== len) throw new Error(`readStorage("${name}"): got ${data.length} of ${len} bytes`);
    return new Uint8Array(data);
  }

  /** Storage.list() as the interpreter gives it (StorageFile chunks included, e.g. "log\x01"). */
  async listStorage(): Promise<string[]> {
    const out = await this.runOk(`require("Storage").list().forEach(function(n){print("@@f "+btoa(n));});`);
    return [...out.matchAll(/^@@f (.*)$/gm)].map((m) => Buffer.from(m[1], "base64").toString("latin1"));
  }

  // ---- booting as a device -------------------------------------------------------------------------

  /**
   * Starts the interpreter as a board after a reset: it runs .boot0-3 and .bootcde from this sandbox's
   * flash, then stays up with its console on stdin/stdout (and on a telnet port with `telnet`).
   */
  async boot(opts: BootOptions = {}): Promise<EspruinoProcess> {
    const p = await EspruinoProcess.start(this, opts);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Kills what this sandbox started and removes its temp dir (a dir passed to create() is kept). */
  async dispose(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.kill()));
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface BootOptions {
  /** serve the console over telnet on a free loopback port (EspruinoProcess.telnetPort) */
  telnet?: boolean;
  /** keep at most this many characters of output (default 4 MB, oldest dropped) */
  maxOutput?: number;
}

/** One running interpreter started by EspruinoSandbox.boot(). */
export class EspruinoProcess {
  private rawOut = "";
  private dropped = 0;
  private marks = 0;
  private stderrText = "";
  private server: net.Server | null = null;
  /** local TCP port of the telnet console (when booted with telnet) */
  telnetPort: number | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(
    readonly sandbox: EspruinoSandbox,
    private readonly child: ChildProcess,
    private readonly maxOutput: number,
    private readonly group: boolean,
  ) {
    child.stdout!.setEncoding("latin1");
    child.stderr!.setEncoding("latin1");
    child.stdout!.on("data", (d: string) => {
      this.rawOut += d;
      if (this.rawOut.length > this.maxOutput) {
        const cut = this.rawOut.length - this.maxOutput;
        this.rawOut = this.rawOut.slice(cut);
        this.dropped += cut;
      }
    });
    child.stderr!.on("data", (d: string) => {
      if (this.stderrText.length < 65536) this.stderrText += d;
    });
    child.stdin!.on("error", () => undefined);
    this.exited = new Promise((resolve) =>
      child.once("close", (code, signal) => {
        this.exitInfo = { code, signal };
        this.server?.close();
        resolve(this.exitInfo);
      }),
    );
  }

  static async start(box: EspruinoSandbox, opts: BootOptions): Promise<EspruinoProcess> {
    const bin = box.binary;
    const maxOutput = opts.maxOutput ?? 4_000_000;
    if (!opts.telnet) {
      const child = spawn(bin, [], { cwd: box.dir, stdio: ["pipe", "pipe", "pipe"] });
      await spawned(child, bin);
      return new EspruinoProcess(box, child, maxOutput, false);
    }
    // private network namespace: the fixed port 2323 is this interpreter's alone; a Unix socket in the
    // sandbox crosses the namespace boundary
    const sock = path.join(box.dir, `telnet-${process.pid}-${Date.now()}.sock`);
    const script = `ip link set lo up || exit 97\nsocat UNIX-LISTEN:${shq(sock)},fork TCP:127.0.0.1:2323 &\nexec ${shq(bin)} --telnet\n`;
    const child = spawn("unshare", ["-rn", "sh", "-c", script], { cwd: box.dir, stdio: ["pipe", "pipe", "pipe"], detached: true });
    await spawned(child, "unshare (util-linux)");
    const p = new EspruinoProcess(box, child, maxOutput, true);
    try {
      await until(() => fs.existsSync(sock) || p.exitInfo !== null, 10_000, `the telnet socket ${sock} of espruino-${box.build}`);
    } catch (e) {
      await p.kill();
      throw e;
    }
    // the interpreter opens its telnet listener once it is up: wait for it in the namespace's own socket
    // table (/proc/PID/net/tcp of the interpreter: local port 2323 = 0x0913, state 0A = LISTEN)
    const listening = () => {
      try {
        return /^\s*\d+: [0-9A-F]+:0913 [0-9A-F]+:0000 0A /m.test(fs.readFileSync(`/proc/${child.pid}/net/tcp`, "latin1"));
      } catch {
        return false;
      }
    };
    if (!p.exitInfo) {
      try {
        await until(() => listening() || p.exitInfo !== null, 20_000, `espruino-${box.build} to listen on its telnet port`);
      } catch (e) {
        await p.kill();
        throw e;
      }
    }
    if (p.exitInfo)
      throw new Error(
        `espruino-${box.build} --telnet in a private network namespace exited (${p.exitInfo.code ?? p.exitInfo.signal}): ${p.stderrText.trim().slice(-500)}; ` +
          `it needs unprivileged user namespaces (unshare -rn), iproute2 (ip) and socat`,
      );
    const server = net.createServer((c) => {
      const up = net.connect(sock);
      c.pipe(up).pipe(c);
      const end = () => {
        c.destroy();
        up.destroy();
      };
      c.on("error", end);
      up.on("error", end);
      c.on("close", end);
      up.on("close", end);
    });
    p.server = server;
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(0, "127.0.0.1", () => res());
    });
    p.telnetPort = (server.address() as net.AddressInfo).port;
    return p;
  }

  /** everything printed so far, cleaned (see cleanConsole) */
  get output(): string {
    // after the boot code has run the console prints a newline and its first prompt ("\r\n>"): not
    // program output (later prompts are a bare ">")
    let raw = this.rawOut;
    const first = this.dropped === 0 ? raw.indexOf("\r\n>") : -1;
    if (first >= 0) raw = raw.slice(0, first) + raw.slice(first + 2);
    return cleanConsole(raw);
  }

  /** what the interpreter wrote to stdout, as bytes-in-a-string (latin1) */
  get raw(): string {
    return this.rawOut;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Types text on the console (stdin), as a terminal would. */
  send(text: string | Uint8Array): void {
    if (!this.running) throw new Error(`espruino-${this.sandbox.build} has exited (${this.exitInfo?.code ?? this.exitInfo?.signal}); cannot send`);
    this.child.stdin!.write(typeof text === "string" ? Buffer.from(text, "latin1") : Buffer.from(text));
  }

  /** Resolves when the cleaned output matches `pattern` (searched from `from`, a character offset in `output`). */
  async waitFor(pattern: string | RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    const test = () => {
      const o = this.output.slice(from);
      return typeof pattern === "string" ? o.includes(pattern) : pattern.test(o);
    };
    await until(() => test() || !this.running, timeoutMs, `espruino-${this.sandbox.build} to print ${String(pattern)}; output so far:\n${this.output.slice(-2000)}`);
    if (!test()) throw new Error(`espruino-${this.sandbox.build} exited (${this.exitInfo?.code ?? this.exitInfo?.signal}) before printing ${String(pattern)}; output:\n${this.output.slice(-2000)}`);
    return this.output;
  }

  /**
   * Runs one line of code on the console (without echo) and returns what it printed, including
   * "Uncaught ..." when it threw. Multi-line code is joined with spaces (comments are not allowed then).
   */
  async exec(code: string, timeoutMs = 30_000): Promise<string> {
    const n = ++this.marks;
    const open = `@@exec-${n}-start@@`;
    const close = `@@exec-${n}-end@@`;
    const line = code.replace(/\r?\n/g, " ");
    this.send(`\x10print(${jsString(open)})\n\x10${line}\n\x10print(${jsString(close)})\n`);
    await this.waitFor(close, timeoutMs);
    const o = this.output;
    const a = o.lastIndexOf(open + "\n");
    const b = o.lastIndexOf(close);
    let text = o.slice(a + open.length + 1, b);
    // each console line leaves a prompt ">" before the next one's output
    text = text.replace(/^>/, "").replace(/>$/, "");
    return text;
  }

  /** Power cut: SIGKILL, nothing runs after it. Resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.exitInfo) return;
    try {
      if (this.group && this.child.pid) process.kill(-this.child.pid, "SIGKILL");
      else this.child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
    await this.exited;
    this.server?.close();
  }

  /** Asks the interpreter to end (quit()) and waits for it; kills it after `timeoutMs`. */
  async quit(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.send("\x10quit()\n");
    const t = setTimeout(() => void this.kill(), timeoutMs);
    await this.exited;
    clearTimeout(t);
    if (this.group && this.child.pid) {
      try {
        process.kill(-this.child.pid, "SIGKILL"); // the namespace's socat
      } catch {
        /* gone with it */
      }
    }
  }
}

function shq(s: string): string {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

function spawned(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (e) => reject(new Error(`cannot start ${what}: ${e.message}`)));
  });
}

// ---- a pseudo-terminal pair for Serial1.path ----------------------------------------------------------

export interface InterpreterPty {
  /** the end the interpreter opens: Serial1.setup(115200, { path: devicePath }) */
  devicePath: string;
  /** the end the gateway or the test opens */
  hostPath: string;
  /** kills socat: both ends vanish */
  close(): Promise<void>;
}

/**
 * Two linked pseudo-terminals (socat), neither opened here: the interpreter opens one as its UART,
 * the gateway (or simulator/links/pty.ts openSerialLinkEnd) the other. Needs Debian's socat.
 */
export async function openInterpreterPty(dir: string, prefix = "uart-"): Promise<InterpreterPty> {
  const hostPath = path.join(dir, prefix + "host");
  const devicePath = path.join(dir, prefix + "device");
  const proc = spawn("socat", [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (b) => (err += b));
  let failed: Error | null = null;
  proc.once("error", (e) => (failed = e));
  await until(() => failed !== null || proc.exitCode !== null || (fs.existsSync(hostPath) && fs.existsSync(devicePath)), 5000, `socat to create ${hostPath} and ${devicePath}`);
  if (failed) throw new Error(`cannot start socat (${(failed as Error).message}): apt-get install -y socat, or make setup`);
  if (proc.exitCode !== null) throw new Error(`socat exited with ${proc.exitCode}: ${err}`);
  return {
    hostPath,
    devicePath,
    close: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once("exit", () => r());
        proc.kill("SIGKILL");
      }),
  };
}
