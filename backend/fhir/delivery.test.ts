// Delivery to a local FHIR receiver (test/support/fhir-receiver.ts) that validates what it gets and fails
// on demand: 5xx, 429, 401, hangs (the client's timeout) and dropped connections are retried with
// backoff until accepted; a 4xx is a rejection kept with the server's OperationOutcome; nothing is lost,
// nothing is sent twice with a different identity. Time for the backoff runs on a manual clock.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FhirReceiver, testExporterToml, testPatientsToml } from "../../test/support/fhir-receiver.ts";
import { EVENTS_PATH } from "./example/paths.ts";
import { readEventStream } from "./events.ts";
import { parseFhirConfig } from "./config.ts";
import { Exporter, exportStatus, formatStatus } from "./exporter.ts";
import { classify, type DeliveryClock } from "./deliver.ts";
import { build } from "./resources.ts";
import { loadPatients } from "../patients.ts";

class ManualClock implements DeliveryClock {
  t = Date.UTC(2026, 10, 2, 9, 0);
  private timers: Array<{ at: number; fn: () => void }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const h = { at: this.t + ms, fn };
    this.timers.push(h);
    return h;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
}

const events = readEventStream(EVENTS_PATH);
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function setup(extraPatients = "") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fhir-deliver-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rx = await new FhirReceiver("s3cret").start();
  cleanup.push(() => rx.close());
  fs.writeFileSync(path.join(dir, "token"), "s3cret\n");
  const patients = testPatientsToml;
  fs.writeFileSync(path.join(dir, "patients.toml"), patients("2001, 1001" + extraPatients));
  const cfgText = testExporterToml(`[server]
base_url = "${rx.baseUrl}"
token_file = "token"
timeout_s = 0.3
[retry]
first_s = 1
max_s = 8
`);
  fs.writeFileSync(path.join(dir, "fhir.toml"), cfgText);
  const cfg = parseFhirConfig(path.join(dir, "fhir.toml"), cfgText);
  const clock = new ManualClock();
  const log: string[] = [];
  const open = () => {
    const ex = new Exporter({ cfg, clock, log: (l) => log.push(l) });
    cleanup.push(() => ex.stop().catch(() => {}));
    return ex;
  };
  return { dir, rx, cfg, clock, log, open, writePatients: (d: string) => fs.writeFileSync(path.join(dir, "patients.toml"), patients(d)) };
}

/** Pumps and advances the manual clock by the longest backoff until `done` (bounded). */
async function deliverUntil(ex: Exporter, clock: ManualClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 40 && !done(); i++) {
    await ex.deliverer.idle();
    await ex.deliverer.pump();
    await ex.deliverer.idle();
    clock.advance(8000);
  }
  expect(done()).toBe(true);
}

const exportable = events.filter((ev) => {
  const o = build(ev, { cfg: { sender: { herId: "1", name: "s", endpoint: "https://s" }, receiver: { herId: "2", name: "r", endpoint: "https://r" }, deviceSystem: "urn:x:y" }, patient: { id: "", name: "", nationalId: "", idKind: "fnr", idSystem: "", team: "", devices: [] }, exportTime: new Date() });
  return !("skip" in o);
});

describe("delivery", () => {
  it("retries 5xx, 429, 401, timeouts and dropped connections until accepted: nothing lost, one identity per event", async () => {
    const { rx, clock, open, log } = await setup();
    const ex = open();
    rx.failNext({ status: 503 }, "hang", "drop", { status: 429 }, { status: 401 }, { status: 500 }, "hang");
    for (const ev of events) ex.ingest(ev);
    expect(ex.queue.counts().queued + ex.queue.counts().sent).toBe(exportable.length);
    await deliverUntil(ex, clock, () => ex.queue.counts().accepted === exportable.length);
    expect(rx.invalid).toEqual([]);
    expect(rx.stored.size).toBe(exportable.length);
    for (const [id, bodies] of rx.bodies) expect([id, bodies.size]).toEqual([id, 1]); // every retry: the same bytes
    // every event maps to exactly one identity, and every identity to one event
    const identities = ex.queue.rows().map((r) => r.identifier);
    expect(new Set(identities).size).toBe(exportable.length);
    expect([...rx.stored.keys()].sort()).toEqual([...identities].sort());
    expect(rx.requests.length).toBe(exportable.length + 7);
    expect(ex.queue.rows().some((r) => r.attempts > 1)).toBe(true);
    expect(log.join("\n")).toMatch(/retry .*no answer within 0.3 s/);
    expect(log.join("\n")).toMatch(/retry .*HTTP 401 \(check the bearer token/);
    // the same events again (QoS 1 redelivery, a replayed recording): duplicates, nothing sent
    for (const ev of events) expect(["skipped", "duplicate"]).toContain(ex.ingest(ev));
    await ex.deliverer.pump();
    expect(rx.requests.length).toBe(exportable.length + 7);
  });

  it("a 4xx is a rejection with the server's OperationOutcome, shown to the operator; retry sends it again", async () => {
    const { rx, clock, open } = await setup();
    const ex = open();
    const oo = { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "business-rule", diagnostics: "patient not in this municipality" }] };
    rx.failNext({ status: 422, outcome: oo });
    const first = exportable[0];
    ex.ingest(first);
    await deliverUntil(ex, clock, () => ex.queue.counts().rejected === 1);
    const s = exportStatus(ex.queue);
    expect(s.events[0]).toMatchObject({ eventId: first.eventId, status: "rejected", httpStatus: 422, outcome: oo });
    expect(formatStatus(s)).toMatch(/rejected [\s\S]* HTTP 422: error business-rule patient not in this municipality/);
    expect(ex.queue.requeue(first.eventId, clock.now())).toBe(true);
    await deliverUntil(ex, clock, () => ex.queue.counts().accepted === 1);
    expect(rx.stored.size).toBe(1);
  });

  it("an event of a device without a patient is held, not lost, and sent once the registry has it", async () => {
    const { rx, clock, open, writePatients } = await setup();
    writePatients("1001");
    const ex = open();
    for (const ev of events) ex.ingest(ev);
    const held = ex.queue.counts().held;
    expect(held).toBe(exportable.filter((e) => e.device === 2001).length);
    expect(exportStatus(ex.queue).events.find((e) => e.status === "held")!.error).toMatch(/device 2001 has no patient in .*patients\.toml: add it/);
    writePatients("1001, 2001");
    expect(ex.reloadPatients()).toBe(held);
    await deliverUntil(ex, clock, () => ex.queue.counts().accepted === exportable.length);
    expect(rx.stored.size).toBe(exportable.length);
  });

  it("rows in flight when the exporter stopped are sent again after a restart, with the same identity", async () => {
    const { rx, clock, open } = await setup();
    const a = open();
    rx.failNext("hang");
    a.ingest(exportable[0]);
    await a.deliverer.idle();
    expect(rx.requests.length).toBe(1);
    // simulate the crash in the middle of the request: the row stays 'sent'
    a.queue.markSent(exportable[0].eventId, clock.now());
    a.deliverer.stop();
    a.queue.close();
    const b = open();
    expect(b.queue.counts().sent).toBe(1);
    await deliverUntil(b, clock, () => b.queue.counts().accepted === 1);
    expect(new Set(rx.requests.map((r) => r.identity)).size).toBe(1);
    expect(rx.bodies.get(rx.requests[0].identity)!.size).toBe(1);
  });
});

describe("answers", () => {
  it("classifies $process-message responses by MessageHeader.response.code", () => {
    const resp = (code: string, extra: any[] = []) => JSON.stringify({ resourceType: "Bundle", type: "message", entry: [{ resource: { resourceType: "MessageHeader", response: { identifier: "x", code } } }, ...extra] });
    expect(classify("$process-message", 200, resp("ok"), null).kind).toBe("accepted");
    expect(classify("$process-message", 200, resp("transient-error"), "30")).toMatchObject({ kind: "retry", retryAfterS: 30 });
    const r = classify("$process-message", 200, resp("fatal-error", [{ resource: { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "invalid", diagnostics: "unknown patient" }] } }]), null);
    expect(r).toMatchObject({ kind: "rejected", error: expect.stringMatching(/unknown patient/) });
    expect(classify("DetectedIssue", 201, "", null).kind).toBe("accepted");
    expect(classify("DetectedIssue", 412, "", null).kind).toBe("rejected"); // several matches for If-None-Exist
    expect(classify("DetectedIssue", 404, "", null)).toMatchObject({ kind: "retry", error: expect.stringMatching(/base_url/) });
  });

  it("loads patients the exporter uses from the file named in the config", async () => {
    const { cfg } = await setup();
    expect(loadPatients(cfg.patients).byDevice.get(2001)?.name).toBe("Kari Nordmann");
  });
});
