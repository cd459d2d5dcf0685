// One bench run: fsync cost, the gateway against the bare MQTT.js baseline, the simulator rows.
import { runGatewayBench, type GatewayBenchOptions } from "./gateway-bench.ts";
import { dispenserRow, fleetRow, type SimRow } from "./sim-rows.ts";
import { machine, type BenchResult } from "./report.ts";
import * as os from "node:os";

export interface BenchOptions extends GatewayBenchOptions {
  /** devices in the fleet row (0 = skip) */
  fleet: number;
  fleetHours?: number;
  sim: boolean;
  /** dispenser scenario file (default: 30 days × 4 doses) */
  dispenserScenario?: string;
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const g = await runGatewayBench(o);
  const sim: SimRow[] = [];
  if (o.sim) {
    const d = await dispenserRow(o.dispenserScenario);
    o.log?.(`simulator: ${d.what}: ${(d.wallMs / 1000).toFixed(1)} s (${Math.round(d.speed)}× real time), ${d.ok ? "ok" : "FAILED"}`);
    sim.push(d);
    if (o.fleet > 0) {
      const f = await fleetRow(o.fleet, o.fleetHours ?? 24);
      o.log?.(`simulator: ${f.what}: ${(f.wallMs / 1000).toFixed(1)} s (${Math.round(f.speed)}× real time), ${f.ok ? "ok" : "FAILED"}`);
      sim.push(f);
    }
  }
  const { log: _log, ...options } = o;
  return { when: new Date().toISOString(), machine: machine(os.tmpdir()), options, fsync: g.fsync, reps: g.reps, appAck: g.appAck, sim };
}
