// Board definitions: hardware/<id>.toml -> typed Board, validated. Read by the firmware build (budget,
// pins and defaults reach the bundle as the global BOARD) and by the simulator (pins, flash, JsVars).
// Keys keep their TOML spelling (snake_case) so an error message and the file use the same names.
// The schema is open: sections other than the common ones (e.g. [dispenser]) are kept in `extra`,
// unknown pins and defaults are kept as given, and kind-specific required keys are listed in REQUIRED.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import TOML from "@iarna/toml";

export const HARDWARE_DIR = dirname(fileURLToPath(import.meta.url));

export type BoardKind = "alarm" | "dispenser";

export interface BoardMemory {
  /** JsVars (RAM blocks) on the interpreter */
  jsvars: number;
  /** bytes per JsVar: 13 on nRF52, 16 on ESP32 */
  var_bytes: number;
  /** largest minified app bundle the build accepts, bytes */
  bundle_budget: number;
  /** Storage (flash) bytes the app may use */
  storage_bytes: number;
}

export interface BoardData {
  /** "host": the upstream Espruino interpreter built for Linux, in tests (firmware/hal/hal.ts: data port
   *  and pins on pseudo-terminals named in Storage "varde.host") */
  transport: "serial" | "ble" | "host";
  /** serial: the Espruino serial device, e.g. "Serial1" */
  serial?: string;
  tx?: string;
  rx?: string;
  baud?: number;
  /** ble: advertised name and the Varde service / characteristic UUIDs */
  ble_name?: string;
  service?: string;
  to_device?: string;
  from_device?: string;
  /** bytes per BLE notification */
  mtu_payload?: number;
  /** ms between two notifications while the link is busy: the device sends one at a time (its SoftDevice
   *  queue may hold one), so this must exceed the connection interval */
  notify_gap_ms?: number;
  /** the same after a quiet spell, when Espruino has slowed the connection interval */
  notify_idle_gap_ms?: number;
  require_encryption?: boolean;
}

export interface BoardBattery {
  divider: number;
  vref: number;
  full_mv: number;
  empty_mv: number;
  low_mv: number;
  capacity_mah: number;
  avg_current_ma: number;
}

export interface Board {
  id: string;
  kind: BoardKind;
  chip: string;
  description: string;
  /** absolute path of the TOML file it came from */
  file: string;
  memory: BoardMemory;
  /** pin role -> Espruino pin name (D0..D48); booleans such as button_active_low are kept too */
  pins: Record<string, string | boolean>;
  battery?: BoardBattery;
  data: BoardData;
  /** behaviour defaults (ms / s as the key says); the backend may override some via Config */
  defaults: Record<string, number | boolean>;
  /** kind-specific sections, e.g. extra.dispenser */
  extra: Record<string, Record<string, unknown>>;
}

type Rule = "int+" | "int0" | "number" | "bool" | "string" | "pin" | "uuid";

const COMMON: Record<string, Record<string, Rule>> = {
  memory: { jsvars: "int+", var_bytes: "int+", bundle_budget: "int+", storage_bytes: "int+" },
  pins: { button: "pin" },
};

/** Extra required keys per kind (the dispenser helper may add its own here). */
const REQUIRED: Record<string, Record<string, Record<string, Rule>>> = {
  alarm: {
    pins: { led_red: "pin", led_green: "pin", led_blue: "pin", buzzer: "pin", battery: "pin", button_active_low: "bool" },
    battery: {
      divider: "number", vref: "number", full_mv: "int+", empty_mv: "int+", low_mv: "int+",
      capacity_mah: "number", avg_current_ma: "number",
    },
    defaults: {
      debounce_ms: "int0", backoff_min_s: "int+", backoff_max_s: "int+", heartbeat_s: "int+",
      cancel_window_s: "int0", cancel_guard_ms: "int0", ack_timeout_s: "int+", hold_ms: "int+", hold_to_alarm: "bool",
      test_presses: "int+", test_press_window_ms: "int+", outbox_max: "int+",
    },
  },
  dispenser: {},
};

const SERIAL: Record<string, Rule> = { serial: "string", tx: "pin", rx: "pin", baud: "int+" };
const BLE: Record<string, Rule> = {
  ble_name: "string", service: "uuid", to_device: "uuid", from_device: "uuid", mtu_payload: "int+",
  notify_gap_ms: "int+", notify_idle_gap_ms: "int+", require_encryption: "bool",
};

const HOST: Record<string, Rule> = { baud: "int+" };

const FIX: Record<Rule, string> = {
  "int+": "a whole number greater than 0",
  int0: "a whole number, 0 or more",
  number: "a number",
  bool: "true or false",
  string: "a quoted string",
  pin: 'an Espruino pin name "D0".."D48"',
  uuid: 'a 128-bit UUID like "6e6b0001-5661-7264-6521-a1a2a3a4a5a6"',
};

export class BoardError extends Error {}

function fail(file: string, key: string, value: unknown, fix: string): never {
  const shown = value === undefined ? "missing" : "got " + JSON.stringify(value);
  throw new BoardError(`${file}: key "${key}" ${shown}; expected ${fix}`);
}

function okRule(rule: Rule, v: unknown): boolean {
  switch (rule) {
    case "int+": return typeof v === "number" && Number.isInteger(v) && v > 0;
    case "int0": return typeof v === "number" && Number.isInteger(v) && v >= 0;
    case "number": return typeof v === "number" && Number.isFinite(v);
    case "bool": return typeof v === "boolean";
    case "string": return typeof v === "string" && v.length > 0;
    case "pin": return typeof v === "string" && /^D([0-9]|[1-3][0-9]|4[0-8])$/.test(v);
    case "uuid": return typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v);
  }
}

function section(file: string, raw: Record<string, unknown>, name: string): Record<string, unknown> {
  const s = raw[name];
  if (s === undefined) return {};
  if (typeof s !== "object" || s === null || Array.isArray(s)) fail(file, name, s, `a [${name}] table`);
  return s as Record<string, unknown>;
}

function check(file: string, raw: Record<string, unknown>, rules: Record<string, Record<string, Rule>>): void {
  for (const sec of Object.keys(rules)) {
    const s = section(file, raw, sec);
    for (const key of Object.keys(rules[sec])) {
      const rule = rules[sec][key];
      if (!okRule(rule, s[key])) fail(file, `${sec}.${key}`, s[key], FIX[rule]);
    }
  }
}

/** Resolves a board id ("alarm-esp32") or a path to a .toml file. */
export function boardPath(idOrPath: string): string {
  if (idOrPath.endsWith(".toml") || idOrPath.includes("/")) return resolve(idOrPath);
  return join(HARDWARE_DIR, idOrPath + ".toml");
}

/** Parses and validates a board file. Errors name the file, key, bad value and the expected form. */
export function parseBoard(file: string, text: string): Board {
  let raw: Record<string, unknown>;
  try {
    raw = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new BoardError(`${file}: not valid TOML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (raw.extends !== undefined) raw = extend(file, raw);
  const expectId = basename(file, ".toml");
  if (typeof raw.id !== "string" || !/^[a-z0-9-]+$/.test(raw.id)) fail(file, "id", raw.id, 'a lower-case id such as "alarm-esp32"');
  if (raw.id !== expectId) fail(file, "id", raw.id, `"${expectId}" (the id must match the file name)`);
  if (raw.kind !== "alarm" && raw.kind !== "dispenser") fail(file, "kind", raw.kind, '"alarm" or "dispenser"');
  if (typeof raw.chip !== "string" || raw.chip === "") fail(file, "chip", raw.chip, 'the chip name, e.g. "ESP32" or "nRF52832"');
  check(file, raw, COMMON);
  check(file, raw, REQUIRED[raw.kind]);
  const data = section(file, raw, "data");
  if (data.transport === "serial") check(file, raw, { data: SERIAL });
  else if (data.transport === "ble") check(file, raw, { data: BLE });
  else if (data.transport === "host") check(file, raw, { data: HOST });
  else fail(file, "data.transport", data.transport, '"serial", "ble" or "host" (the Linux interpreter in tests)');
  if (data.transport === "ble" && (data.mtu_payload as number) < 20) fail(file, "data.mtu_payload", data.mtu_payload, "at least 20 (the BLE default notification size)");
  const pins = section(file, raw, "pins");
  for (const k of Object.keys(pins)) {
    const v = pins[k];
    if (typeof v === "boolean") continue;
    if (!okRule("pin", v)) fail(file, "pins." + k, v, FIX.pin);
  }
  const defaults = section(file, raw, "defaults");
  for (const k of Object.keys(defaults)) {
    const v = defaults[k];
    if (typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) fail(file, "defaults." + k, v, "a number >= 0 or true/false");
  }
  const d = defaults as Record<string, number>;
  if (d.backoff_max_s !== undefined && d.backoff_min_s !== undefined && d.backoff_max_s < d.backoff_min_s)
    fail(file, "defaults.backoff_max_s", d.backoff_max_s, `at least defaults.backoff_min_s (${d.backoff_min_s})`);
  const mem = section(file, raw, "memory") as Record<string, number>;
  if (mem.bundle_budget >= mem.storage_bytes)
    fail(file, "memory.bundle_budget", mem.bundle_budget, `less than memory.storage_bytes (${mem.storage_bytes}): the bundle and the app's files share the Storage area`);
  if (d.heartbeat_s !== undefined && (d.heartbeat_s < 30 || d.heartbeat_s > 3600))
    fail(file, "defaults.heartbeat_s", d.heartbeat_s, "30..3600 seconds (supervision works in minutes, not hours)");
  const known = ["id", "kind", "chip", "description", "memory", "pins", "battery", "data", "defaults", "extends"];
  const extra: Record<string, Record<string, unknown>> = {};
  for (const k of Object.keys(raw)) if (!known.includes(k)) extra[k] = section(file, raw, k);
  const battery = raw.battery === undefined ? undefined : (section(file, raw, "battery") as unknown as BoardBattery);
  return {
    id: raw.id,
    kind: raw.kind,
    chip: raw.chip,
    description: typeof raw.description === "string" ? raw.description : "",
    file,
    memory: section(file, raw, "memory") as unknown as BoardMemory,
    pins: pins as Record<string, string | boolean>,
    battery,
    data: data as unknown as BoardData,
    defaults: defaults as Record<string, number | boolean>,
    extra,
  };
}

/**
 * A board that names another with `extends = "<id>"` takes every table of it, key by key, and overrides
 * what it sets itself (the host boards are the real boards with another data port: the same firmware
 * logic, memory and pins). A replaced [data] table is taken whole: transports have different keys.
 */
function extend(file: string, raw: Record<string, unknown>): Record<string, unknown> {
  const baseId = raw.extends;
  if (typeof baseId !== "string" || !/^[a-z0-9-]+$/.test(baseId)) fail(file, "extends", baseId, 'the id of another board in hardware/, e.g. "alarm-nrf52"');
  const baseFile = join(dirname(file), baseId + ".toml");
  if (!existsSync(baseFile)) fail(file, "extends", baseId, `a board in ${dirname(file)} (no ${baseId}.toml there)`);
  const base = TOML.parse(readFileSync(baseFile, "utf8")) as Record<string, unknown>;
  if (base.extends !== undefined) fail(file, "extends", baseId, "a board that does not extend another itself");
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(raw)) {
    const b = base[k];
    out[k] = k !== "data" && v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" ? { ...(b as object), ...(v as object) } : v;
  }
  return out;
}

/** Loads hardware/<id>.toml (or the given .toml path). */
export function loadBoard(idOrPath: string): Board {
  const file = boardPath(idOrPath);
  if (!existsSync(file)) {
    const ids = listBoards().join(", ");
    throw new BoardError(`${file}: no such board file; known boards: ${ids || "(none)"}; pass an id from hardware/ or a path to a .toml`);
  }
  return parseBoard(file, readFileSync(file, "utf8"));
}

/** Boards of real devices: every board but the host boards, which exist for the real-interpreter tests. */
export function deviceBoards(): string[] {
  return listBoards().filter((b) => loadBoard(b).data.transport !== "host");
}

/** Ids of every board file in hardware/. */
export function listBoards(): string[] {
  return readdirSync(HARDWARE_DIR)
    .filter((f) => f.endsWith(".toml"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** The subset of a board the firmware needs at run time (becomes the global BOARD). */
export function firmwareBoard(b: Board): Record<string, unknown> {
  return {
    id: b.id, kind: b.kind, chip: b.chip, memory: b.memory, pins: b.pins, battery: b.battery,
    data: b.data, defaults: b.defaults, ...b.extra,
  };
}
