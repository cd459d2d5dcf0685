// Dispenser scenario files (TOML): a patient's schedule and behaviour, faults on a timeline, and the
// events the backend must end up with. Parsed and validated here; run by runner.ts.
//
//   name = "30 days, 4 doses a day, mixed patient"
//   start = "2026-11-02"          # first local (Oslo) day; the device is set up at 00:00 local that day
//                                 # ("2026-11-02 07:50": set up at that local time instead)
//   days = 30                     # simulated days (then a drain period with the gateway online)
//   duration = "40m"              # instead of days: a short run (power-cut variants)
//   seed = 7                      # PRNG seed (link jitter, nonces, random instants)
//   runs = 1000                   # optional: run N seeded variants (seed, seed+1, ...), e.g. with jitter
//   drift_ppm = 2800              # device clock drift (ESP32 without crystal: ~10 s/hour); default 0
//   time_sync_min = 60            # gateway TimeSync interval; default 60
//   oracle = true                 # check every dose against the patient model (default true)
//   tray_max = 1                  # never more than this many compartments in the tray at once (default 1;
//                                 # travel mode piles doses up for the nurse; 0 = unchecked)
//
//   [schedule]                    # sent as the Schedule downlink at the start
//   version = 1
//   doses = ["08:00", "12:00", "17:00", "21:00"]     # or { at = "08:00", weekdays = ["mon", "thu"] }
//   early_min = 30                # optional, 0 = board default (also late_min, collect_min, remind_every_min)
//
//   [patient]
//   pattern = ["on_time", "late:45", "ignore", "uncollected:40", "twice", "early:20"]  # cycled over doses
//                                 # also: never_take (presses, never takes it out: the dose stays in
//                                 # the tray and blocks the next one; the oracle does not model that,
//                                 # use oracle = false). A press that does nothing is retried every
//                                 # 20 s, up to 6 times, until something lands in the tray.
//   take_after_s = 30             # takes the dose out this long after it lands in the tray
//   [[patient.dose]]              # an override for one dose
//   at = "2026-11-05 12:00"       # local date and wall time of the scheduled dose
//   do = "ignore"
//
//   [[event]]                     # faults and staff actions on the timeline (local time)
//   at = "2026-11-05 10:00"       # or UTC "2026-10-25T01:45Z" (to name the second pass of the autumn hour)
//   what = "gateway_offline"      # see ACTIONS; `for = "3d"` ends it again ("90s", "20m", "4h", "3d")
//                                 # power_cut (for), power_cut_flash_op (ops = N: the power goes just
//                                 # before a random one of the next 1..N flash writes, inside the
//                                 # firmware's code; for = how long it stays off), gateway_offline (for),
//                                 # jam / unjam, lid_open / lid_forced (for), refill (doses), mains_lost
//                                 # (for), battery_mv (mv), clock_jump (seconds), assisted (on),
//                                 # travel (doses), press, take_out, low_memory, fill_flash (free = bytes
//                                 # left free by another file; a large value removes it), schedule
//                                 # (version = 2, times = ["09:00", ...]: a new Schedule downlink; the
//                                 # patient follows the new times for doses after `at`)
//   for = "3d"
//   jitter = "3s"                 # optional: a seeded random offset in [0, 3 s) is added to `at` per run
//
//   [expect]                      # totals per backend event kind over the run (omitted kinds unchecked)
//   DoseTaken = 100
//   [[expect.event]]              # specific events: kind, scheduled local time, count (default 1)
//   kind = "DoseMissed"
//   scheduled = "2026-11-05 12:00"
//   count = 1
//   late = true                   # optional: must (not) be flagged late
//   mode = "travel"               # optional: normal / assisted / travel
//   code = "MotorJam"             # for kind = "Fault": the fault code name; cleared = true/false
//   when = "DoseReleased"         # optional: checked only in runs where this fault was raised (runs = N
//                                 # with a random cut: the outcome differs per run); unless = the opposite
import TOML from "@iarna/toml";
import { readFileSync } from "node:fs";
import { enumValues } from "../../protocol/schema.ts";

export const BEHAVIOURS = ["on_time", "late", "early", "ignore", "uncollected", "twice", "never_take"] as const;
export const ACTIONS = [
  "power_cut", "gateway_offline", "jam", "unjam", "lid_open", "lid_forced", "refill", "mains_lost", "battery_mv",
  "clock_jump", "assisted", "travel", "press", "take_out", "power_cut_flash_op", "low_memory", "fill_flash", "schedule",
] as const;
export const EVENT_KINDS = ["DoseTaken", "DoseMissed", "DoseNotCollected", "DoseReminder", "DoseDispensed", "Fault", "Supply", "RefillNeeded", "Refilled", "ScheduleAck"] as const;
/** Fault names as scenario files write them (FAULT_MOTOR_JAM -> MotorJam), numbers from varde.proto. */
export const FAULT_NAMES: Record<string, number> = Object.fromEntries(
  Object.entries(enumValues("FaultCode"))
    .filter(([k]) => k !== "FAULT_UNSPECIFIED")
    .map(([k, v]) => [k.slice(6).toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase()), v]),
);
/** Dose modes (DOSE_MODE_ASSISTED -> assisted), numbers from varde.proto. */
export const MODES: Record<string, number> = Object.fromEntries(Object.entries(enumValues("DoseMode")).map(([k, v]) => [k.slice(10).toLowerCase(), v]));
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export type Behaviour = { kind: (typeof BEHAVIOURS)[number]; minutes: number };

export interface ScenarioEvent {
  /** local wall time "YYYY-MM-DD HH:MM[:SS]" */
  at: string;
  what: (typeof ACTIONS)[number];
  /** duration in seconds for actions that end (power_cut, gateway_offline, lid_*, mains_lost, jam) */
  forS: number;
  /** numeric argument: doses (refill, travel), millivolts, jump seconds, 1/0 (assisted) */
  value: number;
  /** a seeded random offset in [0, jitter) seconds is added to `at` (different for every run) */
  jitterS: number;
  /** what = "schedule": the new schedule sent as a downlink (doses from the [schedule] syntax) */
  schedule?: { version: number; doses: Array<{ minute: number; weekdays: number }> };
}

export interface ExpectedEvent {
  kind: string;
  /** local wall time of the scheduled dose, or "" */
  scheduled: string;
  count: number;
  late?: boolean;
  mode?: number;
  code?: number;
  cleared?: boolean;
  /** only checked in runs where this fault code was raised (when) / was not raised (unless) */
  when?: number;
  unless?: number;
}

export interface Scenario {
  file: string;
  name: string;
  board: string;
  /** local "YYYY-MM-DD HH:MM" the run starts */
  start: string;
  /** simulated seconds */
  durationS: number;
  /** simulated days (durationS / 86400) */
  days: number;
  seed: number;
  /** seeded variants to run (seed, seed + 1, ...) */
  runs: number;
  driftPpm: number;
  timeSyncMin: number;
  oracle: boolean;
  /** most compartments allowed in the tray at once (default 1, 0 = unchecked) */
  trayMax: number;
  schedule: { version: number; doses: Array<{ minute: number; weekdays: number }>; earlyMin: number; lateMin: number; collectMin: number; remindEveryMin: number };
  pattern: Behaviour[];
  takeAfterS: number;
  overrides: Record<string, Behaviour>;
  events: ScenarioEvent[];
  totals: Record<string, number>;
  expected: ExpectedEvent[];
}

export class ScenarioError extends Error {}

function fail(file: string, key: string, got: unknown, fix: string): never {
  const shown = got === undefined ? "missing" : "got " + JSON.stringify(got);
  throw new ScenarioError(`${file}: ${key}: ${shown}; expected ${fix}`);
}

export function parseDuration(file: string, key: string, v: unknown): number {
  if (v === undefined) return 0;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v) : null;
  if (!m) fail(file, key, v, 'a duration like "90s", "20m", "4h" or "3d"');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
}

function hhmm(file: string, key: string, v: unknown): number {
  const m = typeof v === "string" ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(v) : null;
  if (!m) fail(file, key, v, 'a wall time "HH:MM" (00:00..23:59)');
  return Number(m[1]) * 60 + Number(m[2]);
}

/** A date and time that exist on the calendar (no month 13, no 30 February, no 24:00). */
function realStamp(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?)?$/.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(Number);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate(); // days in month mo
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && sec <= 59;
}

function localStamp(file: string, key: string, v: unknown): string {
  const utc = typeof v === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(v); // UTC: for the repeated autumn hour
  if (!utc && (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(v))) fail(file, key, v, 'a local time "YYYY-MM-DD HH:MM" (Oslo) or a UTC time "YYYY-MM-DDTHH:MMZ"');
  if (!realStamp(v as string)) fail(file, key, v, "a date and time that exist (month 01-12, a day the month has, hours 00-23, minutes 00-59)");
  return v as string;
}

/** Every key of `obj` must be one of `allowed`: a misspelt key would otherwise be ignored silently. */
function known(file: string, where: string, obj: unknown, allowed: readonly string[]): void {
  if (obj === undefined) return;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) fail(file, where || "the file", obj, "a table");
  for (const k of Object.keys(obj as object))
    if (!allowed.includes(k)) fail(file, where ? `${where}.${k}` : k, (obj as Record<string, unknown>)[k], `no such key here; allowed: ${allowed.join(", ")}`);
}

/** Keys an [[event]] may have besides at, what and jitter, per action. */
const EVENT_KEYS: Record<(typeof ACTIONS)[number], readonly string[]> = {
  power_cut: ["for"], gateway_offline: ["for"], jam: ["for"], unjam: [], lid_open: ["for"], lid_forced: ["for"],
  refill: ["doses"], mains_lost: ["for"], battery_mv: ["mv"], clock_jump: ["seconds"], assisted: ["on"], travel: ["doses"],
  press: [], take_out: [], power_cut_flash_op: ["ops", "for"], low_memory: [], fill_flash: ["free"], schedule: ["version", "times"],
};

export function parseBehaviour(file: string, key: string, v: unknown): Behaviour {
  const m = typeof v === "string" ? /^([a-z_]+)(?::(\d+))?$/.exec(v) : null;
  if (!m || !(BEHAVIOURS as readonly string[]).includes(m[1])) fail(file, key, v, `one of ${BEHAVIOURS.join(", ")} (late/early/uncollected take ":minutes")`);
  const needs = m[1] === "late" || m[1] === "early" || m[1] === "uncollected";
  if (needs && m[2] === undefined) fail(file, key, v, `"${m[1]}:<minutes>"`);
  return { kind: m[1] as Behaviour["kind"], minutes: m[2] ? Number(m[2]) : 0 };
}

function int(file: string, key: string, v: unknown, def: number, min = 0): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(file, key, v, `a whole number >= ${min}`);
  return v;
}

export function parseScenario(file: string, text: string): Scenario {
  let raw: any;
  try {
    raw = TOML.parse(text);
  } catch (e) {
    // @iarna/toml: "<what> at row R, col C, pos P:\n<excerpt>" — keep the sentence, name the line
    const err = e as Error & { line?: number; col?: number };
    const what = err.message.split("\n")[0].replace(/ at row \d+, col \d+, pos \d+:?$/, "").replace(/:$/, "");
    const line = typeof err.line === "number" ? err.line : -1;
    const src = line >= 0 ? (text.split("\n")[line] ?? "").trim() : "";
    throw new ScenarioError(line >= 0 ? `${file}: not valid TOML: ${what} at line ${line + 1}, column ${(err.col ?? 0) + 1}: ${JSON.stringify(src)}` : `${file}: not valid TOML: ${what}`);
  }
  known(file, "", raw, ["name", "board", "start", "days", "duration", "seed", "runs", "drift_ppm", "time_sync_min", "oracle", "tray_max", "schedule", "patient", "event", "expect"]);
  known(file, "schedule", raw.schedule, ["version", "doses", "early_min", "late_min", "collect_min", "remind_every_min"]);
  known(file, "patient", raw.patient, ["pattern", "take_after_s", "dose"]);
  if (raw.days !== undefined && raw.duration !== undefined) fail(file, "duration", raw.duration, 'either days or duration, not both');
  const parseDoses = (key: string, list: unknown): Array<{ minute: number; weekdays: number }> => {
    if (!Array.isArray(list) || list.length === 0) fail(file, key, list, 'a list of wall times, e.g. ["08:00", "20:00"]');
    return list.map((d: any, i: number) => {
      if (typeof d === "string") return { minute: hhmm(file, `${key}[${i}]`, d), weekdays: 0 };
      known(file, `${key}[${i}]`, d, ["at", "weekdays"]);
      const minute = hhmm(file, `${key}[${i}].at`, d?.at);
      let weekdays = 0;
      for (const w of d.weekdays ?? []) {
        const k = WEEKDAYS.indexOf(String(w).toLowerCase().slice(0, 3));
        if (k < 0) fail(file, `${key}[${i}].weekdays`, w, 'weekday names "mon".."sun"');
        weekdays |= 1 << k;
      }
      return { minute, weekdays };
    });
  };
  if (typeof raw.name !== "string") fail(file, "name", raw.name, "a quoted scenario name");
  if (typeof raw.start !== "string" || !/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$/.test(raw.start)) fail(file, "start", raw.start, 'the first local day "YYYY-MM-DD" (optionally with " HH:MM")');
  if (!realStamp(raw.start)) fail(file, "start", raw.start, "a day that exists (month 01-12, a day the month has; HH:MM within 00:00-23:59)");
  const sch = raw.schedule;
  if (!sch || !Array.isArray(sch.doses) || sch.doses.length === 0) fail(file, "schedule.doses", sch?.doses, 'a list of wall times, e.g. ["08:00", "20:00"]');
  const doses = parseDoses("schedule.doses", sch.doses);
  const patient = raw.patient ?? {};
  const pattern = (patient.pattern ?? ["on_time"]).map((p: unknown, i: number) => parseBehaviour(file, `patient.pattern[${i}]`, p));
  const overrides: Record<string, Behaviour> = {};
  if (patient.pattern !== undefined && (!Array.isArray(patient.pattern) || patient.pattern.length === 0)) fail(file, "patient.pattern", patient.pattern, 'a list of behaviours, e.g. ["on_time", "late:45"]');
  for (const [i, o] of (patient.dose ?? []).entries()) {
    known(file, `patient.dose[${i}]`, o, ["at", "do"]);
    overrides[localStamp(file, `patient.dose[${i}].at`, o.at)] = parseBehaviour(file, `patient.dose[${i}].do`, o.do);
  }
  const events: ScenarioEvent[] = (raw.event ?? []).map((e: any, i: number) => {
    const key = `event[${i}]`;
    if (!(ACTIONS as readonly string[]).includes(e.what)) fail(file, key + ".what", e.what, `one of ${ACTIONS.join(", ")}`);
    known(file, key, e, ["at", "what", "jitter", ...EVENT_KEYS[e.what as (typeof ACTIONS)[number]]]);
    if (e.what === "schedule") {
      return {
        at: localStamp(file, key + ".at", e.at), what: e.what, forS: 0, value: 0, jitterS: 0,
        schedule: { version: int(file, key + ".version", e.version, 1, 1), doses: parseDoses(key + ".doses", e.times) },
      };
    }
    let value = e.doses ?? e.mv ?? e.seconds ?? e.on ?? e.ops ?? e.free;
    if (typeof value === "boolean") value = value ? 1 : 0;
    if (value !== undefined && typeof value !== "number") fail(file, key + ".doses/mv/seconds/on/ops/free", value, "a number (or true/false for on)");
    return {
      at: localStamp(file, key + ".at", e.at), what: e.what, forS: parseDuration(file, key + ".for", e.for), value: value ?? 0,
      jitterS: parseDuration(file, key + ".jitter", e.jitter),
    };
  });
  const exp = raw.expect ?? {};
  if (typeof exp !== "object" || Array.isArray(exp)) fail(file, "expect", exp, "a table");
  const totals: Record<string, number> = {};
  for (const k of Object.keys(exp)) {
    if (k === "event") continue;
    if (!(EVENT_KINDS as readonly string[]).includes(k)) fail(file, `expect.${k}`, k, `an event kind: ${EVENT_KINDS.join(", ")}`);
    totals[k] = int(file, `expect.${k}`, exp[k], 0);
  }
  const expected: ExpectedEvent[] = (exp.event ?? []).map((e: any, i: number) => {
    const key = `expect.event[${i}]`;
    known(file, key, e, ["kind", "scheduled", "count", "late", "mode", "code", "cleared", "when", "unless"]);
    if (!(EVENT_KINDS as readonly string[]).includes(e.kind)) fail(file, key + ".kind", e.kind, `one of ${EVENT_KINDS.join(", ")}`);
    if (e.mode !== undefined && !(e.mode in MODES)) fail(file, key + ".mode", e.mode, "normal, assisted or travel");
    for (const c of ["code", "when", "unless"])
      if (e[c] !== undefined && !(e[c] in FAULT_NAMES)) fail(file, `${key}.${c}`, e[c], `a fault name: ${Object.keys(FAULT_NAMES).join(", ")}`);
    return {
      kind: e.kind,
      scheduled: e.scheduled === undefined ? "" : localStamp(file, key + ".scheduled", e.scheduled),
      count: int(file, key + ".count", e.count, 1),
      late: e.late,
      mode: e.mode === undefined ? undefined : MODES[e.mode],
      code: e.code === undefined ? undefined : FAULT_NAMES[e.code],
      cleared: e.cleared,
      when: e.when === undefined ? undefined : FAULT_NAMES[e.when],
      unless: e.unless === undefined ? undefined : FAULT_NAMES[e.unless],
    };
  });
  return {
    file,
    name: raw.name,
    board: typeof raw.board === "string" ? raw.board : "dispenser-esp32",
    start: raw.start.length === 10 ? raw.start + " 00:00" : raw.start,
    durationS: raw.duration !== undefined ? parseDuration(file, "duration", raw.duration) : int(file, "days", raw.days, 1, 1) * 86400,
    days: raw.duration !== undefined ? parseDuration(file, "duration", raw.duration) / 86400 : int(file, "days", raw.days, 1, 1),
    seed: int(file, "seed", raw.seed, 1),
    runs: int(file, "runs", raw.runs, 1, 1),
    driftPpm: typeof raw.drift_ppm === "number" ? raw.drift_ppm : 0,
    timeSyncMin: int(file, "time_sync_min", raw.time_sync_min, 60, 1),
    oracle: raw.oracle !== false,
    trayMax: int(file, "tray_max", raw.tray_max, 1),
    schedule: {
      version: int(file, "schedule.version", sch.version, 1, 1),
      doses,
      earlyMin: int(file, "schedule.early_min", sch.early_min, 0),
      lateMin: int(file, "schedule.late_min", sch.late_min, 0),
      collectMin: int(file, "schedule.collect_min", sch.collect_min, 0),
      remindEveryMin: int(file, "schedule.remind_every_min", sch.remind_every_min, 0),
    },
    pattern,
    takeAfterS: int(file, "patient.take_after_s", patient.take_after_s, 30),
    overrides,
    events,
    totals,
    expected,
  };
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(`${file}: cannot read the scenario file (${(e as NodeJS.ErrnoException).code})`);
  }
  return parseScenario(file, text);
}
