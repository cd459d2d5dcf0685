// From one backend event to what the patient record receives, per Norway's VKP FHIR R4 profiles
// (docs/fhir-export.md explains each element and Varde's choices):
//  * a dose taken (an event with a VKP dispense-event code) -> a VkpMedicationDispense inside a
//    MedicationDispense-to-EPR message Bundle, sent to [base]/$process-message;
//  * an alert (an event with a VKP alert code: missed dose, not collected, fault, no contact, refill,
//    alarm, ...) -> a VkpDetectedIssue, created with a REST conditional create (VKP defines no message
//    for an alert on its own);
//  * anything else (heartbeats, acks, a cleared fault, a test alarm) -> nothing.
// The exporter reads the codes the gateway attached (the contract), not the device envelope, so the
// code mapping lives in one place (gateway/codes.ts). Every id and identifier is a name-based UUID of
// the event id (uuid.ts): exporting the same event twice gives the same resources; only
// Bundle.timestamp (the time the message was assembled) differs.
import { createRequire } from "node:module";
import type { Patient } from "../patients.ts";
import type { BackendEvent } from "./events.ts";
import type { FhirConfig } from "./config.ts";
import { eventUuid } from "./uuid.ts";
import { osloClock, osloDateTime } from "./time.ts";
import { ALERT_LIST, DISPENSE_LIST, MESSAGE_EVENT_LIST, lookup } from "./code-lists.ts";

export const PROFILE = {
  medicationDispense: "http://ehelse.no/fhir/StructureDefinition/vkp-MedicationDispense-v090",
  detectedIssue: "http://ehelse.no/fhir/StructureDefinition/vkp-DetectedIssue-v090",
  messageHeader: "http://ehelse.no/fhir/StructureDefinition/vkp-MessageHeader-v090",
};
/** Identifier system of UUID identifiers (value "urn:uuid:...") */
export const URI_SYSTEM = "urn:ietf:rfc:3986";
/** HER-id (the Norwegian address register of health-sector actors) */
export const HER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2";

const VERSION: string = createRequire(import.meta.url)("../../package.json").version;

const DEVICE_NAMES: Record<number, string> = { 1: "Varde trygghetsalarm", 2: "Varde medisindispenser" };

/** DetectedIssue.severity per alert code (base R4: high | moderate | low); Varde's reading of urgency. */
export const SEVERITY: Record<string, "high" | "moderate" | "low"> = {
  "4.13": "high", // someone pressed for help
  "1.1": "moderate", "1.2": "moderate", "1.3": "moderate", // a dose not taken
  "1.5": "moderate", "1.8": "moderate", "1.13": "moderate", "1.20": "moderate", "1.22": "moderate", // doses at risk
  "1.12": "low", "1.16": "low", "1.17": "low", "1.19": "low", "1.21": "low", // act on the next visit
};

export type Plan =
  | { kind: "message"; code: { system: string; code: string; display: string } }
  | { kind: "issue"; code: { system: string; code: string; display: string } }
  | { kind: "skip"; reason: string };

/** What an event becomes in the patient record, from its national codes. */
export function plan(ev: BackendEvent): Plan {
  if (ev.test) return { kind: "skip", reason: "test alarm (a drill): not a patient event" };
  const codes = ev.codes ?? [];
  const dispense = codes.find((c) => c.system === DISPENSE_LIST.url);
  if (dispense) return { kind: "message", code: dispense };
  const alert = codes.find((c) => c.system === ALERT_LIST.url);
  if (alert) return { kind: "issue", code: alert };
  if (codes.some((c) => c.system === "VKP"))
    return { kind: "skip", reason: `codes of backend contract 1 (system "VKP", 2021 numbering): upgrade the gateway to contract 2 (CHANGELOG.md)` };
  return { kind: "skip", reason: `${ev.type}: no VKP code` };
}

export interface BuildContext {
  cfg: Pick<FhirConfig, "sender" | "receiver" | "deviceSystem">;
  patient: Patient;
  /** when the message is assembled (Bundle.timestamp) */
  exportTime: Date;
}

/** One thing to send: its HTTP request and the resource as filed (for files and the queue). */
export interface Outbound {
  eventId: string;
  kind: "message" | "issue";
  /** the id of the resource the patient record keeps (MedicationDispense or DetectedIssue) */
  resourceId: string;
  /** the identifier value (urn:uuid:...) of that resource */
  identifier: string;
  /** path below the FHIR base URL */
  path: "$process-message" | "DetectedIssue";
  /** extra request headers (If-None-Exist for a conditional create) */
  headers: Record<string, string>;
  /** the request body: a message Bundle or a DetectedIssue */
  body: any;
}

function codingOf(c: { system: string; code: string }): { system: string; code: string; display: string } {
  const concept = lookup(c.system, c.code);
  if (!concept) throw new Error(`code ${c.code} is not in ${c.system}: the gateway's code list is newer or older than the exporter's`);
  return { system: c.system, code: c.code, display: concept.display };
}

function subject(p: Patient) {
  return { identifier: { system: p.idSystem, value: p.nationalId }, display: p.name };
}

function device(ev: BackendEvent, cfg: BuildContext["cfg"]) {
  return { identifier: { system: cfg.deviceSystem, value: String(ev.device) }, display: DEVICE_NAMES[ev.kind] ?? "Varde-enhet" };
}

function lateNote(ev: BackendEvent): string {
  return ev.late || ev.historical ? " Meldt etter at enheten eller forbindelsen var ute av drift en tid." : "";
}

/** The VkpMedicationDispense of a dose event. */
export function medicationDispense(ev: BackendEvent, code: { system: string; code: string }, ctx: BuildContext): any {
  const id = eventUuid(ev.eventId, "MedicationDispense");
  // category 1 without a mode is "dispensed, not yet taken out of the tray": the hand-over is under way
  const status = code.code === "1" ? "in-progress" : "completed";
  return {
    resourceType: "MedicationDispense",
    id,
    meta: { profile: [PROFILE.medicationDispense] },
    identifier: [{ system: URI_SYSTEM, value: `urn:uuid:${id}` }],
    status,
    category: { coding: [codingOf(code)] },
    // base R4 requires medication[x]; the dispenser hands out a multidose pouch without knowing the drug
    medicationCodeableConcept: { text: "Multidose fra medisindispenser (legemiddel ukjent for enheten)" },
    subject: subject(ctx.patient),
    performer: [{ actor: device(ev, ctx.cfg) }],
    whenHandedOver: osloDateTime(ev.time),
  };
}

/** The MedicationDispense-to-EPR message Bundle of a dose event. */
export function dispenseMessage(ev: BackendEvent, code: { system: string; code: string }, ctx: BuildContext): any {
  const md = medicationDispense(ev, code, ctx);
  const bundleId = eventUuid(ev.eventId, "Bundle");
  const headerId = eventUuid(ev.eventId, "MessageHeader");
  const event = MESSAGE_EVENT_LIST.concepts.find((c) => c.code === "MedicationDispense")!;
  const { sender, receiver } = ctx.cfg;
  const header = {
    resourceType: "MessageHeader",
    id: headerId,
    // VKP's MessageHeader profile is still shaped like STU3 (receiver, timestamp); Varde follows R4
    // (destination[].receiver, Bundle.timestamp) where the two disagree: docs/fhir-export.md
    meta: { profile: [PROFILE.messageHeader] },
    eventCoding: { system: MESSAGE_EVENT_LIST.url, code: event.code, display: event.display },
    destination: [{ name: receiver.name, endpoint: receiver.endpoint, receiver: { identifier: { system: HER_SYSTEM, value: receiver.herId }, display: receiver.name } }],
    sender: { identifier: { system: HER_SYSTEM, value: sender.herId }, display: sender.name },
    source: { name: "Varde", software: "Varde FHIR exporter", version: VERSION, endpoint: sender.endpoint },
    focus: [{ reference: `urn:uuid:${md.id}` }],
  };
  return {
    resourceType: "Bundle",
    id: bundleId,
    identifier: { system: URI_SYSTEM, value: `urn:uuid:${bundleId}` },
    type: "message",
    timestamp: ctx.exportTime.toISOString(),
    entry: [
      { fullUrl: `urn:uuid:${headerId}`, resource: header },
      { fullUrl: `urn:uuid:${md.id}`, resource: md },
    ],
  };
}

/** A short Norwegian text for the nurse: what happened, for dose events when the dose was due. */
function detail(ev: BackendEvent, display: string): string {
  const dose = ev.envelope?.dose;
  const slot = dose?.slot ? ` (rom ${dose.slot})` : "";
  let what = `${display}.`;
  if (ev.type === "dose" && ev.scheduled) what = `${display}: dosen planlagt kl. ${osloClock(ev.scheduled)}${slot}.`;
  else if (ev.type === "supply") what = `${display}: ${ev.envelope?.supply?.remaining ?? 0} doser igjen.`;
  return `${what} Varde-hendelse ${ev.eventId} (${ev.type}).${lateNote(ev)}`;
}

/** The VkpDetectedIssue of an alert event. */
export function detectedIssue(ev: BackendEvent, code: { system: string; code: string }, ctx: BuildContext): any {
  const id = eventUuid(ev.eventId, "DetectedIssue");
  const coding = codingOf(code);
  return {
    resourceType: "DetectedIssue",
    id,
    meta: { profile: [PROFILE.detectedIssue] },
    identifier: [{ system: URI_SYSTEM, value: `urn:uuid:${id}` }],
    status: "final",
    code: { coding: [coding] },
    severity: SEVERITY[coding.code] ?? "moderate",
    patient: subject(ctx.patient),
    identifiedDateTime: osloDateTime(ev.time),
    // the device that raised the alert is its author (R4: "individual or device responsible for the
    // issue being raised"), identified like MedicationDispense.performer: system + serial, no reference
    author: { type: "Device", ...device(ev, ctx.cfg) },
    detail: detail(ev, coding.display),
  };
}

/** What to send for an event; a skip when nothing is (with the reason). */
export function build(ev: BackendEvent, ctx: BuildContext): Outbound | { skip: string } {
  const p = plan(ev);
  if (p.kind === "skip") return { skip: p.reason };
  if (p.kind === "message") {
    const body = dispenseMessage(ev, p.code, ctx);
    const md = body.entry[1].resource;
    return { eventId: ev.eventId, kind: "message", resourceId: md.id, identifier: md.identifier[0].value, path: "$process-message", headers: {}, body };
  }
  const body = detectedIssue(ev, p.code, ctx);
  const identifier = body.identifier[0].value;
  return {
    eventId: ev.eventId,
    kind: "issue",
    resourceId: body.id,
    identifier,
    path: "DetectedIssue",
    // conditional create: the server creates it only when no DetectedIssue has this identifier yet
    headers: { "If-None-Exist": `identifier=${URI_SYSTEM}|${identifier}` },
    body,
  };
}
