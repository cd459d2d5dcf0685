// The bench's result: medians over repetitions with their spread (min–max), the four goals of issue 11
// judged on the 1,000-session rows, the machine it ran on; as JSON and as a Markdown table.
import * as fs from "node:fs";
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import type { AppAckResult, Dist, FsyncCost, RepResult } from "./gateway-bench.ts";
import type { SimRow } from "./sim-rows.ts";

export interface BenchResult {
  when: string;
  machine: { cpu: string; cores: number; memoryGB: number; node: string; kernel: string; load: number[]; disk: string };
  options: Record<string, unknown>;
  fsync: FsyncCost;
  reps: RepResult[];
  appAck: AppAckResult[];
  sim: SimRow[];
}

export function machine(dataDir: string): BenchResult["machine"] {
  let disk = "";
  try {
    disk = execFileSync("df", ["-h", "--output=source,fstype", dataDir], { stdio: "pipe" }).toString().trim().split("\n").pop()!.replace(/\s+/g, " ");
  } catch {
    disk = "?";
  }
  return { cpu: os.cpus()[0]?.model ?? "?", cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 1e9), node: process.version, kernel: os.release(), load: os.loadavg().map((x) => Math.round(x * 100) / 100), disk };
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[], f: (x: number) => string) => (xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : "");
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const per = (x: number) => Math.round(x).toLocaleString("en-US");

/** median (min–max) of a field over the repetitions of one session count */
function agg(rows: RepResult[], get: (r: RepResult) => number, f: (x: number) => string): { m: number; text: string } {
  const xs = rows.map(get);
  const m = median(xs);
  return { m, text: `${f(m)}${spread(xs, f)}` };
}
const distText = (rows: RepResult[], get: (r: RepResult) => Dist) => `${agg(rows, (r) => get(r).p50, ms).text} / ${agg(rows, (r) => get(r).p99, ms).text} / ${agg(rows, (r) => get(r).max, ms).text}`;

export interface Goal {
  name: string;
  value: string;
  goal: string;
  met: boolean;
  /** the same measure for the minimal relay (minimal-relay.ts), where it has one */
  minimal?: string;
}

export function goals(r: BenchResult): Goal[] {
  const top = Math.max(...r.reps.map((x) => x.sessions));
  const rows = r.reps.filter((x) => x.sessions === top);
  const p99Ratio = median(rows.map((x) => x.gwSub.p99 / x.baseSub.p99));
  const thrRatio = median(rows.map((x) => x.gwThroughput / x.baseThroughput));
  const peak = median(rows.map((x) => x.rssPeakMB));
  const conn = median(rows.map((x) => x.connectMs));
  const minimals = rows.filter((x) => x.minimal);
  const minimalP99 = minimals.length ? `${median(minimals.map((x) => x.minimal!.sub.p99 / x.baseSub.p99)).toFixed(2)}×` : undefined;
  const minimalThr = minimals.length ? `${median(minimals.map((x) => x.minimal!.throughput / x.baseThroughput)).toFixed(2)}×` : undefined;
  return [
    { name: `frame → subscriber p99, ${top} sessions, gateway / bare MQTT.js`, value: `${p99Ratio.toFixed(2)}×`, goal: "≤ 1.5×", met: p99Ratio <= 1.5, minimal: minimalP99 },
    { name: `closed-loop throughput, ${top} sessions, gateway / bare MQTT.js`, value: `${thrRatio.toFixed(2)}×`, goal: "≥ 0.7×", met: thrRatio >= 0.7, minimal: minimalThr },
    { name: `gateway peak RSS, ${top} sessions`, value: `${peak.toFixed(1)} MB`, goal: "≤ 80 MB", met: peak <= 80 },
    { name: `connecting ${top} sessions (handshakes done)`, value: `${(conn / 1000).toFixed(2)} s`, goal: "≤ 1 s", met: conn <= 1000 },
  ];
}

export function markdown(r: BenchResult): string {
  const o = r.options as { rate: number; window: number; reps: number; latencyS: number; throughputS: number };
  const L: string[] = [];
  const m = r.machine;
  L.push(`Measured ${r.when} on ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Linux ${m.kernel}, Node ${m.node}; load average at the end ${m.load.join(" / ")}; store on ${m.disk}, fsync (4 KiB + fdatasync) p50 ${ms(r.fsync.p50Ms)} ms, p99 ${ms(r.fsync.p99Ms)} ms. ${o.reps} repetitions, medians with (min–max); gateway and bare MQTT.js interleaved in each; fsync on.`);
  L.push("");
  L.push("| goal | measured | minimal relay | goal | met |", "| --- | --- | --- | --- | --- |");
  for (const g of goals(r)) L.push(`| ${g.name} | ${g.value} | ${g.minimal ?? "—"} | ${g.goal} | ${g.met ? "yes" : "**no**"} |`);
  L.push("");
  L.push(`| sessions | connect | gateway RSS idle / peak | frame → subscriber p50 / p99 / max, gateway | same, bare MQTT.js | p99 ratio | frame → device ack p50 / p99 / max | publish → PUBACK (bare) | throughput gateway / bare (window ${o.window}) | ratio |`);
  L.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const n of [...new Set(r.reps.map((x) => x.sessions))]) {
    const rows = r.reps.filter((x) => x.sessions === n);
    L.push(
      `| ${n} | ${agg(rows, (x) => x.connectMs, ms).text} ms | ${agg(rows, (x) => x.rssIdleMB, (x) => x.toFixed(1)).text} / ${agg(rows, (x) => x.rssPeakMB, (x) => x.toFixed(1)).text} MB | ${distText(rows, (x) => x.gwSub)} ms | ${distText(rows, (x) => x.baseSub)} ms | ${agg(rows, (x) => x.gwSub.p99 / x.baseSub.p99, (x) => x.toFixed(2)).text}× | ${distText(rows, (x) => x.gwAck)} ms | ${distText(rows, (x) => x.baseAck)} ms | ${agg(rows, (x) => x.gwThroughput, per).text} / ${agg(rows, (x) => x.baseThroughput, per).text} /s | ${agg(rows, (x) => x.gwThroughput / x.baseThroughput, (x) => x.toFixed(2)).text}× |`,
    );
  }
  L.push("");
  const minimals = r.reps.filter((x) => x.minimal);
  if (minimals.length) {
    const f = (get: (x: RepResult) => number, fmt: (x: number) => string) => agg(minimals, get, fmt).text;
    L.push(
      `Minimal relay (test/bench/minimal-relay.ts: its own process on the same ${minimals[0].sessions} device sessions, broker and subscriber; it only frames, acks and publishes with MQTT.js — no MAC check, no store, no fsync — i.e. what one more hop and one ack write per event cost here before any of the gateway's own work): ` +
        `frame → subscriber p50 / p99 / max ${f((x) => x.minimal!.sub.p50, ms)} / ${f((x) => x.minimal!.sub.p99, ms)} / ${f((x) => x.minimal!.sub.max, ms)} ms, p99 ratio ${f((x) => x.minimal!.sub.p99 / x.baseSub.p99, (x) => x.toFixed(2))}×; ` +
        `throughput ${f((x) => x.minimal!.throughput, per)} /s, ratio ${f((x) => x.minimal!.throughput / x.baseThroughput, (x) => x.toFixed(2))}×; CPU per event: minimal relay ${f((x) => x.minimal!.cpuPerEvent, per)} µs, gateway ${f((x) => x.cpuPerEvent.gateway, per)} µs, bare publisher ${f((x) => x.cpuPerEvent.publisher, per)} µs.`,
    );
    L.push("");
  }
  L.push(`Latency rows: ${o.rate} events/s for ${o.latencyS} s per run. Throughput: closed loop, at most ${o.window} events sent and not yet at the subscriber, ${o.throughputS} s after a 1 s warm-up. Events lost in the runs: ${r.reps.reduce((a, x) => a + x.lost + (x.minimal?.lost ?? 0), 0) + r.appAck.reduce((a, x) => a + x.lost, 0)}.`);
  if (r.appAck.length) {
    const a = r.appAck;
    const f = (get: (x: AppAckResult) => number) => `${ms(median(a.map(get)))}${spread(a.map(get), ms)}`;
    L.push("");
    L.push(`backend_ack = "application", ${a[0].sessions} sessions, a consumer that stores each event (SQLite, fsync) and then acks: frame → subscriber p50 / p99 / max ${f((x) => x.gwSub.p50)} / ${f((x) => x.gwSub.p99)} / ${f((x) => x.gwSub.max)} ms; frame → device ack ${f((x) => x.gwAck.p50)} / ${f((x) => x.gwAck.p99)} / ${f((x) => x.gwAck.max)} ms.`);
  }
  if (r.sim.length) {
    L.push("", "| simulator | simulated | real | × real time | result |", "| --- | --- | --- | --- | --- |");
    for (const s of r.sim) L.push(`| ${s.what} | ${s.simulatedHours} h | ${(s.wallMs / 1000).toFixed(1)} s | ${per(s.speed)}× | ${s.ok ? "ok" : "**failed**"}: ${s.detail} |`);
  }
  return L.join("\n") + "\n";
}

const START = "<!-- bench:start (written by make bench) -->";
const END = "<!-- bench:end -->";

/** Replaces the block between the markers in the README with the table. */
export function updateReadme(readme: string, table: string): void {
  const text = fs.readFileSync(readme, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readme}: no "${START}" … "${END}" block to write the bench table into`);
  fs.writeFileSync(readme, text.slice(0, a + START.length) + "\n" + table + text.slice(b));
}
