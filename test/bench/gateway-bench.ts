// `make bench`, the gateway part: the relay measured end to end against a bare MQTT.js client on the same
// broker, in one run and one process tree:
//   this process     the device sessions (devices.ts: real TCP, real handshake, pre-sealed alarm frames)
//                    and the baseline: a bare MQTT.js QoS 1 publisher of the same payload
//   mosquitto        the broker (test/support/mosquitto.ts)
//   varde gateway    its own process, as systemd starts it: node dist/gateway/varde-gateway.mjs (fsync on)
//   subscriber.ts    the independent subscriber (its own process): when each event id arrived; in
//                    application-ack mode it stores each event (SQLite, fsync) and then acks it
// For each repetition and each session count, gateway and baseline runs are interleaved:
//   connect     N sessions dialled at once, ms until the last handshake completed; gateway RSS then (idle)
//   latency     R events/s for D s: frame → device ack, frame → subscriber (gateway); publish → PUBACK,
//               publish → subscriber (baseline). p50 / p99 / max. Ratio = gateway p99 / baseline p99.
//   throughput  closed loop: at most W events sent and not yet at the subscriber, for D s; events/s at the
//               subscriber after a 1 s warm-up. Ratio = gateway / baseline. Gateway RSS peak (VmHWM) after it.
// and, once per repetition, the latency with backend_ack = "application" and the storing consumer.
// Times: process.hrtime.bigint() in every process (CLOCK_MONOTONIC: comparable across processes).
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import { appendDevice } from "../../gateway/registry.ts";
import { encodeMessage } from "../../gateway/wire.ts";
import { startMosquitto, type Mosquitto } from "../support/mosquitto.ts";
import { GatewayProcess, writeConfig } from "../support/gateway-process.ts";
import { BenchDevice, connectAll } from "./devices.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface GatewayBenchOptions {
  sessions: number[];
  reps: number;
  /** events per second in the latency runs */
  rate: number;
  latencyS: number;
  throughputS: number;
  /** closed-loop window: events sent and not yet at the subscriber */
  window: number;
  /** the application-ack latency row at this many sessions (0 = skip) */
  appAckSessions: number;
  log?: (line: string) => void;
}

export interface Dist {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

export interface RepResult {
  rep: number;
  sessions: number;
  connectMs: number;
  rssIdleMB: number;
  rssPeakMB: number;
  gwAck: Dist;
  gwSub: Dist;
  baseAck: Dist;
  baseSub: Dist;
  gwThroughput: number;
  baseThroughput: number;
  /** CPU µs per event during the throughput runs: gateway process; device driver (this process); baseline publisher (this process); broker; subscriber */
  cpuPerEvent: { gateway: number; devices: number; publisher: number; brokerGw: number; brokerBase: number; subscriberGw: number; subscriberBase: number };
  /** events lost in the runs (sent, never at the subscriber): must be 0 */
  lost: number;
  /** the minimal relay (minimal-relay.ts) on the same sessions, at the largest session count only */
  minimal?: { ack: Dist; sub: Dist; throughput: number; cpuPerEvent: number; lost: number };
}

export interface AppAckResult {
  rep: number;
  sessions: number;
  gwAck: Dist;
  gwSub: Dist;
  lost: number;
}

export interface FsyncCost {
  dir: string;
  p50Ms: number;
  p99Ms: number;
}

function dist(ms: number[]): Dist {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN);
  return { p50: q(0.5), p99: q(0.99), max: s.length ? s[s.length - 1] : NaN, n: s.length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks a bench child process to stop ({cmd: "stop"}); SIGKILL when it has not exited after 3 s. */
async function stopChild(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once("exit", r));
  proc.send({ cmd: "stop" });
  await Promise.race([exited, sleep(3000)]);
  if (proc.exitCode === null) proc.kill("SIGKILL");
}

/** The subscriber process. */
class Subscriber {
  private constructor(readonly proc: ChildProcess) {}
  onCount: (n: number) => void = () => undefined;
  private reportWaiter: ((r: Array<[string, string]>) => void) | null = null;

  static async start(url: string, gateway: string, mode: "count" | "store-ack", data: string): Promise<Subscriber> {
    const proc = fork(path.join(HERE, "subscriber.ts"), [], { execArgv: ["--import", "tsx"], env: { ...process.env, BENCH_URL: url, BENCH_GATEWAY: gateway, BENCH_MODE: mode, BENCH_DATA: data }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const s = new Subscriber(proc);
    await new Promise<void>((resolve, reject) => {
      proc.on("message", (m: any) => {
        if (m.ready) resolve();
        else if (m.n) s.onCount(m.n);
        else if (m.recv) s.reportWaiter?.(m.recv);
      });
      proc.once("exit", (c) => reject(new Error(`bench subscriber exited with ${c}`)));
    });
    return s;
  }
  reset(): void {
    this.proc.send({ cmd: "reset" });
  }
  report(): Promise<Map<string, bigint>> {
    return new Promise((resolve) => {
      this.reportWaiter = (r) => resolve(new Map(r.map(([id, t]) => [id, BigInt(t)])));
      this.proc.send({ cmd: "report" });
    });
  }
  stop(): Promise<void> {
    return stopChild(this.proc);
  }
}

/** The minimal relay process (minimal-relay.ts). */
class MinimalRelay {
  private constructor(readonly proc: ChildProcess, readonly port: number) {}
  static async start(url: string, gateway: string): Promise<MinimalRelay> {
    const proc = fork(path.join(HERE, "minimal-relay.ts"), [], { execArgv: ["--import", "tsx"], env: { ...process.env, BENCH_URL: url, BENCH_GATEWAY: gateway }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const port = await new Promise<number>((resolve, reject) => {
      proc.once("message", (m: any) => resolve(m.port));
      proc.once("exit", (c) => reject(new Error(`bench minimal relay exited with ${c}`)));
    });
    return new MinimalRelay(proc, port);
  }
  stop(): Promise<void> {
    return stopChild(this.proc);
  }
}

/** CPU time (user + system) a process used so far, ms. */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
}

/** VmRSS and VmHWM (peak) of a process, MB. */
function rss(pid: number): { now: number; peak: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Where the resident memory is: anonymous (heap, malloc), file-backed (node's own code pages), shared memory (SQLite's WAL index). */
function rssParts(pid: number): string {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return ["RssAnon", "RssFile", "RssShmem"].map((k) => `${k} ${(Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) / 1024).toFixed(1)} MB`).join(", ");
}

/** The cost of one fsync of the disk the gateway's store is on: 4 KiB appended + fdatasync, 200 times. */
export function fsyncCost(dir: string): FsyncCost {
  const f = path.join(dir, `fsync-probe-${process.pid}`);
  const fd = fs.openSync(f, "w");
  const buf = Buffer.alloc(4096, 1);
  const t: number[] = [];
  for (let i = 0; i < 200; i++) {
    const a = process.hrtime.bigint();
    fs.writeSync(fd, buf, 0, buf.length, i * buf.length);
    fs.fdatasyncSync(fd);
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  fs.closeSync(fd);
  fs.rmSync(f);
  const d = dist(t);
  return { dir, p50Ms: d.p50, p99Ms: d.p99 };
}

/**
 * The baseline's payloads: a BackendEvent as the gateway publishes it for an alarm, encoded once; each
 * message gets its own event id by overwriting the id's digits in a copy (no encoding in the measured loop).
 */
const ID_DIGITS = 12;
const TEMPLATE = Buffer.from(encodeMessage("BackendEvent", {
  eventId: "base:" + "0".repeat(ID_DIGITS), gateway: "bench", device: 10_000, kind: 1, type: "alarm", time: 1_796_000_000, received: 1_796_000_000,
  codes: [{ system: "VKP", code: "4.13", display: "button press" }, { system: "SCAIP", code: "0010", display: "manual alarm" }],
  envelope: { device: 10_000, boot: 1_342_187_728, seq: 1, time: 1_796_000_000, alarm: {} }, label: "",
}));
function baselinePayload(id: string): Buffer {
  const p = Buffer.from(TEMPLATE);
  p.write(id.slice(5).padStart(ID_DIGITS, "0"), 2 + 5, "latin1"); // tag, length, "base:"
  return p;
}
/** the gateway's publish options for an event (QoS 1, not retained, MQTT 5 content type) */
const BASE_OPTS = { qos: 1 as const, retain: false, properties: { contentType: "application/x-protobuf; proto=varde.v1.BackendEvent" } };
const baseId = (n: number) => "base:" + String(n).padStart(ID_DIGITS, "0");

export async function runGatewayBench(o: GatewayBenchOptions): Promise<{ reps: RepResult[]; appAck: AppAckResult[]; fsync: FsyncCost }> {
  const log = o.log ?? (() => undefined);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "varde-bench-"));
  const broker: Mosquitto = await startMosquitto({ persistence: false });
  const maxSessions = Math.max(...o.sessions, o.appAckSessions);
  const keys = Array.from({ length: maxSessions }, (_, i) => (i + 1).toString(16).padStart(2, "0").repeat(32).slice(0, 64));
  const registry = path.join(root, "registry.toml");
  for (let i = 0; i < maxSessions; i++) appendDevice(registry, { id: 10_000 + i, kind: "alarm", board: "alarm-esp32", key: keys[i], label: "", created: "" });
  let sub = await Subscriber.start(broker.url, "bench", "count", path.join(root, "consumer"));
  const base: MqttClient = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "bench-baseline", clean: true });
  let baseSeq = 0;
  const reps: RepResult[] = [];
  const appAck: AppAckResult[] = [];
  const fsync = fsyncCost(root);
  log(`fsync on ${root}: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`);

  const startGateway = async (name: string, backendAck: "puback" | "application") => {
    const config = writeConfig(path.join(root, name, "gateway.toml"), {
      gateway_id: "bench",
      registry,
      data_dir: path.join(root, name, "data"),
      transport: [{ type: "tcp-listen", port: 0 }],
      mqtt: { url: broker.url, backend_ack: backendAck, inflight: Math.max(64, o.window), ack_timeout_s: 30 },
      metrics: { port: 0 }, // /status tells the heap figures behind the RSS
      log: { level: "warn" },
    });
    const gw = await GatewayProcess.start(config, { args: ["--quiet"], nodeArgs: (process.env.BENCH_GATEWAY_NODE_ARGS ?? "").split(" ").filter(Boolean) });
    await gw.waitOutput(/devices may dial tcp port (\d+)/, 30_000);
    return { gw, port: Number(/devices may dial tcp port (\d+)/.exec(gw.out)![1]), status: /status (http:\S+\/status)/.exec(gw.out)![1] };
  };

  /** Calls send(0 … n-1) at o.rate per second, on schedule (a late tick catches up), for gateway and baseline alike. */
  const paced = (n: number, send: (i: number) => void) =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const every = BigInt(Math.round(1e9 / o.rate));
      let i = 0;
      const h = setInterval(() => {
        const now = process.hrtime.bigint();
        while (i < n && t0 + BigInt(i) * every <= now) send(i++);
        if (i >= n) {
          clearInterval(h);
          resolve();
        }
      }, 1);
    });

  /** R events/s for D s from the devices, round robin; returns the latencies. */
  const gatewayLatency = async (devs: BenchDevice[]) => {
    const n = Math.round(o.rate * o.latencyS);
    for (let i = 0; i < n; i++) devs[i % devs.length].prepare(1);
    const acks: number[] = [];
    const sent = new Map<string, bigint>();
    for (const d of devs) d.onAck = (seq, at) => {
      const t = d.sentAt.get(seq);
      if (t !== undefined) {
        acks.push(Number(at - t) / 1e6);
        d.sentAt.delete(seq);
      }
    };
    sub.reset();
    await paced(n, (i) => {
      const d = devs[i % devs.length];
      const id = d.sendNext()!;
      sent.set(id, d.sentAt.get(d.seq - 1)!);
    });
    const got = await waitReport(sent, 15_000);
    const end = Date.now() + 15_000;
    while (acks.length < n && Date.now() < end) await sleep(20); // an ack may follow the publish (it waits for the fsync)
    return { ack: dist(acks), sub: dist([...sent].filter(([id]) => got.has(id)).map(([id, t]) => Number(got.get(id)! - t) / 1e6)), lost: [...sent.keys()].filter((id) => !got.has(id)).length };
  };

  const waitReport = async (sent: Map<string, bigint>, ms: number) => {
    const end = Date.now() + ms;
    let got = await sub.report();
    while ([...sent.keys()].some((id) => !got.has(id)) && Date.now() < end) {
      await sleep(200);
      got = await sub.report();
    }
    return got;
  };

  const baselineLatency = async () => {
    const n = Math.round(o.rate * o.latencyS);
    const payloads = Array.from({ length: n }, () => {
      const id = baseId(++baseSeq);
      return { id, p: baselinePayload(id) };
    });
    const acks: number[] = [];
    const sent = new Map<string, bigint>();
    sub.reset();
    await paced(n, (i) => {
      const { id, p } = payloads[i];
      const t = process.hrtime.bigint();
      sent.set(id, t);
      base.publish("bench/baseline", p, BASE_OPTS, () => acks.push(Number(process.hrtime.bigint() - t) / 1e6));
    });
    const got = await waitReport(sent, 15_000);
    return { ack: dist(acks), sub: dist([...sent].filter(([id]) => got.has(id)).map(([id, t]) => Number(got.get(id)! - t) / 1e6)), lost: [...sent.keys()].filter((id) => !got.has(id)).length };
  };

  /** Closed loop: keeps `window` events between send and the subscriber; events/s at the subscriber after 1 s. */
  const closedLoop = async (sendOne: () => boolean, gwPid?: number) => {
    let inFlight = 0;
    let received = 0;
    let counting = false;
    let counted = 0;
    let stop = false;
    sub.reset();
    const top = () => {
      while (!stop && inFlight < o.window) {
        if (!sendOne()) {
          stop = true;
          break;
        }
        inFlight++;
      }
    };
    sub.onCount = (n) => {
      inFlight -= n;
      received += n;
      if (counting) counted += n;
      top();
    };
    top();
    await sleep(1000);
    counting = true;
    const t0 = process.hrtime.bigint();
    const cpu0 = { self: process.cpuUsage(), gw: gwPid ? cpuMs(gwPid) : 0, broker: cpuMs(broker.proc!.pid!), sub: cpuMs(sub.proc.pid!) };
    await sleep(o.throughputS * 1000);
    counting = false;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const self = process.cpuUsage(cpu0.self);
    const cpu = { self: (self.user + self.system) / 1000, gw: gwPid ? cpuMs(gwPid) - cpu0.gw : 0, broker: cpuMs(broker.proc!.pid!) - cpu0.broker, sub: cpuMs(sub.proc.pid!) - cpu0.sub };
    stop = true;
    const rate = counted / secs;
    // let the tail arrive before the next run
    const end = Date.now() + 15_000;
    while (inFlight > 0 && Date.now() < end) await sleep(50);
    sub.onCount = () => undefined;
    const us = (ms: number) => (counted ? (ms * 1000) / counted : NaN);
    return { rate, received, cpu: { self: us(cpu.self), gw: us(cpu.gw), broker: us(cpu.broker), sub: us(cpu.sub) } };
  };

  /** Closed loop through the devices (round robin), their frames sealed beforehand for about baseRate events/s. */
  const devicesThroughput = (devs: BenchDevice[], baseRate: number, relayPid: number) => {
    const frames = Math.ceil((baseRate * (o.throughputS + 3)) / devs.length) + 2;
    for (const d of devs) {
      d.onAck = () => undefined;
      d.sentAt.clear();
      d.deaf(frames); // acks are not needed here (the device side's cost stays out)
      d.prepare(frames);
    }
    let k = 0;
    return closedLoop(() => {
      for (let tries = 0; tries < devs.length; tries++) {
        const d = devs[k++ % devs.length];
        if (d.prepared > 0) {
          d.sendNext();
          return true;
        }
      }
      return false;
    }, relayPid);
  };

  /** The minimal relay on `n` fresh sessions: latency and throughput as for the gateway. */
  const minimalRun = async (n: number, baseRate: number): Promise<NonNullable<RepResult["minimal"]>> => {
    const relay = await MinimalRelay.start(broker.url, "bench");
    const devs = Array.from({ length: n }, (_, i) => new BenchDevice(10_000 + i, keys[i]));
    await connectAll(devs, relay.port);
    await sleep(500);
    const f = await gatewayLatency(devs);
    const t = await devicesThroughput(devs, baseRate, relay.proc.pid!);
    for (const d of devs) d.close();
    await relay.stop();
    return { ack: f.ack, sub: f.sub, throughput: t.rate, cpuPerEvent: t.cpu.gw, lost: f.lost };
  };

  for (let rep = 1; rep <= o.reps; rep++) {
    for (const n of o.sessions) {
      const { gw, port, status } = await startGateway(`r${rep}-n${n}`, "puback");
      const devs = Array.from({ length: n }, (_, i) => new BenchDevice(10_000 + i, keys[i]));
      const connectMs = await connectAll(devs, port);
      await sleep(1000);
      const rssIdle = rss(gw.proc.pid!).now;
      const g = await gatewayLatency(devs);
      const b = await baselineLatency();
      // throughput: baseline first (it sizes the gateway's pre-sealed frames), then the gateway
      const bt = await closedLoop(() => {
        base.publish("bench/baseline", baselinePayload(baseId(++baseSeq)), BASE_OPTS);
        return true;
      });
      const gt = await devicesThroughput(devs, bt.rate, gw.proc.pid!);
      const peak = rss(gw.proc.pid!).peak;
      const mem = ((await (await fetch(status)).json()) as { memory: object }).memory;
      log(`  gateway memory after the throughput run: ${JSON.stringify(mem)}; ${rssParts(gw.proc.pid!)}`);
      const r: RepResult = { rep, sessions: n, connectMs, rssIdleMB: rssIdle, rssPeakMB: peak, gwAck: g.ack, gwSub: g.sub, baseAck: b.ack, baseSub: b.sub, gwThroughput: gt.rate, baseThroughput: bt.rate, lost: g.lost,
        cpuPerEvent: { gateway: gt.cpu.gw, devices: gt.cpu.self, publisher: bt.cpu.self, brokerGw: gt.cpu.broker, brokerBase: bt.cpu.broker, subscriberGw: gt.cpu.sub, subscriberBase: bt.cpu.sub } };
      reps.push(r);
      log(`rep ${rep}, ${n} sessions: connect ${connectMs.toFixed(0)} ms; RSS ${rssIdle.toFixed(1)} / ${peak.toFixed(1)} MB; latency → subscriber p50 ${g.sub.p50.toFixed(2)} p99 ${g.sub.p99.toFixed(2)} max ${g.sub.max.toFixed(2)} ms (baseline p99 ${b.sub.p99.toFixed(2)}); → device ack p99 ${g.ack.p99.toFixed(2)} ms; throughput ${gt.rate.toFixed(0)}/s vs ${bt.rate.toFixed(0)}/s; lost ${g.lost}; CPU µs/event: gateway ${gt.cpu.gw.toFixed(0)}, devices ${gt.cpu.self.toFixed(0)}, broker ${gt.cpu.broker.toFixed(0)}, subscriber ${gt.cpu.sub.toFixed(0)} | bare publisher ${bt.cpu.self.toFixed(0)}, broker ${bt.cpu.broker.toFixed(0)}, subscriber ${bt.cpu.sub.toFixed(0)}`);
      for (const d of devs) d.close();
      gw.kill("SIGTERM");
      await gw.exited;
      if (n === Math.max(...o.sessions)) {
        r.minimal = await minimalRun(n, bt.rate);
        log(`rep ${rep}, ${n} sessions, minimal relay: latency → subscriber p50 ${r.minimal.sub.p50.toFixed(2)} p99 ${r.minimal.sub.p99.toFixed(2)} ms; throughput ${r.minimal.throughput.toFixed(0)}/s; CPU µs/event ${r.minimal.cpuPerEvent.toFixed(0)}; lost ${r.minimal.lost}`);
      }
    }
    if (o.appAckSessions > 0) {
      await sub.stop();
      sub = await Subscriber.start(broker.url, "bench", "store-ack", path.join(root, `consumer-${rep}`));
      const { gw, port } = await startGateway(`r${rep}-app`, "application");
      const devs = Array.from({ length: o.appAckSessions }, (_, i) => new BenchDevice(10_000 + i, keys[i]));
      await connectAll(devs, port);
      await sleep(500);
      const g = await gatewayLatency(devs);
      appAck.push({ rep, sessions: o.appAckSessions, gwAck: g.ack, gwSub: g.sub, lost: g.lost });
      log(`rep ${rep}, application acks, ${o.appAckSessions} sessions: → subscriber p50 ${g.sub.p50.toFixed(2)} p99 ${g.sub.p99.toFixed(2)} ms, → device ack p99 ${g.ack.p99.toFixed(2)} ms`);
      for (const d of devs) d.close();
      gw.kill("SIGTERM");
      await gw.exited;
      await sub.stop();
      sub = await Subscriber.start(broker.url, "bench", "count", path.join(root, "consumer"));
    }
  }
  await sub.stop();
  await base.endAsync(true);
  await broker.stop();
  fs.rmSync(root, { recursive: true, force: true });
  return { reps, appAck, fsync };
}
