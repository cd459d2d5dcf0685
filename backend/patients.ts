// The municipality's patient registry: which patient each device belongs to, with the patient's
// Norwegian national identity number, name and care team. Read by the reference backend (console:
// names, teams, access) and by the FHIR exporter (subject identifiers). One TOML file:
//
//   allow_synthetic = false        # true: accept synthetic test persons (Tenor: month + 80); tests only
//
//   [[patient]]
//   id = "p-1001"                  # local id, stable (letters, digits, - _ .)
//   name = "Kari Nordmann"         # display name (FHIR subject.display)
//   national_id = "..."            # 11 digits: fødselsnummer, D-number or FH-number (validated below)
//   team = "nord"                  # home-care team: a nurse sees only her team's patients
//   devices = [1001, 2001]         # device ids (gateway registry ids) worn or used by this patient
//
// Validation (every error names the file, the entry and the key, and says how to fix it):
//  * 11 digits with both mod-11 check digits right (weights 3 7 6 1 8 9 4 5 2 and 5 4 3 2 7 6 5 4 3 2;
//    a remainder giving check digit 10 makes the number invalid).
//  * kind from the first digit: 0-3 fødselsnummer (day 01-31), 4-7 D-number (day + 40), 8-9 FH-number
//    (felles hjelpenummer: no date inside, only the check digits are validated).
//  * fødselsnummer / D-number: month 01-12, or 81-92 for synthetic persons when allow_synthetic is set.
//  * a device belongs to one patient; ids and national ids are unique.
// Each kind has its own FHIR identifier system (HL7 Norway / VKP profiles).
import * as fs from "node:fs";
import TOML from "@iarna/toml";

export type NationalIdKind = "fnr" | "dnr" | "fhn";

/** FHIR identifier systems of the three kinds (urn:oid of the Norwegian national registries). */
export const NATIONAL_ID_SYSTEMS: Record<NationalIdKind, string> = {
  fnr: "urn:oid:2.16.578.1.12.4.1.4.1",
  dnr: "urn:oid:2.16.578.1.12.4.1.4.2",
  fhn: "urn:oid:2.16.578.1.12.4.1.4.3",
};

export interface Patient {
  id: string;
  name: string;
  nationalId: string;
  idKind: NationalIdKind;
  /** FHIR identifier system of nationalId */
  idSystem: string;
  team: string;
  devices: number[];
}

export interface PatientRegistry {
  path: string;
  patients: Patient[];
  byId: Map<string, Patient>;
  byDevice: Map<number, Patient>;
}

export class PatientRegistryError extends Error {}

const W1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const W2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

function checkDigit(digits: number[], weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += digits[i] * weights[i];
  const k = 11 - (sum % 11);
  return k === 11 ? 0 : k; // 10: no valid number has it
}

/** Completes 9 digits with both check digits (test data, e.g. synthetic persons); undefined when none exists. */
export function withCheckDigits(nine: string): string | undefined {
  if (!/^[0-9]{9}$/.test(nine)) return undefined;
  const d = [...nine].map(Number);
  const k1 = checkDigit(d, W1);
  if (k1 === 10) return undefined;
  const k2 = checkDigit([...d, k1], W2);
  if (k2 === 10) return undefined;
  return nine + k1 + k2;
}

/**
 * Why an 11-digit national identity number is not valid (undefined when it is), and its kind.
 * allowSynthetic accepts Tenor's synthetic persons (month + 80).
 */
export function checkNationalId(value: string, allowSynthetic = false): { kind?: NationalIdKind; error?: string } {
  if (!/^[0-9]{11}$/.test(value)) return { error: "must be exactly 11 digits" };
  const d = [...value].map(Number);
  const k1 = checkDigit(d, W1);
  if (k1 === 10 || k1 !== d[9]) return { error: "first check digit (digit 10) is wrong" };
  const k2 = checkDigit(d, W2);
  if (k2 === 10 || k2 !== d[10]) return { error: "second check digit (digit 11) is wrong" };
  if (d[0] >= 8) return { kind: "fhn" };
  const kind: NationalIdKind = d[0] >= 4 ? "dnr" : "fnr";
  const day = d[0] * 10 + d[1] - (kind === "dnr" ? 40 : 0);
  let month = d[2] * 10 + d[3];
  if (month > 80 && allowSynthetic) month -= 80;
  if (month < 1 || month > 12)
    return { error: `month ${value.slice(2, 4)} is not 01-12${allowSynthetic ? " (or 81-92 for a synthetic person)" : " (a synthetic test person needs allow_synthetic = true)"}` };
  if (day < 1 || day > 31) return { error: `day ${value.slice(0, 2)} is not a ${kind === "dnr" ? "D-number day (41-71)" : "day (01-31)"}` };
  return { kind };
}

function fail(path: string, where: string, msg: string): never {
  throw new PatientRegistryError(`${path}: ${where}: ${msg}`);
}

/** Parses and validates a patient registry file's text (path names it in errors). */
export function parsePatients(path: string, text: string): PatientRegistry {
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new PatientRegistryError(`${path}: not valid TOML: ${(e as Error).message}`);
  }
  const allowSynthetic = doc.allow_synthetic === true;
  if (doc.allow_synthetic !== undefined && typeof doc.allow_synthetic !== "boolean")
    fail(path, "top level", `key "allow_synthetic" must be true or false`);
  const raw = doc.patient === undefined ? [] : doc.patient;
  if (!Array.isArray(raw)) fail(path, "top level", `"patient" must be an array of tables: write each patient as [[patient]]`);
  const reg: PatientRegistry = { path, patients: [], byId: new Map(), byDevice: new Map() };
  const byNational = new Map<string, string>();
  raw.forEach((r: Record<string, unknown>, i: number) => {
    let where = `patient #${i + 1}`;
    const id = r.id;
    if (typeof id !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(id))
      fail(path, where, `key "id" = ${JSON.stringify(id)} must be 1-64 letters, digits, ".", "_" or "-"`);
    where += ` (id ${id})`;
    if (reg.byId.has(id)) fail(path, where, `id "${id}" is used twice; give each patient its own id`);
    const name = r.name;
    if (typeof name !== "string" || name.trim() === "") fail(path, where, `key "name" must be the patient's name`);
    const nid = r.national_id;
    if (typeof nid !== "string") fail(path, where, `key "national_id" must be the 11-digit number as a quoted string`);
    const chk = checkNationalId(nid, allowSynthetic);
    if (chk.error) fail(path, where, `key "national_id": ${chk.error}; check the number against the national registry`);
    if (byNational.has(nid)) fail(path, where, `national_id is also patient "${byNational.get(nid)}"; one entry per person`);
    const team = r.team;
    if (typeof team !== "string" || team.trim() === "") fail(path, where, `key "team" must name the patient's care team`);
    const devices = r.devices === undefined ? [] : r.devices;
    if (!Array.isArray(devices) || devices.some((x) => typeof x !== "number" || !Number.isInteger(x) || x < 1 || x > 0xffffffff))
      fail(path, where, `key "devices" must be a list of device ids (integers 1..4294967295), e.g. devices = [1001]`);
    const p: Patient = {
      id, name, nationalId: nid, idKind: chk.kind!, idSystem: NATIONAL_ID_SYSTEMS[chk.kind!], team, devices: devices as number[],
    };
    for (const dev of p.devices) {
      const other = reg.byDevice.get(dev);
      if (other) fail(path, where, `device ${dev} already belongs to patient "${other.id}"; a device has one patient`);
      reg.byDevice.set(dev, p);
    }
    byNational.set(nid, id);
    reg.byId.set(id, p);
    reg.patients.push(p);
  });
  return reg;
}

/** Loads a patient registry file; errors name the file and what to fix. */
export function loadPatients(path: string): PatientRegistry {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EISDIR" ? "is a directory, not a file" : code === "EACCES" ? "is not readable (permissions)" : (e as Error).message;
    throw new PatientRegistryError(`patient registry ${path} ${why}; point the config at the patients TOML file`);
  }
  return parsePatients(path, text);
}
