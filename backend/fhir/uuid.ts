// Name-based UUIDs (RFC 9562 version 5: SHA-1 over a namespace and a name). Every id and identifier
// the exporter writes is one of these, named by the event id and the resource's role, so a re-sent or
// re-exported event yields the same resources: the patient record can recognise a copy.
import { createHash } from "node:crypto";

/** Varde's namespace for FHIR ids (a fixed random UUID; never change it: every exported id depends on it). */
export const VARDE_FHIR_NAMESPACE = "3f6f0c7e-5a1d-4c8b-9e2a-7b4d1f0a9c63";

function bytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, "hex");
}

/** UUID version 5 of `name` in `namespace` (lower-case, with hyphens). */
export function uuidV5(name: string, namespace = VARDE_FHIR_NAMESPACE): string {
  const h = createHash("sha1").update(bytes(namespace)).update(Buffer.from(name, "utf8")).digest();
  h[6] = (h[6] & 0x0f) | 0x50; // version 5
  h[8] = (h[8] & 0x3f) | 0x80; // RFC variant
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The UUID of one resource role ("MedicationDispense", "Bundle", "MessageHeader", "DetectedIssue") of an event. */
export function eventUuid(eventId: string, role: string): string {
  return uuidV5(`varde:event:${eventId}:${role}`);
}
