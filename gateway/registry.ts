// The provisioning registry: a TOML file listing every device this gateway may talk to, with the
// per-device key that authenticates its frames. Written by `varde provision` (appendDevice), read by
// the gateway at start (loadRegistry). Format, one table per device:
//
//   [[device]]
//   id = 1001                 # numeric device id, 1..4294967295 (Envelope.device)
//   kind = "alarm"            # "alarm" | "dispenser"
//   board = "alarm-esp32"     # hardware/<board>.toml
//   key = "<64 hex chars>"    # 32-byte device key (HMAC-SHA256), secret: never logged
//   label = "Flat 3B, Ola N." # free text for people
//   created = "2026-11-23T05:00:00.000Z"
//
// appendDevice appends text (never rewrites the file), so comments and other entries survive, and
// writes with fsync so a provisioned device is not lost to a power cut.
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import TOML from "@iarna/toml";

export type DeviceKindName = "alarm" | "dispenser";

export interface DeviceEntry {
  id: number;
  kind: DeviceKindName;
  board: string;
  /** 64 hex chars (32 bytes) */
  key: string;
  label: string;
  created: string;
}

export interface Registry {
  path: string;
  devices: DeviceEntry[];
  byId: Map<number, DeviceEntry & { keyBytes: Uint8Array }>;
}

/** A fresh random 32-byte device key as 64 lowercase hex chars. */
export function newDeviceKey(): string {
  return crypto.randomBytes(32).toString("hex");
}

function fail(path: string, where: string, msg: string): never {
  throw new Error(`${path}: ${where}: ${msg}`);
}

/** Checks one entry; `where` names it in errors, e.g. "device #2 (id 1001)". */
export function validateEntry(path: string, where: string, raw: Record<string, unknown>): DeviceEntry {
  const id = raw.id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id > 0xffffffff)
    fail(path, where, `key "id" = ${JSON.stringify(id)} must be an integer 1..4294967295; fix the id or re-provision the device`);
  const kind = raw.kind;
  if (kind !== "alarm" && kind !== "dispenser")
    fail(path, where, `key "kind" = ${JSON.stringify(kind)} must be "alarm" or "dispenser"`);
  const board = raw.board;
  if (typeof board !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(board))
    fail(path, where, `key "board" = ${JSON.stringify(board)} must be a board id like "alarm-esp32" (hardware/<board>.toml)`);
  const key = raw.key;
  if (typeof key !== "string" || !/^[0-9a-fA-F]{64}$/.test(key))
    fail(path, where, `key "key" must be 64 hex characters (32 bytes); re-provision the device to get a new key`);
  const label = raw.label === undefined ? "" : raw.label;
  if (typeof label !== "string") fail(path, where, `key "label" must be a string`);
  let created = raw.created === undefined ? "" : raw.created;
  if (created instanceof Date) created = created.toISOString();
  if (typeof created !== "string") fail(path, where, `key "created" must be an ISO date string`);
  return { id, kind, board, key: key.toLowerCase(), label, created };
}

/** Reads and validates the registry. A missing file is an empty registry (nothing provisioned yet). */
export function loadRegistry(path: string): Registry {
  let text = "";
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${path}: cannot read the registry: ${(e as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not valid TOML: ${(e as Error).message}`);
  }
  const list = doc.device === undefined ? [] : doc.device;
  if (!Array.isArray(list)) fail(path, "device", "must be an array of tables: write each device as [[device]]");
  const devices: DeviceEntry[] = [];
  const byId = new Map<number, DeviceEntry & { keyBytes: Uint8Array }>();
  list.forEach((raw, i) => {
    const where = `device #${i + 1}${typeof raw?.id === "number" ? ` (id ${raw.id})` : ""}`;
    const e = validateEntry(path, where, raw as Record<string, unknown>);
    if (byId.has(e.id)) fail(path, where, `id ${e.id} appears twice; remove one of the entries`);
    devices.push(e);
    byId.set(e.id, { ...e, keyBytes: new Uint8Array(Buffer.from(e.key, "hex")) });
  });
  return { path, devices, byId };
}

function tomlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid TOML basic string
}

/** Appends one device (validated; its id must be new) to the registry file, creating it if needed. */
export function appendDevice(path: string, entry: DeviceEntry): void {
  const e = validateEntry(path, `new device (id ${entry.id})`, entry as unknown as Record<string, unknown>);
  const reg = loadRegistry(path);
  if (reg.byId.has(e.id)) fail(path, `new device (id ${e.id})`, `id ${e.id} is already provisioned; pick another id`);
  const text =
    `\n[[device]]\nid = ${e.id}\nkind = ${tomlString(e.kind)}\nboard = ${tomlString(e.board)}\n` +
    `key = ${tomlString(e.key)}\nlabel = ${tomlString(e.label)}\ncreated = ${tomlString(e.created || new Date().toISOString())}\n`;
  const fd = fs.openSync(path, "a", 0o600); // the file holds secrets
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The next free id at or above `from` (ids are never reused while the entry exists). */
export function nextDeviceId(reg: Registry, from = 1001): number {
  let id = from;
  for (const d of reg.devices) if (d.id >= id) id = d.id + 1;
  return id;
}
