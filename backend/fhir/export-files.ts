// Export of a recorded event stream to FHIR JSON files, for inspection (`varde fhir export`) and for the
// committed example (`make fhir-example`): one file per message Bundle or DetectedIssue, named by its
// position, what it is and its code, e.g. 01-bundle-dispense-1.1-2001.json, 03-detectedissue-alert-1.1-2001.json.
// Every file is validated (validate.ts) before it is written; an invalid one stops the export.
import * as fs from "node:fs";
import * as path from "node:path";
import type { PatientRegistry } from "../patients.ts";
import type { FhirConfig } from "./config.ts";
import type { BackendEvent } from "./events.ts";
import { build } from "./resources.ts";
import { formatIssues, validateExport } from "./validate.ts";

export interface ExportedFile {
  file: string;
  eventId: string;
  type: string;
  kind: "message" | "issue";
  code: string;
  resourceId: string;
}

export type Made = ExportedFile & { body: any };

export interface FileExport {
  files: ExportedFile[];
  skipped: Array<{ eventId: string; type: string; reason: string }>;
}

/** Builds and validates every event's resources; throws naming the event when one is invalid or has no patient. */
export function exportEvents(events: BackendEvent[], o: { cfg: Pick<FhirConfig, "sender" | "receiver" | "deviceSystem">; patients: PatientRegistry; exportTime: Date }): { made: Made[]; skipped: FileExport["skipped"] } {
  const made: Made[] = [];
  const skipped: FileExport["skipped"] = [];
  const seen = new Set<string>();
  for (const ev of events) {
    if (seen.has(ev.eventId)) continue; // the contract's dedup key: a redelivered event is the same event
    seen.add(ev.eventId);
    const patient = o.patients.byDevice.get(ev.device);
    const planned = patient ? build(ev, { cfg: o.cfg, patient, exportTime: o.exportTime }) : undefined;
    if (planned && "skip" in planned) {
      skipped.push({ eventId: ev.eventId, type: ev.type, reason: planned.skip });
      continue;
    }
    if (!planned) {
      const probe = build(ev, { cfg: o.cfg, patient: { id: "", name: "", nationalId: "", idKind: "fnr", idSystem: "", team: "", devices: [] }, exportTime: o.exportTime });
      if ("skip" in probe) skipped.push({ eventId: ev.eventId, type: ev.type, reason: probe.skip });
      else throw new Error(`event ${ev.eventId} (${ev.type}): device ${ev.device} has no patient in ${o.patients.path}; add it to a patient's devices = [...]`);
      continue;
    }
    const issues = validateExport(planned.body);
    if (issues.length) throw new Error(`event ${ev.eventId} (${ev.type}) does not validate:\n${formatIssues(issues)}`);
    const coding = planned.kind === "message" ? planned.body.entry[1].resource.category.coding[0] : planned.body.code.coding[0];
    const code = `${planned.kind === "message" ? "dispense" : "alert"}-${coding.code}`;
    const n = String(made.length + 1).padStart(2, "0");
    made.push({ file: `${n}-${planned.kind === "message" ? "bundle" : "detectedissue"}-${code}-${ev.device}.json`, eventId: ev.eventId, type: ev.type, kind: planned.kind, code: `${code} ${coding.display}`, resourceId: planned.resourceId, body: planned.body });
  }
  return { made, skipped };
}

/** Writes the export to `dir` (its old *.json files are removed first, so the folder is exactly the export). */
export function writeExport(dir: string, made: Made[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (/^\d+-(bundle|detectedissue)-.*\.json$/.test(f)) fs.rmSync(path.join(dir, f));
  for (const m of made) fs.writeFileSync(path.join(dir, m.file), JSON.stringify(m.body, null, 2) + "\n");
}
