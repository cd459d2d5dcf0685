// The short variant of `make bench`: the same code end to end on a tiny scale (a real Mosquitto, the gateway
// process, device sessions with the real handshake, the subscriber process, the baseline, a 2-day dispenser
// scenario and a few simulated devices), to prove the bench still works. No assertion on speed: speed is
// `make bench`'s business and never a test gate.
import { expect, it } from "vitest";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runBench } from "./bench.ts";
import { goals, markdown } from "./report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

it("the bench runs end to end and reports every row", async () => {
  const r = await runBench({
    reps: 1, sessions: [1, 10], rate: 50, latencyS: 1, throughputS: 1, window: 50, appAckSessions: 5,
    fleet: 5, fleetHours: 1, sim: true, dispenserScenario: path.join(ROOT, "test", "scenarios", "jammed-carousel.toml"),
  });
  expect(r.reps.map((x) => x.sessions)).toEqual([1, 10]);
  for (const x of r.reps) {
    expect(x.lost).toBe(0);
    expect(x.gwSub.n).toBe(50);
    expect(x.baseSub.n).toBe(50);
    expect(x.gwAck.n).toBe(50);
    expect(x.gwThroughput).toBeGreaterThan(0);
    expect(x.baseThroughput).toBeGreaterThan(0);
    expect(x.rssPeakMB).toBeGreaterThan(0);
  }
  const minimal = r.reps.find((x) => x.sessions === 10)!.minimal!;
  expect([minimal.lost, minimal.sub.n, minimal.ack.n]).toEqual([0, 50, 50]);
  expect(minimal.throughput).toBeGreaterThan(0);
  expect(r.appAck[0].lost).toBe(0);
  expect(r.sim.map((s) => [s.name, s.ok])).toEqual([["dispenser", true], ["fleet", true]]);
  expect(goals(r)).toHaveLength(4);
  console.log(markdown(r));
}, 180_000);
