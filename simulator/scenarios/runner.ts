// Runs dispenser scenarios (format.ts) on the REAL firmware bundle: a SimDevice in virtual time with
// the dispenser peripherals (simulator/peripherals/dispenser.ts), connected over an in-memory link to
// a virtual gateway that speaks the real protocol (virtual-gateway.ts). The patient presses the
// button and takes doses out of the tray; faults happen on the timeline. At the end (after a drain
// with the gateway online) the events the gateway stored — what a backend would get — are checked:
//  * no loss, in order: the stored reliable seqs are exactly 1..N, stored in ascending order, and the
//    device reports outbox depth 0 and next seq N+1 in a final handshake;
//  * no duplicates: no (boot, seq) stored twice, and no dose event kind twice for the same dose;
//  * never a double dose: every compartment the carousel emptied belongs to a different dose, and
//    their number equals the doses reported dispensed (taken / not collected / travel) plus the
//    missed doses reported released into the tray by a power cut (FAULT_DOSE_RELEASED, each naming
//    an emptied compartment); never more compartments in the tray at once than `tray_max` (default 1);
//  * the patient model (oracle): each dose's outcome follows from what the patient did;
//  * the scenario's expected events (kind, scheduled local time, count) and totals per kind;
//  * no uncaught exception in the firmware.
import { enumValues } from "../../protocol/schema.ts";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { buildFirmware } from "../../firmware/build/index.ts";
import { VirtualClock } from "../clock.ts";
import { SimDevice } from "../device.ts";
import { createMemoryLinkPair } from "../links/memory.ts";
import { DispenserHw } from "../peripherals/dispenser.ts";
import { createPrng } from "../prng.ts";
import { FAULT_NAMES, loadScenario, MODES, type Behaviour, type Scenario } from "./format.ts";
import { addDays, dosesOn, osloStamp, osloToUnix } from "./local-time.ts";
import { VirtualGateway, type StoredEvent } from "./virtual-gateway.ts";

/** DoseEventKind values as scenario files name them (DOSE_NOT_COLLECTED -> DoseNotCollected), from varde.proto. */
const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(enumValues("DoseEventKind")).map(([k, v]) => [v, k.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase())]),
);
const KEY = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 255);
const DEVICE_ID = 4242;
/** after the last simulated day: gateway online, no patient, until nothing new arrives (at most this) */
const DRAIN_MS = 30 * 60_000;

export interface RunOptions {
  /** seed offset for repeated runs (runs = N in the file): run k uses seed + k */
  run?: number;
  /** prebuilt bundle (tests reuse one) */
  bundle?: string;
}

export interface ScenarioResult {
  name: string;
  file: string;
  run: number;
  ok: boolean;
  failures: string[];
  /** simulated days */
  days: number;
  /** events the gateway stored */
  events: number;
  /** compartments emptied */
  dispensed: number;
  /** by kind name */
  counts: Record<string, number>;
  wallMs: number;
  /** virtual-clock events run (timers, link deliveries, peripheral ticks) */
  simEvents: number;
  /** the stored events, readable (for reports and debugging) */
  log: string[];
}

const boards = new Map<string, Board>();
function boardFor(id: string): Board {
  let b = boards.get(id);
  if (!b) boards.set(id, (b = loadBoard(id)));
  return b;
}

const bundles = new Map<string, Promise<string>>();
/** The firmware bundle for a board, built once per process. */
export function bundleFor(boardId: string): Promise<string> {
  let b = bundles.get(boardId);
  if (!b) {
    b = buildFirmware(boardId, { noWrite: true }).then((r) => r.code);
    bundles.set(boardId, b);
  }
  return b;
}

/** Scheduled instant of a dose event: Envelope.time - delayS (protocol/varde.proto DoseEvent). */
export function sched(env: any): number {
  return env.time - env.dose.delayS;
}

/** The backend's name for a stored event: DoseTaken, Fault, RefillNeeded, Refilled, ScheduleAck, ... */
export function kindOf(env: any): string {
  if (env.dose) return KIND_NAMES[env.dose.kind] ?? "Dose?";
  if (env.fault) return "Fault";
  if (env.supply) return env.supply.refilled ? "Refilled" : "RefillNeeded";
  if (env.scheduleAck) return "ScheduleAck";
  return Object.keys(env).find((k) => !["device", "boot", "seq", "ack", "time", "late"].includes(k)) ?? "?";
}

interface DoseModel {
  s: number;
  b: Behaviour;
}

export async function runScenario(sc: Scenario, opts: RunOptions = {}): Promise<ScenarioResult> {
  const wall0 = performance.now();
  const run = opts.run ?? 0;
  const board: Board = boardFor(sc.board);
  const bundle = opts.bundle ?? (await bundleFor(sc.board));
  const d = (board.extra.dispenser ?? {}) as Record<string, number>;
  const startS = osloToUnix(sc.start);
  // whole days end at local midnight (23 or 25 h on DST days); a duration is plain seconds
  const endS = sc.durationS % 86400 === 0 && sc.start.endsWith(" 00:00")
    ? osloToUnix(addDays(sc.start.slice(0, 10), sc.durationS / 86400) + " 00:00")
    : startS + sc.durationS;
  const firstDay = sc.start.slice(0, 10);
  const seed = sc.seed + run;
  const rng = createPrng(seed).fork("scenario");
  const clock = new VirtualClock({ seed, startMs: startS * 1000 });
  const [devEnd, gwEnd] = createMemoryLinkPair(clock, { delayMs: 2 });
  const dev = new SimDevice({ board, clock, link: devEnd, driftPpm: sc.driftPpm, name: "dispenser" });
  const hw = new DispenserHw({ clock, pins: dev.pins, board });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: DEVICE_ID, key: Buffer.from(KEY).toString("hex"), kind: "dispenser" })));
  dev.install(bundle);
  const gw = new VirtualGateway({ clock, key: KEY, deviceId: DEVICE_ID, write: (b) => gwEnd.write(b), timeSyncEveryMs: sc.timeSyncMin * 60_000 });
  gwEnd.onData((b) => gw.receive(b));
  const at = (s: number, fn: () => void) => clock.schedule(s * 1000 - clock.now(), fn);
  const failures: string[] = [];

  // --- the schedule and the patient --------------------------------------------------------------
  const early = (sc.schedule.earlyMin || d.early_min || 30) * 60;
  const late = (sc.schedule.lateMin || d.late_min || 120) * 60;
  const collect = (sc.schedule.collectMin || d.collect_min || 15) * 60;
  const remind = (sc.schedule.remindEveryMin || d.remind_every_min || 10) * 60;
  // the schedule in force at each instant: the initial one, then each `schedule` event from its time
  const changes = [{ from: -Infinity, doses: sc.schedule.doses }].concat(
    sc.events.filter((e) => e.what === "schedule").map((e) => ({ from: osloToUnix(e.at), doses: e.schedule!.doses })),
  );
  const instants: number[] = [];
  for (let day = -1; day <= Math.ceil(sc.days) + 1; day++) {
    for (let c = 0; c < changes.length; c++) {
      const next = c + 1 < changes.length ? changes[c + 1].from : Infinity;
      for (const t of dosesOn(addDays(firstDay, day), changes[c].doses)) if (t > changes[c].from && t <= next) instants.push(t);
    }
  }
  instants.sort((a, b) => a - b);
  const lateLimit = (s: number) => {
    const next = instants.find((x) => x > s);
    let l = s + late;
    if (next !== undefined && next - early < l) l = next - early;
    return Math.max(l, s + 60);
  };
  const doses: DoseModel[] = [];
  let k = 0;
  for (const s of instants) {
    if (s <= startS || s >= endS) continue;
    const stamp = osloStamp(s).slice(0, 16);
    const b = sc.overrides[stamp] ?? sc.pattern[k++ % sc.pattern.length];
    doses.push({ s, b });
  }
  const press = () => dev.powered && dev.button().press(300);
  // A patient whose press does nothing (device off, press lost) tries again: every 20 s, up to 6 times,
  // until something lands in the tray. What lands is taken out `take_after_s` later, or at the time the
  // behaviour says (uncollected:M), or never (never_take); doses dispensed ahead (travel) by the nurse.
  let takePlan: { at?: number; never?: boolean } | null = null;
  hw.onEmptied = () => {
    const plan = takePlan;
    takePlan = null;
    if (plan?.never) return;
    const t = plan?.at !== undefined ? Math.max(plan.at, clock.now() / 1000 + 1) : clock.now() / 1000 + (plan ? sc.takeAfterS : 5);
    at(t, () => hw.takeOut());
  };
  const patientPress = (t: number, plan: { at?: number; never?: boolean } = {}) =>
    at(t, () => {
      const before = hw.emptied.length;
      takePlan = plan;
      let tries = 0;
      const attempt = () => {
        if (hw.emptied.length > before || hw.tray > 0 || tries++ >= 6) return;
        press();
        clock.schedule(20_000, attempt);
      };
      attempt();
    });
  for (const { s, b } of doses) {
    switch (b.kind) {
      case "on_time": patientPress(s + 60); break;
      case "late": patientPress(s + b.minutes * 60); break;
      case "early": patientPress(s - b.minutes * 60); break;
      case "uncollected": patientPress(s + 60, { at: s + b.minutes * 60 }); break;
      case "twice": patientPress(s + 60); at(s + 61.5, press); at(s + 90, press); at(s + 180, press); break;
      case "never_take": patientPress(s + 60, { never: true }); break;
      case "ignore": break;
    }
  }

  // --- the timeline -------------------------------------------------------------------------------
  const command = (kind: number, arg: number) => gw.downlink({ command: { kind, arg } });
  for (const e of sc.events) {
    const t0 = osloToUnix(e.at) + (e.jitterS ? rng.next() * e.jitterS : 0);
    const until = t0 + e.forS;
    switch (e.what) {
      case "power_cut":
        at(t0, () => { dev.powerOff(); hw.powerLost(); });
        at(until, () => { dev.powerOn(); hw.applyInputs(); });
        break;
      case "gateway_offline": at(t0, () => gw.setOnline(false)); at(until, () => gw.setOnline(true)); break;
      case "jam": at(t0, () => hw.setJam(true)); if (e.forS) at(until, () => hw.setJam(false)); break;
      case "unjam": at(t0, () => hw.setJam(false)); break;
      case "lid_open": case "lid_forced":
        at(t0, () => hw.setLid(true, e.what === "lid_forced"));
        at(until || t0 + 60, () => hw.setLid(false));
        break;
      case "mains_lost": at(t0, () => hw.setMains(false)); if (e.forS) at(until, () => hw.setMains(true)); break;
      case "battery_mv": at(t0, () => dev.setBattery(e.value)); break;
      case "clock_jump": at(t0, () => dev.time.set(dev.time.nowMs() + e.value * 1000)); break;
      case "assisted": at(t0, () => command(4, e.value)); break;
      case "travel": at(t0, () => command(5, e.value)); break;
      case "power_cut_flash_op":
        at(t0, () => {
          const n = 1 + Math.floor(rng.next() * Math.max(1, e.value));
          const disarm = dev.cutPowerAtFlashOp(n);
          const cuts = dev.powerCuts;
          // the cut happens inside the firmware; notice it and restore power `for` later
          const watch = () => {
            if (dev.powerCuts > cuts) clock.schedule(e.forS * 1000, () => { dev.powerOn(); hw.applyInputs(); });
            else if (clock.now() < endS * 1000) clock.schedule(250, watch);
            else disarm();
          };
          clock.schedule(0, watch);
        });
        break;
      case "low_memory": at(t0, () => dev.raiseErrorFlag("LOW_MEMORY")); break;
      case "fill_flash":
        // another file grows until only `free` bytes are left (or shrinks: a large `free` removes it)
        at(t0, () => {
          dev.flash.erase("fill.bin");
          dev.flash.compact();
          const size = dev.flash.getFree() - e.value - 64;
          if (size > 0) dev.flash.write("fill.bin", new Uint8Array(size));
        });
        break;
      case "schedule": at(t0, () => gw.downlink({ schedule: e.schedule })); break;
      case "press": at(t0, press); break;
      case "take_out": at(t0, () => hw.takeOut()); break;
      case "refill": {
        // the nurse's visit: staff mode on, lid open, fresh carousel, lid closed, refill confirmed, staff mode off
        const n = e.value || hw.compartments;
        at(t0, () => command(4, 1));
        at(t0 + 60, () => hw.setLid(true));
        at(t0 + 180, () => { hw.refill(n); hw.setLid(false); });
        at(t0 + 200, () => command(3, n));
        at(t0 + 240, () => command(4, 0));
        break;
      }
    }
  }

  // --- run ----------------------------------------------------------------------------------------
  dev.powerOn();
  hw.applyInputs();
  gw.start();
  gw.downlink({ schedule: { version: sc.schedule.version, doses: sc.schedule.doses, earlyMin: sc.schedule.earlyMin, lateMin: sc.schedule.lateMin, collectMin: sc.schedule.collectMin, remindEveryMin: sc.schedule.remindEveryMin } });
  clock.runUntil(endS * 1000);
  // drain: everything back to normal, then a final handshake reports the device's outbox
  if (!dev.powered) { dev.powerOn(); hw.applyInputs(); }
  gw.setOnline(true);
  // until nothing new arrived for a minute (the link retries at most every backoff_max_s = 60 s)
  const drainEnd = clock.now() + DRAIN_MS;
  let quietSince = clock.now();
  let seen = gw.events.length;
  while (clock.now() < drainEnd && clock.now() - quietSince < 65_000) {
    clock.runFor(5_000);
    if (gw.events.length !== seen || gw.pendingDownlinks() > 0) {
      seen = gw.events.length;
      quietSince = clock.now();
    }
  }
  const info = await finalInfo(gw, clock);

  // --- checks -------------------------------------------------------------------------------------
  const stored = gw.events;
  const log = stored.map((e) => describe(e));
  for (const er of dev.errors) failures.push(`firmware uncaught error: ${er.text.split("\n")[0]}`);
  for (let i = 1; i < stored.length; i++)
    if (stored[i].env.seq < stored[i - 1].env.seq) { failures.push(`out of order: seq ${stored[i].env.seq} stored after ${stored[i - 1].env.seq}`); break; }
  const seqs = stored.map((e) => e.env.seq).sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) { failures.push(`lost or duplicated event: stored seqs are not 1..${seqs.length} (at index ${i}: ${seqs[i]})`); break; }
  if (!info) failures.push("no DeviceInfo in the final handshake");
  else {
    if (info.outboxDepth !== 0) failures.push(`device outbox still holds ${info.outboxDepth} events after the drain`);
    if (info.seq !== seqs.length + 1) failures.push(`device's next seq is ${info.seq} but the gateway stored ${seqs.length} events: some never arrived`);
  }
  const doseKey = new Map<string, number>();
  for (const e of stored) if (e.env.dose) {
    const key = `${kindOf(e.env)} ${osloStamp(sched(e.env)).slice(0, 16)}`;
    doseKey.set(key, (doseKey.get(key) ?? 0) + 1);
  }
  for (const [key, n] of doseKey) if (n > 1) failures.push(`duplicate dose event: ${key} stored ${n} times`);
  const dispensedDoses = new Set(stored.filter((e) => e.env.dose && [0, 2, 4].includes(e.env.dose.kind)).map((e) => sched(e.env)));
  const released = stored.filter((e) => e.env.fault && e.env.fault.code === FAULT_NAMES.DoseReleased && !e.env.fault.cleared);
  if (hw.emptied.length !== dispensedDoses.size + released.length)
    failures.push(`double dose check: the carousel emptied ${hw.emptied.length} compartments but ${dispensedDoses.size} doses were reported dispensed and ${released.length} released`);
  for (const e of released)
    if (e.env.fault.detail && !hw.emptied.some((x) => x.compartment === e.env.fault.detail))
      failures.push(`DoseReleased names compartment ${e.env.fault.detail}, which the carousel never emptied`);
  if (sc.trayMax > 0 && hw.trayMax > sc.trayMax) failures.push(`${hw.trayMax} compartments lay in the tray at once (tray_max = ${sc.trayMax})`);
  const raised = new Set(stored.filter((e) => e.env.fault && !e.env.fault.cleared).map((e) => e.env.fault.code));
  if (sc.oracle) oracle(doses, stored, { early, late: lateLimit, collect, remind, endS }, failures);
  const counts: Record<string, number> = {};
  for (const e of stored) counts[kindOf(e.env)] = (counts[kindOf(e.env)] ?? 0) + 1;
  for (const [kind, n] of Object.entries(sc.totals)) if ((counts[kind] ?? 0) !== n) failures.push(`expected ${n} ${kind} in total, got ${counts[kind] ?? 0}`);
  for (const x of sc.expected) {
    if (x.when !== undefined && !raised.has(x.when)) continue;
    if (x.unless !== undefined && raised.has(x.unless)) continue;
    const hits = stored.filter((e) => {
      if (kindOf(e.env) !== x.kind) return false;
      if (x.scheduled && (!e.env.dose || osloStamp(sched(e.env)).slice(0, 16) !== x.scheduled.slice(0, 16))) return false;
      if (x.late !== undefined && e.env.late !== x.late) return false;
      if (x.mode !== undefined && e.env.dose?.mode !== x.mode) return false;
      if (x.code !== undefined && e.env.fault?.code !== x.code) return false;
      if (x.cleared !== undefined && e.env.fault?.cleared !== x.cleared) return false;
      return true;
    });
    if (hits.length !== x.count) {
      const what = [x.kind, x.scheduled && `scheduled ${x.scheduled}`, x.code !== undefined && `code ${x.code}`, x.cleared !== undefined && `cleared ${x.cleared}`, x.mode !== undefined && `mode ${x.mode}`, x.late !== undefined && `late ${x.late}`, x.when !== undefined && `when fault ${x.when}`, x.unless !== undefined && `unless fault ${x.unless}`].filter(Boolean).join(", ");
      failures.push(`expected ${x.count} × ${what}, got ${hits.length}`);
    }
  }
  return {
    name: sc.name, file: sc.file, run, ok: failures.length === 0, failures, days: sc.days, events: stored.length,
    dispensed: hw.emptied.length, counts, wallMs: performance.now() - wall0, simEvents: clock.eventsRun, log,
  };
}

/** A new Hello at the end: the DeviceInfo answer carries the device's outbox depth and next seq. */
async function finalInfo(gw: VirtualGateway, clock: VirtualClock): Promise<any> {
  gw.lastInfo = null;
  gw.start();
  clock.runUntilTrue(() => gw.lastInfo !== null, 60_000);
  return gw.lastInfo;
}

function describe(e: StoredEvent): string {
  const env = e.env;
  const k = kindOf(env);
  let s = `${osloStamp(env.time)} #${env.seq}${env.late ? " late" : ""} ${k}`;
  if (env.dose) s += ` scheduled ${osloStamp(sched(env)).slice(0, 16)} delay ${env.dose.delayS}s slot ${env.dose.slot} mode ${env.dose.mode} left ${env.dose.remaining}`;
  if (env.fault) s += ` ${Object.keys(FAULT_NAMES).find((n) => FAULT_NAMES[n] === env.fault.code) ?? env.fault.code}${env.fault.cleared ? " cleared" : ""} (${env.fault.detail})`;
  if (env.supply) s += ` remaining ${env.supply.remaining} hours ${env.supply.hoursLeft}`;
  return s;
}

/** What each dose must have produced, from the patient's behaviour alone. */
function oracle(
  doses: DoseModel[], stored: StoredEvent[],
  w: { early: number; late: (s: number) => number; collect: number; remind: number; endS: number }, failures: string[],
): void {
  const bySched = new Map<number, string[]>();
  for (const e of stored) if (e.env.dose) {
    const l = bySched.get(sched(e.env)) ?? [];
    l.push(kindOf(e.env));
    bySched.set(sched(e.env), l);
  }
  for (const { s, b } of doses) {
    if (w.late(s) + w.collect + 120 > w.endS) continue; // not finished inside the run
    let pressAt: number | null = s + 60;
    let takeAfter = 0;
    if (b.kind === "late") pressAt = s + b.minutes * 60;
    if (b.kind === "early") pressAt = s - b.minutes * 60;
    if (b.kind === "ignore") pressAt = null;
    if (b.kind === "uncollected") takeAfter = b.minutes * 60 - 60;
    const inWindow = pressAt !== null && pressAt >= s - w.early && pressAt < w.late(s);
    const want: string[] = [];
    if (pressAt === null || pressAt >= s + w.remind + 5) want.push("DoseReminder");
    if (!inWindow) want.push("DoseMissed");
    else {
      if (takeAfter > w.collect + 5) want.push("DoseNotCollected");
      if (b.kind !== "never_take") want.push("DoseTaken");
      else want.push("DoseNotCollected");
    }
    const got = (bySched.get(s) ?? []).slice().sort();
    want.sort();
    if (got.join(",") !== want.join(","))
      failures.push(`dose ${osloStamp(s).slice(0, 16)} (${b.kind}${b.minutes ? ":" + b.minutes : ""}): expected ${want.join(", ") || "nothing"}, got ${got.join(", ") || "nothing"}`);
  }
}

export interface FilesOptions {
  /** only runs with index in [from, to) of files with `runs = N` (split a long file across workers) */
  from?: number;
  to?: number;
  onResult?: (r: ScenarioResult) => void;
}

/** Loads and runs scenario files; a file with `runs = N` runs N seeded variants. */
export async function runScenarioFiles(files: string[], opts: FilesOptions = {}): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const f of files) {
    const sc = loadScenario(f);
    const bundle = await bundleFor(sc.board);
    const from = Math.max(0, opts.from ?? 0);
    const to = Math.min(sc.runs, opts.to ?? sc.runs);
    for (let r = from; r < to; r++) {
      const res = await runScenario(sc, { run: r, bundle });
      out.push(res);
      opts.onResult?.(res);
    }
  }
  return out;
}

export interface Summary {
  scenarios: number;
  runs: number;
  failed: number;
  /** simulated days over all runs */
  days: number;
  wallMs: number;
}

export function summarize(rs: ScenarioResult[]): Summary {
  return {
    scenarios: new Set(rs.map((r) => r.file)).size,
    runs: rs.length,
    failed: rs.filter((r) => !r.ok).length,
    days: rs.reduce((a, r) => a + r.days, 0),
    wallMs: rs.reduce((a, r) => a + r.wallMs, 0),
  };
}
