// `make bench`: the gateway against a bare MQTT.js client end to end (gateway-bench.ts), the simulator rows
// (sim-rows.ts) and the disk's fsync cost, in one run. Writes dist/bench/latest.json and latest.md and the
// table into README.md (between the bench markers; BENCH_README=0 leaves the README alone).
// Knobs (environment): BENCH_REPS (5), BENCH_SESSIONS ("1,100,1000"), BENCH_RATE (100 events/s),
// BENCH_LATENCY_S (5), BENCH_THROUGHPUT_S (5), BENCH_WINDOW (500), BENCH_FLEET (1000 devices), BENCH_SIM=0.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runBench } from "./bench.ts";
import { goals, markdown, updateReadme } from "./report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const result = await runBench({
  reps: env("BENCH_REPS", 5),
  sessions: (process.env.BENCH_SESSIONS ?? "1,100,1000").split(",").map(Number),
  rate: env("BENCH_RATE", 100),
  latencyS: env("BENCH_LATENCY_S", 5),
  throughputS: env("BENCH_THROUGHPUT_S", 5),
  window: env("BENCH_WINDOW", 500),
  appAckSessions: env("BENCH_APP_ACK_SESSIONS", 1000),
  fleet: env("BENCH_FLEET", 1000),
  sim: process.env.BENCH_SIM !== "0",
  log: (l) => console.log(l),
});
const out = path.join(ROOT, "dist", "bench");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "latest.json"), JSON.stringify(result, null, 2));
const md = markdown(result);
fs.writeFileSync(path.join(out, "latest.md"), md);
if (process.env.BENCH_README !== "0") updateReadme(path.join(ROOT, "README.md"), md);
console.log("\n" + md);
console.log(`written: ${path.relative(ROOT, path.join(out, "latest.json"))}, ${path.relative(ROOT, path.join(out, "latest.md"))}${process.env.BENCH_README !== "0" ? ", README.md" : ""} (${os.hostname()})`);
for (const g of goals(result)) if (!g.met) console.log(`goal not met: ${g.name}: ${g.value} (goal ${g.goal})`);
process.exit(0);
