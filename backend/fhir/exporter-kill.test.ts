// The exporter as a process (`varde fhir run`) between a real broker (Mosquitto) and a local FHIR
// receiver, killed with SIGKILL twice: once while the receiver is down (events queued on disk, more
// published while the exporter is gone), once in the middle of delivering. In the end every event is in
// the patient record exactly once, every identity carried one body, and `varde fhir status` says so.
// Events are the recorded ones (real gateway output) in protobuf and JSON, copied under new boot ids
// to make a longer stream.
import { afterEach, expect, it } from "vitest";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { startMosquitto } from "../../test/support/mosquitto.ts";
import { FhirReceiver, testExporterToml, testPatientsToml } from "../../test/support/fhir-receiver.ts";
import { until } from "../../test/support/wait.ts";
import { topic } from "../../gateway/mqtt/topics.ts";
import { encodeCanonical } from "../../protocol/schema.ts";
import { EVENTS_PATH } from "./example/paths.ts";
import { readEventStream, type BackendEvent } from "./events.ts";
import { plan } from "./resources.ts";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** The recorded exportable events, copied under `copies` boot ids (same shapes, new event ids). */
function stream(copies: number): BackendEvent[] {
  const base = readEventStream(EVENTS_PATH).filter((e) => plan(e).kind !== "skip");
  const out: BackendEvent[] = [];
  for (let k = 0; k < copies; k++)
    for (const e of base) {
      const boot = (e.envelope.boot + k) >>> 0;
      out.push({ ...e, eventId: `${e.device}:${boot}:${e.envelope.seq}`, time: e.time + k * 86400, envelope: { ...e.envelope, boot, time: e.envelope.time + k * 86400 } });
    }
  return out;
}

it("SIGKILL while queued and while delivering: every event reaches the record once, with one identity", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fhir-kill-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const rx = await new FhirReceiver("tok").start();
  cleanup.push(() => rx.close());
  rx.down = 503;
  fs.writeFileSync(path.join(dir, "patients.toml"), testPatientsToml("2001, 1001"));
  const cfgPath = path.join(dir, "fhir.toml");
  fs.writeFileSync(cfgPath, testExporterToml(`[server]
base_url = "${rx.baseUrl}"
token = "tok"
timeout_s = 2
[mqtt]
url = "${broker.url}"
client_id = "varde-fhir-kill"
[retry]
first_s = 0.05
max_s = 0.2
`));
  let proc: ChildProcess | null = null;
  let out = "";
  const startExporter = () => {
    proc = spawn(process.execPath, [path.join(ROOT, "bin", "varde.js"), "fhir", "run", "--config", cfgPath], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  };
  const kill = async () => {
    const p = proc!;
    proc = null;
    if (p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once("exit", () => r());
      p.kill("SIGKILL");
    });
  };
  cleanup.push(() => proc && kill());
  const counts = (): Record<string, number> => {
    const f = path.join(dir, "queue.db");
    if (!fs.existsSync(f)) return {};
    const db = new Database(f, { readonly: true, fileMustExist: true });
    try {
      return Object.fromEntries((db.prepare("SELECT status, COUNT(*) AS n FROM export GROUP BY status").all() as any[]).map((r) => [r.status, r.n]));
    } catch {
      return {};
    } finally {
      db.close();
    }
  };
  const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

  const events = stream(4);
  const pub = await mqtt.connectAsync(broker.url, { clientId: "kill-test-gateway" });
  cleanup.push(() => pub.endAsync());
  const publish = async (evs: BackendEvent[]) => {
    for (const [i, ev] of evs.entries()) {
      // the gateway's two payload forms, alternating
      const payload = i % 2 ? Buffer.from(encodeCanonical("BackendEvent", ev)) : Buffer.from(JSON.stringify({ ...ev, kind: ev.kind === 2 ? "DEVICE_KIND_DISPENSER" : "DEVICE_KIND_ALARM" }));
      await pub.publishAsync(topic("event", { gateway: ev.gateway, device: ev.device, type: ev.type }), payload, { qos: 1 });
    }
  };

  // 1. the exporter subscribes (persistent session), takes half the events; the record is down
  startExporter();
  await until(() => out.includes("subscribed"), 60_000, `the exporter's subscription (output: ${out})`);
  const half = Math.floor(events.length / 2);
  await publish(events.slice(0, half));
  await until(() => total(counts()) === half, 30_000, `${half} events in the queue`);
  await until(() => rx.requests.length > half, 30_000, "retries against the down server");
  await kill();
  // 2. while it is gone, the rest is published: the broker keeps them for its session
  await publish(events.slice(half));
  // 3. restart with the record up; kill again once some are accepted
  rx.down = null;
  rx.delayMs = 100; // slow enough that the kill below lands in the middle of the deliveries
  startExporter();
  await until(() => (counts().accepted ?? 0) >= 3, 60_000, "some accepted after the restart");
  await kill();
  expect(counts().accepted ?? 0).toBeLessThan(events.length);
  // 4. restart: everything arrives
  rx.delayMs = 0;
  startExporter();
  await until(() => (counts().accepted ?? 0) === events.length, 60_000, `all ${events.length} accepted (now ${JSON.stringify(counts())}; output ${out.slice(-2000)})`);
  await kill();

  expect(counts()).toEqual({ accepted: events.length });
  expect(rx.invalid).toEqual([]);
  expect(rx.stored.size).toBe(events.length);
  for (const [id, bodies] of rx.bodies) expect([id, bodies.size]).toEqual([id, 1]);
  const status = JSON.parse((await promisify(execFile)(process.execPath, [path.join(ROOT, "bin", "varde.js"), "fhir", "status", "--config", cfgPath, "--json"], { cwd: ROOT })).stdout);
  expect(status.counts).toEqual({ held: 0, queued: 0, sent: 0, accepted: events.length, rejected: 0 });
}, 240_000);
