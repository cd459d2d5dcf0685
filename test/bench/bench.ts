// Benchmarks: each compares a Varde code path with a baseline measured in the same run on the same
// machine, and reports the ratio — never an absolute time judged against a constant (CI machines vary).
//   codec      firmware codec (protocol/pb.ts through gen/object-codec.ts) vs protobufjs, alarm Envelope encode+decode
//   framing    FrameParser fed 64-byte chunks vs the same stream in one chunk
//   mac        protocol/mac.ts HMAC (injected SHA-256, as on the device) vs node:crypto createHmac
//   outbox     gateway outbox group commit (events submitted together) vs one commit per event
//   simulator  virtual time vs real time for the alarm bundle idling with heartbeats
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHmac } from "node:crypto";
import { decodeEnvelope, encodeEnvelope } from "../../protocol/gen/object-codec.ts";
import { decodeMessage, encodeCanonical, nodeSha256 } from "../../protocol/schema.ts";
import { FrameParser, encodeFrame } from "../../protocol/framing.ts";
import { hmacSha256 } from "../../protocol/mac.ts";
import { Outbox, type NewEvent } from "../../gateway/outbox.ts";
import { buildFirmware } from "../../firmware/build/index.ts";
import { SimDevice, VirtualClock } from "../../simulator/index.ts";

export interface BenchRow {
  name: string;
  subject: string;
  baseline: string;
  /** subject speed / baseline speed (> 1: the subject is faster) */
  ratio: number;
  detail: string;
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const ALARM = { device: 1001, boot: 0xdeadbeef, seq: 123456, time: 1_795_000_000, alarm: { hold: true } };

export async function runBench(scale = 1): Promise<BenchRow[]> {
  const n = (k: number) => Math.max(10, Math.round(k * scale));
  const rows: BenchRow[] = [];

  // codec
  {
    const N = n(50_000);
    const fw = time(() => {
      for (let i = 0; i < N; i++) decodeEnvelope(encodeEnvelope({ ...ALARM, seq: i + 1 }));
    });
    const pb = time(() => {
      for (let i = 0; i < N; i++) decodeMessage("Envelope", encodeCanonical("Envelope", { ...ALARM, seq: i + 1 }));
    });
    rows.push({ name: "codec", subject: "firmware codec", baseline: "protobufjs", ratio: pb / fw, detail: `${N} alarm envelopes encoded+decoded` });
  }

  // framing
  {
    const F = n(20_000);
    const frame = encodeFrame(new Uint8Array(40).fill(7));
    const stream = new Uint8Array(frame.length * F);
    for (let i = 0; i < F; i++) stream.set(frame, i * frame.length);
    let got = 0;
    const chunked = time(() => {
      const p = new FrameParser(() => got++);
      for (let o = 0; o < stream.length; o += 64) p.push(stream.subarray(o, o + 64));
    });
    const whole = time(() => {
      const p = new FrameParser(() => got++);
      p.push(stream);
    });
    if (got !== 2 * F) throw new Error(`framing bench: ${got} frames parsed, expected ${2 * F}`);
    rows.push({ name: "framing", subject: "64-byte chunks", baseline: "one chunk", ratio: whole / chunked, detail: `${F} frames of ${frame.length} bytes` });
  }

  // mac
  {
    const N = n(20_000);
    const key = new Uint8Array(32).fill(3);
    const data = encodeEnvelope(ALARM);
    const js = time(() => {
      for (let i = 0; i < N; i++) hmacSha256(nodeSha256, key, data);
    });
    const native = time(() => {
      for (let i = 0; i < N; i++) createHmac("sha256", key).update(data).digest();
    });
    rows.push({ name: "mac", subject: "mac.ts HMAC", baseline: "node createHmac", ratio: native / js, detail: `${N} MACs of ${data.length} bytes` });
  }

  // outbox group commit
  {
    const N = n(2_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-bench-"));
    const ev = (dev: number, i: number): NewEvent => ({
      eventId: `${dev}:1:${i}`, device: dev, boot: 1, seq: i, type: "alarm", priority: 1, time: 0, received: 0, historical: false, payload: encodeEnvelope({ ...ALARM, seq: i }),
    });
    const a = new Outbox(path.join(dir, "group.db"));
    const grouped = await timeAsync(async () => {
      await Promise.all(Array.from({ length: N }, (_, i) => a.submit(ev(1 + (i % 50), 1 + Math.floor(i / 50)))));
    });
    const commits = a.commits;
    a.close();
    const b = new Outbox(path.join(dir, "single.db"));
    const single = await timeAsync(async () => {
      for (let i = 0; i < N; i++) await b.submit(ev(1 + (i % 50), 1 + Math.floor(i / 50)));
    });
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
    rows.push({ name: "outbox", subject: "group commit", baseline: "commit per event", ratio: single / grouped, detail: `${N} events from 50 devices; ${commits} group commit(s) vs ${N}` });
  }

  // simulator virtual time
  {
    const fw = await buildFirmware("alarm-esp32", { noWrite: true });
    const clock = new VirtualClock({ seed: 1 });
    const dev = new SimDevice({ board: "alarm-esp32", clock });
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: 1, key: "11".repeat(32), kind: "alarm" })));
    dev.install(fw.code);
    dev.powerOn();
    const simMs = n(86_400_000 / 4);
    const wall = time(() => clock.runFor(simMs));
    dev.powerOff();
    rows.push({ name: "simulator", subject: "virtual time", baseline: "real time", ratio: simMs / wall, detail: `${(simMs / 3600_000).toFixed(1)} h of an idle alarm button (heartbeats, handshake retries)` });
  }
  return rows;
}

export function formatRows(rows: BenchRow[]): string {
  const lines = rows.map((r) => `${r.name.padEnd(10)} ${r.subject.padEnd(18)} vs ${r.baseline.padEnd(18)} ×${r.ratio.toFixed(2).padStart(10)}   ${r.detail}`);
  return ["bench      subject               baseline               ratio (>1 = subject faster)", ...lines].join("\n");
}
