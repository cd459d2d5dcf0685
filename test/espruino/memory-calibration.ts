// Memory of the same programs on the simulator and on the real interpreter, in JsVars
// (process.memory().usage). Used by memory-calibration.test.ts to hold the simulator's model
// (simulator/espruino/memory.ts) within 10 % of Espruino, and by the firmware's tests to compare a
// bundle's figures at given moments (compareBundleMemory).
//
// Programs are measured as deployed: their code is in flash (a Storage file evaluated at the top level,
// as .bootcde is), so function bodies cost a reference, not their text. One interpreter run measures a
// whole list: before and after each program, usage is read; the difference is that program's cost.
// Each program must only add globals with names no other program uses.
import { VirtualClock } from "../../simulator/clock.ts";
import { SimDevice } from "../../simulator/device.ts";
import { Flash } from "../../simulator/flash.ts";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { EspruinoSandbox, ESPRUINO_FLASH_BYTES, jsString, type EspruinoBuild } from "../support/espruino.ts";

export interface MemoryProgram {
  name: string;
  code: string;
}

export type SizedBuild = Exclude<EspruinoBuild, "linux">;

/** The simulated board that stands for an interpreter build. */
export function boardFor(build: SizedBuild): Board {
  const b = loadBoard(build === "nrf52" ? "alarm-nrf52" : "dispenser-esp32");
  return { ...b, memory: { ...b.memory, storage_bytes: ESPRUINO_FLASH_BYTES } };
}

const fileName = (i: number) => "mp" + i;

/** .bootcde that evaluates each program file in turn at the top level and prints usage around it. */
function driver(n: number): string {
  return (
    `var __S = require("Storage");\n` +
    `print("@@base " + process.memory().usage);\n` +
    Array.from({ length: n }, (_, i) => `eval(__S.read(${jsString(fileName(i))}));\nprint("@@m ${i} " + process.memory().usage);\n`).join("") +
    `print("@@done");\n`
  );
}

function deltas(output: string, n: number): number[] {
  const base = Number(/^@@base (\d+)$/m.exec(output)?.[1]);
  if (!Number.isFinite(base)) throw new Error(`no memory figure in the output:\n${output.slice(0, 2000)}`);
  const out: number[] = [];
  let prev = base;
  for (let i = 0; i < n; i++) {
    const m = new RegExp(`^@@m ${i} (\\d+)$`, "m").exec(output);
    if (!m) throw new Error(`program ${i} did not complete:\n${output.slice(-2000)}`);
    out.push(Number(m[1]) - prev);
    prev = Number(m[1]);
  }
  return out;
}

/** Cost of each program in JsVars on the real interpreter. */
export async function measureReal(programs: MemoryProgram[], build: SizedBuild): Promise<number[]> {
  const box = await EspruinoSandbox.create(build);
  try {
    const files: Record<string, string> = { ".bootcde": driver(programs.length) };
    programs.forEach((p, i) => (files[fileName(i)] = p.code));
    await box.writeStorage(files);
    const dev = await box.boot();
    try {
      await dev.waitFor(/^@@done$|OUT OF MEMORY|Uncaught/m, 120_000);
      if (/OUT OF MEMORY|Uncaught/.test(dev.output)) throw new Error(`espruino-${build}: ${dev.output.slice(-2000)}`);
      return deltas(dev.output, programs.length);
    } finally {
      await dev.kill();
    }
  } finally {
    await box.dispose();
  }
}

/** Cost of each program in JsVars as the simulator estimates it. */
export function measureSim(programs: MemoryProgram[], build: SizedBuild): number[] {
  const board = boardFor(build);
  const flash = new Flash({ capacity: board.memory.storage_bytes });
  flash.write(".bootcde", Buffer.from(driver(programs.length), "latin1"));
  programs.forEach((p, i) => flash.write(fileName(i), Buffer.from(p.code, "latin1")));
  const dev = new SimDevice({ board, clock: new VirtualClock(), flash, memoryRefreshMs: 0 });
  dev.powerOn();
  if (dev.errors.length) throw new Error(`simulator: ${dev.errors.map((e) => e.text).join("; ")}`);
  return deltas(dev.output, programs.length);
}

// ---- a bundle at given moments -------------------------------------------------------------------------

export interface MemoryMoment {
  label: string;
  /** console code run on both before reading (one line; e.g. a call into the bundle's test hooks) */
  run?: string;
  /** ms to let the program run before reading: real time on the interpreter, virtual in the simulator */
  waitMs?: number;
}

export interface MemoryComparison {
  label: string;
  /** process.memory().usage in the simulator */
  sim: number;
  /** the same on the real interpreter, less what the console line that reads it costs there */
  real: number;
  /** (sim - real) / real */
  error: number;
}

/** usage read over the console, minus the blocks the console line itself takes while it runs */
async function consoleOverhead(build: SizedBuild): Promise<number> {
  const box = await EspruinoSandbox.create(build);
  try {
    await box.writeStorage({ ".bootcde": 'print("@@boot " + process.memory().usage);' });
    const dev = await box.boot();
    try {
      await dev.waitFor(/@@boot \d+\n/);
      const boot = Number(/@@boot (\d+)/.exec(dev.output)![1]);
      const line = Number((await dev.exec("print(process.memory().usage)")).trim());
      return line - boot;
    } finally {
      await dev.kill();
    }
  } finally {
    await box.dispose();
  }
}

/**
 * Installs `files` (.bootcde = the bundle, plus whatever it reads: identity, state...) in the flash of
 * a simulated device of the build's board and of the real interpreter, boots both as after a reset,
 * and reads process.memory().usage at each moment. For checking the simulator's model against a
 * firmware bundle: within 10 % is the target (memory-calibration.test.ts).
 */
export async function compareBundleMemory(opts: {
  build: SizedBuild;
  files: Record<string, string | Uint8Array>;
  /** code run once before the boot, on both (e.g. writing the identity with Storage.writeJSON as `varde flash` does) */
  setup?: string;
  moments: MemoryMoment[];
  board?: Board;
}): Promise<MemoryComparison[]> {
  const board = opts.board ?? boardFor(opts.build);
  // simulator
  const flash = new Flash({ capacity: board.memory.storage_bytes });
  for (const [n, v] of Object.entries(opts.files)) flash.write(n, typeof v === "string" ? Buffer.from(v, "latin1") : v);
  const clock = new VirtualClock();
  if (opts.setup) {
    const boot = flash.read(".bootcde");
    flash.erase(".bootcde");
    const pre = new SimDevice({ board, clock, flash });
    pre.powerOn();
    pre.evaluate(opts.setup);
    pre.powerOff();
    if (boot) flash.write(".bootcde", boot);
  }
  const dev = new SimDevice({ board, clock, flash, memoryRefreshMs: 0 });
  dev.powerOn();
  const sim: number[] = [];
  for (const m of opts.moments) {
    if (m.run) dev.evaluate(m.run);
    if (m.waitMs) clock.runFor(m.waitMs);
    sim.push(dev.evaluate("process.memory().usage") as number);
  }
  dev.powerOff();
  // the real interpreter
  const overhead = await consoleOverhead(opts.build);
  const box = await EspruinoSandbox.create(opts.build);
  const real: number[] = [];
  try {
    await box.writeStorage(opts.files);
    if (opts.setup) await box.runOk(opts.setup);
    const p = await box.boot();
    try {
      await new Promise((r) => setTimeout(r, 300)); // boot code and onInit
      for (const m of opts.moments) {
        if (m.run) await p.exec(m.run);
        if (m.waitMs) await new Promise((r) => setTimeout(r, m.waitMs));
        const out = await p.exec("print(process.memory().usage)");
        const n = Number(/^(\d+)\s*$/m.exec(out)?.[1]);
        if (!Number.isFinite(n)) throw new Error(`espruino-${opts.build} at "${m.label}": no memory figure in ${JSON.stringify(out)}; output:\n${p.output.slice(-2000)}`);
        real.push(n - overhead);
      }
    } finally {
      await p.kill();
    }
  } finally {
    await box.dispose();
  }
  return opts.moments.map((m, i) => ({ label: m.label, sim: sim[i], real: real[i], error: (sim[i] - real[i]) / real[i] }));
}
