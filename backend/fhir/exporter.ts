// The FHIR exporter a municipality runs next to its backend: it consumes the backend contract (MQTT,
// docs/backend-contract.md) like any integrator, stores each exportable event in its durable queue
// (queue.ts) before the broker gets the PUBACK, builds and validates the VKP resources (resources.ts,
// validate.ts) and delivers them (deliver.ts). It does not publish EventAcks: it is not the system of
// record, the reference backend is. It holds a persistent MQTT session (clean = false, its own
// client_id), so the broker keeps events for it while it is down.
import mqtt, { type MqttClient } from "mqtt";
import * as fs from "node:fs";
import type { FhirConfig } from "./config.ts";
import { loadPatients, type PatientRegistry } from "../patients.ts";
import { filter } from "../../gateway/mqtt/topics.ts";
import { checkTopic, decodeEventPayload, type BackendEvent } from "./events.ts";
import { build, plan } from "./resources.ts";
import { formatIssues, validateExport } from "./validate.ts";
import { ExportQueue, type Row, type Status } from "./queue.ts";
import { Deliverer, realClock, type DeliveryClock, type Result } from "./deliver.ts";

export type IngestResult = "queued" | "held" | "duplicate" | "skipped";

export interface ExporterOptions {
  cfg: FhirConfig;
  /** default: loaded from cfg.patients */
  patients?: PatientRegistry;
  clock?: DeliveryClock;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

export class Exporter {
  readonly queue: ExportQueue;
  readonly deliverer: Deliverer;
  readonly cfg: FhirConfig;
  readonly clock: DeliveryClock;
  private patients: PatientRegistry;
  private client: MqttClient | null = null;
  private log: (line: string) => void;

  constructor(o: ExporterOptions) {
    this.cfg = o.cfg;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
    this.patients = o.patients ?? loadPatients(o.cfg.patients);
    this.queue = new ExportQueue(o.cfg.queue);
    this.deliverer = new Deliverer({ queue: this.queue, cfg: o.cfg, clock: this.clock, fetch: o.fetch, onResult: (row, r) => this.logResult(row, r) });
  }

  private logResult(row: Row, r: Result): void {
    if (r.kind === "accepted") this.log(`accepted  ${row.eventId} ${row.kind} ${row.resourceId} (HTTP ${r.status})`);
    else if (r.kind === "rejected") this.log(`rejected  ${row.eventId} ${row.kind}: ${r.error}`);
    else this.log(`retry     ${row.eventId} ${row.kind}: ${r.error}`);
  }

  /** Takes one event: stored durably (unless there is nothing to export), then built. */
  ingest(ev: BackendEvent): IngestResult {
    const p = plan(ev);
    if (p.kind === "skip") return "skipped";
    const now = this.clock.now();
    const code = `${p.kind === "message" ? "dispense" : "alert"} ${p.code.code} ${p.code.display}`;
    if (!this.queue.add({ eventId: ev.eventId, event: JSON.stringify(ev), device: ev.device, type: ev.type, time: ev.time, code, now })) return "duplicate";
    const r = this.tryBuild(ev);
    if (r === "queued") this.deliverer.poke();
    return r;
  }

  private tryBuild(ev: BackendEvent): "queued" | "held" {
    const now = this.clock.now();
    const patient = this.patients.byDevice.get(ev.device);
    if (!patient) {
      this.queue.hold(ev.eventId, `device ${ev.device} has no patient in ${this.patients.path}: add it to a patient's devices = [...] and restart the exporter`, now);
      return "held";
    }
    const out = build(ev, { cfg: this.cfg, patient, exportTime: new Date(now) });
    if ("skip" in out) throw new Error(`internal: ${ev.eventId} planned for export but built nothing (${out.skip})`);
    const issues = validateExport(out.body);
    if (issues.length) {
      this.queue.hold(ev.eventId, `does not validate (not sent):\n${formatIssues(issues)}`, now);
      this.log(`held      ${ev.eventId}: does not validate\n${formatIssues(issues)}`);
      return "held";
    }
    this.queue.built(ev.eventId, { kind: out.kind, resourceId: out.resourceId, identifier: out.identifier, path: out.path, headers: out.headers, body: JSON.stringify(out.body) }, now);
    return "queued";
  }

  /** Tries again to build every held row (after the patient registry was reloaded). */
  rebuildHeld(): number {
    let n = 0;
    for (const row of this.queue.held()) if (this.tryBuild(JSON.parse(row.event)) === "queued") n++;
    return n;
  }

  /** Re-reads the patient registry file and rebuilds held rows. */
  reloadPatients(): number {
    this.patients = loadPatients(this.cfg.patients);
    return this.rebuildHeld();
  }

  /** Starts delivering (and, with [mqtt] configured, consuming the broker's events). */
  async start(): Promise<void> {
    const n = this.rebuildHeld();
    if (n) this.log(`rebuilt   ${n} held event(s)`);
    this.deliverer.start();
    const m = this.cfg.mqtt;
    if (!m) return;
    const client = mqtt.connect(m.url, {
      clientId: m.clientId,
      clean: false, // persistent session: events published while we are down wait at the broker
      protocolVersion: 4,
      reconnectPeriod: 1000,
      username: m.username,
      password: m.password,
      ca: m.ca ? fs.readFileSync(m.ca) : undefined,
      cert: m.cert ? fs.readFileSync(m.cert) : undefined,
      key: m.key ? fs.readFileSync(m.key) : undefined,
    });
    this.client = client;
    // The PUBACK goes out only after this callback: the event is in the SQLite queue (synchronous
    // write, synchronous = FULL) before the broker may forget it.
    client.handleMessage = (packet, done) => {
      try {
        const ev = decodeEventPayload(packet.payload as Buffer);
        const bad = checkTopic(packet.topic, ev);
        if (bad) this.log(`ignored   ${bad}`);
        else {
          const r = this.ingest(ev);
          if (r !== "skipped") this.log(`${r.padEnd(9)} ${ev.eventId} ${ev.type}`);
        }
        done();
      } catch (e) {
        // a payload that cannot be decoded will not decode on redelivery either: log it, ack it
        this.log(`ignored   ${packet.topic}: ${(e as Error).message}`);
        done();
      }
    };
    client.on("connect", () => {
      client.subscribe(filter("event", m.gateway), { qos: 1 }, (err) => {
        if (err) this.log(`mqtt      subscribe failed: ${err.message}`);
      });
      this.log(`mqtt      connected to ${m.url} as ${m.clientId}, subscribed to ${filter("event", m.gateway)}`);
    });
    client.on("error", (e) => this.log(`mqtt      ${m.url}: ${e.message}`));
  }

  async stop(): Promise<void> {
    this.deliverer.stop();
    if (this.client) await this.client.endAsync();
    this.client = null;
    await this.deliverer.idle();
    this.queue.close();
  }
}

/** Status for the operator: counts per status and the rows that are not accepted (or all). */
export function exportStatus(queue: ExportQueue, all = false): { counts: Record<Status, number>; events: any[] } {
  const rows = queue.rows(undefined, 100_000).filter((r) => all || r.status !== "accepted");
  return {
    counts: queue.counts(),
    events: rows.map((r) => ({
      eventId: r.eventId,
      status: r.status,
      type: r.type,
      device: r.device,
      time: new Date(r.time * 1000).toISOString(),
      code: r.code,
      kind: r.kind,
      resourceId: r.resourceId || undefined,
      attempts: r.attempts,
      nextAt: r.status === "queued" && r.nextAt ? new Date(r.nextAt).toISOString() : undefined,
      httpStatus: r.httpStatus || undefined,
      error: r.lastError || undefined,
      outcome: r.outcome ? JSON.parse(r.outcome) : undefined,
    })),
  };
}

/** Human form of exportStatus. */
export function formatStatus(s: ReturnType<typeof exportStatus>): string {
  const c = s.counts;
  const lines = [`queued ${c.queued}, sent ${c.sent}, accepted ${c.accepted}, rejected ${c.rejected}, held ${c.held}`];
  for (const e of s.events) {
    lines.push(`${e.status.padEnd(9)} ${e.eventId}  ${e.type} device ${e.device} at ${e.time}  ${e.code}${e.attempts ? `  attempts ${e.attempts}` : ""}${e.nextAt ? `  next ${e.nextAt}` : ""}`);
    if (e.error) lines.push(`          ${e.error.split("\n").join("\n          ")}`);
  }
  return lines.join("\n");
}
