// The simulator rows of `make bench`: what the project promises the simulator does, timed. Each runs the
// firmware bundle in dist/firmware/ (built by `make build`; built here in memory when missing) through the
// simulator's own API, and reports simulated time per real second.
//   dispenser  a dispenser scenario (default: test/scenarios/mixed-30-days.toml, 30 days × 4 doses a day,
//              a patient, refills, a drifting clock) with its oracle checks
//   fleet      N alarm buttons (SimFleet) idling for a day in virtual time: heartbeats, handshake retries
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildFirmware } from "../../firmware/build/index.ts";
import { SimFleet, VirtualClock } from "../../simulator/index.ts";
import { loadScenario } from "../../simulator/scenarios/format.ts";
import { runScenario } from "../../simulator/scenarios/runner.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface SimRow {
  name: string;
  what: string;
  simulatedHours: number;
  wallMs: number;
  /** simulated time per real time */
  speed: number;
  ok: boolean;
  detail: string;
}

/** The bundle in dist/firmware/<board>.js when `make build` made one, else built now (not written). */
async function bundle(board: string): Promise<{ code: string; from: string }> {
  const f = path.join(ROOT, "dist", "firmware", `${board}.js`);
  if (fs.existsSync(f)) return { code: fs.readFileSync(f, "utf8"), from: path.relative(ROOT, f) };
  return { code: (await buildFirmware(board, { noWrite: true })).code, from: "built in memory" };
}

export async function dispenserRow(file = path.join(ROOT, "test", "scenarios", "mixed-30-days.toml")): Promise<SimRow> {
  const sc = loadScenario(file);
  const b = await bundle(sc.board);
  const r = await runScenario(sc, { bundle: b.code });
  const hours = r.days * 24;
  return {
    name: "dispenser",
    what: `${r.days} days of a ${sc.schedule?.doses?.length ?? "?"}-dose dispenser (${path.relative(ROOT, file)})`,
    simulatedHours: hours,
    wallMs: r.wallMs,
    speed: (hours * 3600_000) / r.wallMs,
    ok: r.ok,
    detail: `${r.events} events, ${r.dispensed} compartments, ${r.simEvents} virtual-clock events; oracle ${r.ok ? "passed" : `FAILED: ${r.failures.slice(0, 2).join("; ")}`}; bundle ${b.from}`,
  };
}

export async function fleetRow(count = 1000, hours = 24): Promise<SimRow> {
  const b = await bundle("alarm-esp32");
  const clock = new VirtualClock({ seed: 1 });
  const t0 = Date.now();
  const fleet = new SimFleet({ board: "alarm-esp32", clock, count, bundle: b.code });
  for (const d of fleet.devices) d.powerOn();
  const setupMs = Date.now() - t0;
  const t1 = Date.now();
  clock.runFor(hours * 3600_000);
  const runMs = Date.now() - t1;
  const errors = fleet.devices.reduce((n, d) => n + d.errors.length, 0);
  for (const d of fleet.devices) d.powerOff();
  return {
    name: "fleet",
    what: `${count} alarm buttons for ${hours} h`,
    simulatedHours: hours,
    wallMs: setupMs + runMs,
    speed: (hours * 3600_000) / (setupMs + runMs),
    ok: errors === 0,
    detail: `boot of ${count} devices ${setupMs} ms, ${hours} h ${runMs} ms; ${errors} uncaught firmware errors; bundle ${b.from}`,
  };
}
