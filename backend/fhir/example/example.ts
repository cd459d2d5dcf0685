// The committed example export (docs/examples/fhir/): the recorded event stream of the demo's devices
// (events.jsonl beside this file, made by record.ts) exported with examples/fhir.toml and
// examples/patients.toml at a fixed export time, so the output is byte-for-byte reproducible and
// example.test.ts can fail when the committed copy is stale.
//   make fhir-example [OUT=dir]      (default docs/examples/fhir/)
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadFhirConfig } from "../config.ts";
import { readEventStream } from "../events.ts";
import { exportEvents, writeExport, type Made } from "../export-files.ts";
import { loadPatients } from "../../patients.ts";
import { EVENTS_PATH } from "./paths.ts";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const DEFAULT_OUT = path.join(ROOT, "docs", "examples", "fhir");
/** Bundle.timestamp of the example messages (the time the export ran, fixed for reproducibility) */
export const EXAMPLE_EXPORT_TIME = new Date("2026-11-02T08:45:00Z");

/** The example export, in memory. */
export function buildExample(): { made: Made[]; skipped: Array<{ eventId: string; type: string; reason: string }> } {
  const cfg = loadFhirConfig(path.join(ROOT, "examples", "fhir.toml"));
  const patients = loadPatients(cfg.patients);
  return exportEvents(readEventStream(EVENTS_PATH), { cfg, patients, exportTime: EXAMPLE_EXPORT_TIME });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] || DEFAULT_OUT);
  const { made, skipped } = buildExample();
  writeExport(out, made);
  for (const m of made) console.log(`${path.join(out, m.file)}  ${m.eventId} ${m.type}: ${m.code}`);
  for (const s of skipped) console.log(`skipped ${s.eventId} ${s.type}: ${s.reason}`);
}
