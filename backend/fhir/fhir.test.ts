// The exporter's resources: built from events Varde really emits (the recorded stream of the demo's
// devices), valid against base R4 and the VKP profiles, reproducible, and the validation is live.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildExample, DEFAULT_OUT, EXAMPLE_EXPORT_TIME } from "./example/example.ts";
import { EVENTS_PATH } from "./example/paths.ts";
import { decodeEventPayload, parseStreamLine, readEventStream, type BackendEvent } from "./events.ts";
import { build, plan } from "./resources.ts";
import { formatIssues, validateExport } from "./validate.ts";
import { eventUuid } from "./uuid.ts";
import { parseFhirConfig } from "./config.ts";
import { nationalCodes } from "../../gateway/codes.ts";
import { encodeCanonical } from "../../protocol/schema.ts";
import { NATIONAL_ID_SYSTEMS, parsePatients } from "../patients.ts";
import { testExporterToml, testPatientsToml } from "../../test/support/fhir-receiver.ts";
import { ALERT_LIST, DISPENSE_LIST } from "./code-lists.ts";

const events = readEventStream(EVENTS_PATH);
const patients = parsePatients("patients.toml", testPatientsToml("2001, 1001"));
const cfg = parseFhirConfig("fhir.toml", testExporterToml());
const ctx = (t = EXAMPLE_EXPORT_TIME) => ({ cfg, patient: patients.patients[0], exportTime: t });
const outbound = (ev: BackendEvent, t?: Date): any => {
  const o = build(ev, ctx(t));
  if ("skip" in o) throw new Error(`${ev.eventId}: ${o.skip}`);
  return o;
};
const byType = (pred: (ev: BackendEvent) => boolean) => {
  const ev = events.find(pred);
  if (!ev) throw new Error("the recorded stream lacks an event the test needs: rerun make fhir-example-record");
  return ev;
};
const taken = byType((e) => e.type === "dose" && e.codes.some((c) => c.system === DISPENSE_LIST.url && c.code === "1.1"));
const missed = byType((e) => e.type === "dose" && e.codes.some((c) => c.system === ALERT_LIST.url && c.code === "1.1"));

describe("the recorded stream is what the gateway emits", () => {
  it("has the scenario's events: doses taken unassisted and assisted, a missed dose, a fault, a refill warning, an alarm", () => {
    const labels = events.flatMap((e) => e.codes.filter((c) => c.system !== "SCAIP").map((c) => `${c.system === ALERT_LIST.url ? "alert" : "dispense"} ${c.code}`));
    expect(labels).toEqual(expect.arrayContaining(["dispense 1.1", "dispense 1.2", "alert 1.1", "alert 1.8", "alert 1.12", "alert 4.13"]));
    expect(events.some((e) => e.test)).toBe(true);
  });

  it("every event carries exactly the codes the current mapping gives (else: make fhir-example-record)", () => {
    for (const ev of events) expect([ev.eventId, ev.codes]).toEqual([ev.eventId, nationalCodes(ev.type, ev.envelope, ev.kind)]);
  });

  it("protobuf and JSON payloads decode to the same event; event ids are device:boot:seq of the envelope", () => {
    for (const ev of events) {
      expect(decodeEventPayload(encodeCanonical("BackendEvent", ev))).toEqual(ev);
      expect(decodeEventPayload(Buffer.from(JSON.stringify(ev)))).toEqual(ev);
      if (ev.envelope.seq) expect(ev.eventId).toBe(`${ev.device}:${ev.envelope.boot}:${ev.envelope.seq}`);
    }
  });

  it("reads the other recorded-stream forms and names file and line of a bad one", () => {
    const line = fs.readFileSync(EVENTS_PATH, "utf8").split("\n").find((l) => l.includes(taken.eventId))!;
    const { topic, payload } = JSON.parse(line);
    expect(parseStreamLine(`${topic} ${JSON.stringify(payload)}`)!.event).toEqual(taken); // mosquitto_sub -v
    expect(parseStreamLine(JSON.stringify({ topic, payloadBase64: Buffer.from(encodeCanonical("BackendEvent", taken)).toString("base64") }))!.event).toEqual(taken);
    expect(parseStreamLine(JSON.stringify(payload))!.event).toEqual(taken);
    expect(() => parseStreamLine(`varde/v1/other/device/9/event/dose ${JSON.stringify(payload)}`)).toThrow(/does not match its event/);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-fhir-")), "bad.jsonl");
    fs.writeFileSync(f, `# comment\n\n${line}\nnot json at all\n`);
    expect(() => readEventStream(f)).toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:4: `));
  });
});

describe("resources", () => {
  it("every exported resource validates (base R4 with @medplum/core, required bindings, VKP profiles)", () => {
    let n = 0;
    for (const ev of events) {
      const o = build(ev, ctx());
      if ("skip" in o) continue;
      expect([ev.eventId, formatIssues(validateExport(o.body))]).toEqual([ev.eventId, ""]);
      n++;
    }
    expect(n).toBe(7);
  });

  it("a dose taken is a MedicationDispense-to-EPR message focusing one VkpMedicationDispense", () => {
    const o = outbound(taken);
    expect(o).toMatchObject({ kind: "message", path: "$process-message", headers: {} });
    const [h, md] = o.body.entry.map((e: any) => e.resource);
    expect(h.eventCoding).toEqual({ system: "http://ehelse.no/fhir/CodeSystem/vkp-message-event-v090", code: "MedicationDispense", display: "MedicationDispense" });
    expect(h.destination[0].receiver.identifier).toEqual({ system: "urn:oid:2.16.578.1.12.4.1.2", value: "8100002" });
    expect(h.sender.identifier).toEqual({ system: "urn:oid:2.16.578.1.12.4.1.2", value: "8100001" });
    expect(h.focus).toEqual([{ reference: `urn:uuid:${md.id}` }]);
    expect(o.body.timestamp).toBe(EXAMPLE_EXPORT_TIME.toISOString());
    expect(md.category.coding).toEqual([{ system: DISPENSE_LIST.url, code: "1.1", display: "medisin utlevert uassistert" }]);
    expect(md.subject).toEqual({ identifier: { system: NATIONAL_ID_SYSTEMS.fnr, value: "15818512349" }, display: "Kari Nordmann" });
    expect(md.performer).toEqual([{ actor: { identifier: { system: "urn:varde:device-id", value: "2001" }, display: "Varde medisindispenser" } }]);
    expect(md.whenHandedOver).toMatch(/^2026-11-02T08:0\d:\d\d\+01:00$/); // device time, Oslo
    expect(md.identifier).toEqual([{ system: "urn:ietf:rfc:3986", value: `urn:uuid:${eventUuid(taken.eventId, "MedicationDispense")}` }]);
  });

  it("a missed dose is a VkpDetectedIssue by conditional create on its identifier", () => {
    const o = outbound(missed);
    expect(o.kind).toBe("issue");
    expect(o.headers).toEqual({ "If-None-Exist": `identifier=urn:ietf:rfc:3986|urn:uuid:${eventUuid(missed.eventId, "DetectedIssue")}` });
    expect(o.body.code.coding).toEqual([{ system: ALERT_LIST.url, code: "1.1", display: "Ikke utlevert" }]);
    expect(o.body.identifiedDateTime).toMatch(/^2026-11-02T09:1\d:\d\d\+01:00$/); // the late limit of the 09:00 dose
    expect(o.body.author.identifier).toEqual({ system: "urn:varde:device-id", value: "2001" });
  });

  it("nothing for a test alarm, telemetry, or codes of contract 1", () => {
    expect(plan(byType((e) => e.test))).toEqual({ kind: "skip", reason: expect.stringMatching(/test alarm/) });
    expect(plan({ ...missed, codes: [{ system: "VKP", code: "3.3", display: "no confirmation at planned time" }] })).toEqual({ kind: "skip", reason: expect.stringMatching(/contract 1.*upgrade the gateway/) });
    expect(plan(byType((e) => e.type === "schedule_ack")).kind).toBe("skip");
  });

  it("re-exports give the same ids and identifiers; only Bundle.timestamp differs", () => {
    for (const ev of events) {
      const a = build(ev, ctx(new Date("2026-11-02T10:00:00Z")));
      const b = build(ev, ctx(new Date("2027-01-01T00:00:00Z")));
      if ("skip" in a || "skip" in b) continue;
      const strip = (x: any) => ({ ...x, body: { ...x.body, timestamp: undefined } });
      expect(strip(a)).toEqual(strip(b));
      if (a.kind === "message") expect(a.body.timestamp).not.toBe(b.body.timestamp);
      else expect(a).toEqual(b);
    }
  });

  it("deliberately broken resources fail: base R4 and VKP both", () => {
    const msg = outbound(taken).body;
    const md = () => structuredClone(msg);
    const cases: Array<[string, (b: any) => void, RegExp]> = [
      ["no medication[x]", (b) => delete b.entry[1].resource.medicationCodeableConcept, /^R4 .*medication\[x\]/m],
      ["status not in R4", (b) => (b.entry[1].resource.status = "taken"), /^R4-binding .*status/m],
      ["status not in VKP", (b) => (b.entry[1].resource.status = "cancelled"), /^VKP .*in-progress \| completed/m],
      ["old 2021 code", (b) => (b.entry[1].resource.category.coding[0] = { system: DISPENSE_LIST.url, code: "2", display: "ikke utlevert" }), /^VKP .*display "ikke utlevert"/m],
      ["alert system as category", (b) => (b.entry[1].resource.category.coding[0].system = ALERT_LIST.url), /^VKP .*category.*system is/m],
      ["device by reference", (b) => (b.entry[1].resource.performer[0].actor.reference = "Device/1"), /^VKP .*actor.reference: not allowed/m],
      ["wrong national id", (b) => (b.entry[1].resource.subject.identifier.value = "15818512348"), /^VKP .*check digit/m],
      ["STU3 receiver", (b) => (b.entry[0].resource.receiver = { display: "EPJ" }), /^(R4|VKP) .*receiver/m],
      ["focus elsewhere", (b) => (b.entry[0].resource.focus[0].reference = "urn:uuid:00000000-0000-5000-8000-000000000000"), /^VKP .*does not resolve/m],
      ["header not first", (b) => b.entry.reverse(), /^R4 .*bdl-12/m],
    ];
    for (const [name, breakIt, want] of cases) {
      const b = md();
      breakIt(b);
      expect([name, formatIssues(validateExport(b))]).toEqual([name, expect.stringMatching(want)]);
    }
    const di = outbound(missed).body;
    const bad = { ...structuredClone(di), code: { coding: [{ system: ALERT_LIST.url, code: "3.3", display: "no confirmation at planned time" }] } };
    expect(formatIssues(validateExport(bad))).toMatch(/^VKP .*code "3.3" does not exist/m);
    const noPatient = structuredClone(di);
    delete noPatient.patient;
    expect(formatIssues(validateExport(noPatient))).toMatch(/^VKP DetectedIssue.patient: missing/m);
  });
});

describe("the committed example (docs/examples/fhir)", () => {
  it("equals what make fhir-example writes, and two runs give the same files", () => {
    const a = buildExample();
    const b = buildExample();
    expect(a.made.map((m) => JSON.stringify(m.body))).toEqual(b.made.map((m) => JSON.stringify(m.body)));
    const committed = fs.readdirSync(DEFAULT_OUT).filter((f) => f.endsWith(".json")).sort();
    expect(committed, "stale: run make fhir-example").toEqual(a.made.map((m) => m.file).sort());
    for (const m of a.made) expect(fs.readFileSync(path.join(DEFAULT_OUT, m.file), "utf8"), `${m.file} is stale: run make fhir-example`).toBe(JSON.stringify(m.body, null, 2) + "\n");
  });
});

describe("config", () => {
  it("errors name the file and key", () => {
    expect(() => parseFhirConfig("x.toml", `patients = "p"\n[sender]\nher_id = "abc"\nname = "n"\nendpoint = "https://a"\n[receiver]\nher_id = "1"\nname = "r"\nendpoint = "https://b"`)).toThrow(/x\.toml: sender\.her_id: "abc" is not a HER-id/);
    expect(() => parseFhirConfig("x.toml", `patients = "p"\n[sender]\nher_id = "1"\nname = "n"\nendpoint = "https://a"`)).toThrow(/x\.toml: \[receiver\]: missing/);
  });
});
