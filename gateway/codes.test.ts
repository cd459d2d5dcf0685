import { describe, it, expect } from "vitest";
import { ALERT, DISPENSE, SCAIP, VKP_ALERT_SYSTEM, VKP_DISPENSE_SYSTEM, codeLabel, nationalCodes, type Code } from "./codes.ts";
import { root as schemaRoot } from "../protocol/schema.ts";
import { scheduledTime } from "./mqtt/backend.ts";
import { ALERT_LIST, DISPENSE_LIST, checkCoding } from "../backend/fhir/code-lists.ts";

const ALARM = 1, DISPENSER = 2, UNKNOWN = 0;
const codes = (type: string, env: any, kind = DISPENSER) => nationalCodes(type, env, kind).map(codeLabel);
const enumValues = (name: string): Record<string, number> => schemaRoot.lookupEnum(`varde.v1.${name}`).values;

/** Every input the mapping distinguishes: each event type with each enum value, flag and device kind. */
function everyCode(): Code[] {
  const out: Code[] = [];
  const add = (type: string, env: any) => {
    for (const kind of [UNKNOWN, ALARM, DISPENSER]) out.push(...nationalCodes(type, env, kind));
  };
  for (const a of [{}, { test: true }, { hold: true }, { cancel: true, alarmSeq: 3 }]) add("alarm", { alarm: a });
  for (const k of Object.values(enumValues("DoseEventKind")))
    for (const m of Object.values(enumValues("DoseMode"))) for (const remaining of [0, 5]) add("dose", { dose: { kind: k, mode: m, remaining } });
  for (const c of [...Object.values(enumValues("FaultCode")), 99]) for (const cleared of [false, true]) add("fault", { fault: { code: c, cleared } });
  for (const low of [false, true]) add("battery", { battery: { low } });
  for (const s of [{ remaining: 0 }, { remaining: 3, hoursLeft: 20 }, { remaining: 28, refilled: true }]) add("supply", { supply: s });
  for (const t of ["device_lost", "device_back", "heartbeat", "status", "schedule_ack", "config_ack"]) add(t, {});
  return out;
}

describe("national codes against the current VKP code lists (backend/fhir/codes)", () => {
  it("the alert system and the dispense-event system are distinct lists with the URLs the mapping uses", () => {
    expect(ALERT_LIST.url).toBe(VKP_ALERT_SYSTEM);
    expect(DISPENSE_LIST.url).toBe(VKP_DISPENSE_SYSTEM);
    expect(VKP_ALERT_SYSTEM).not.toBe(VKP_DISPENSE_SYSTEM);
    expect(ALERT_LIST.source).toMatchObject({ repository: "HL7Norway/Velferdsteknologi", folder: "VKP-R4", commit: "9d28b9e" });
  });

  it("every VKP code of the mapping exists in its list with the list's current display", () => {
    for (const c of Object.values(ALERT)) expect([c.code, checkCoding(c, VKP_ALERT_SYSTEM)]).toEqual([c.code, undefined]);
    for (const c of Object.values(DISPENSE)) expect([c.code, checkCoding(c, VKP_DISPENSE_SYSTEM)]).toEqual([c.code, undefined]);
  });

  it("every code any event can carry is one of the tables above (so the check above covers all)", () => {
    const known = new Set([...Object.values(ALERT), ...Object.values(DISPENSE), ...Object.values(SCAIP)].map((c) => JSON.stringify(c)));
    const emitted = everyCode();
    expect(emitted.length).toBeGreaterThan(50);
    for (const c of emitted) expect(known.has(JSON.stringify(c)), JSON.stringify(c)).toBe(true);
    for (const c of emitted) if (c.system !== "SCAIP") expect(c.system).toMatch(/^http:\/\/ehelse\.no\/fhir\/CodeSystem\//);
  });

  it("the checks are live: an old 3.x code, a wrong display and a swapped system all fail", () => {
    expect(checkCoding({ system: VKP_ALERT_SYSTEM, code: "3.3", display: "no confirmation at planned time" }, VKP_ALERT_SYSTEM)).toMatch(/does not exist/);
    expect(checkCoding({ ...ALERT.notDispensed, display: "missed" }, VKP_ALERT_SYSTEM)).toMatch(/not the current display "Ikke utlevert"/);
    // "1.1" exists in both systems with different meanings: the display tells them apart
    expect(checkCoding({ system: VKP_ALERT_SYSTEM, code: "1.1", display: DISPENSE.unassisted.display }, VKP_ALERT_SYSTEM)).toMatch(/display/);
    expect(checkCoding(DISPENSE.unassisted, VKP_ALERT_SYSTEM)).toMatch(/system is/);
  });
});

describe("national codes per event", () => {
  it("maps alarms, battery, supply and contact events", () => {
    expect(codes("alarm", { alarm: {} }, ALARM)).toEqual(["VKP alert 4.13", "SCAIP 0010"]);
    expect(codes("alarm", { alarm: { test: true } }, ALARM)).toEqual(["VKP alert 4.13", "SCAIP 0010"]); // flagged by BackendEvent.test
    expect(codes("alarm", { alarm: { cancel: true, alarmSeq: 4 } }, ALARM)).toEqual([]);
    expect(codes("battery", { battery: { low: true } })).toEqual(["VKP alert 1.17", "SCAIP 0016"]);
    expect(codes("battery", { battery: { low: true } }, ALARM)).toEqual(["SCAIP 0016"]); // 1.17 is the dispenser's battery
    expect(codes("battery", { battery: { low: false } })).toEqual([]);
    expect(codes("supply", { supply: { remaining: 2, hoursLeft: 40 } })).toEqual(["VKP alert 1.12"]);
    expect(codes("supply", { supply: { hoursLeft: 0 } })).toEqual(["VKP alert 1.13"]); // remaining 0 omitted on the wire
    expect(codes("supply", { supply: { remaining: 28, refilled: true } })).toEqual(["VKP alert 1.16"]);
    expect(codes("device_lost", {})).toEqual(["VKP alert 1.20", "SCAIP 0123"]);
    expect(codes("device_lost", {}, ALARM)).toEqual(["SCAIP 0123"]);
    expect(codes("device_back", {})).toEqual([]);
    expect(codes("heartbeat", { heartbeat: {} })).toEqual([]);
  });

  it("every DoseEventKind × DoseMode of varde.proto has its decided codes", () => {
    const kinds = enumValues("DoseEventKind");
    const modes = enumValues("DoseMode");
    const missed = ["VKP alert 1.1", "SCAIP 0081"];
    const notCollected = ["VKP alert 1.3", "SCAIP 0081"];
    // kind → mode → codes; every enum value must appear, so a new one cannot slip through unmapped
    const expected: Record<string, Record<string, string[]>> = {
      DOSE_TAKEN: { DOSE_MODE_NORMAL: ["VKP dispense 1.1", "SCAIP 0083"], DOSE_MODE_ASSISTED: ["VKP dispense 1.2", "SCAIP 0083"], DOSE_MODE_TRAVEL: ["VKP dispense 2", "SCAIP 0083"] },
      DOSE_MISSED: { DOSE_MODE_NORMAL: missed, DOSE_MODE_ASSISTED: missed, DOSE_MODE_TRAVEL: missed },
      DOSE_NOT_COLLECTED: { DOSE_MODE_NORMAL: notCollected, DOSE_MODE_ASSISTED: notCollected, DOSE_MODE_TRAVEL: notCollected },
      DOSE_REMINDER: { DOSE_MODE_NORMAL: ["SCAIP 0082"], DOSE_MODE_ASSISTED: ["SCAIP 0082"], DOSE_MODE_TRAVEL: ["SCAIP 0082"] },
      // the dispenser reports DISPENSED in travel mode (dose handed out ahead)
      DOSE_DISPENSED: { DOSE_MODE_NORMAL: ["VKP dispense 1"], DOSE_MODE_ASSISTED: ["VKP dispense 1"], DOSE_MODE_TRAVEL: ["VKP dispense 2"] },
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(kinds).sort());
    for (const [k, byMode] of Object.entries(expected)) {
      expect(Object.keys(byMode).sort()).toEqual(Object.keys(modes).sort());
      for (const [m, want] of Object.entries(byMode)) expect([k, m, codes("dose", { dose: { kind: kinds[k], mode: modes[m], remaining: 5 } })]).toEqual([k, m, want]);
    }
    // missed because the carousel was empty: 1.2 Utlevering forhindret av medisinmangel
    expect(codes("dose", { dose: { kind: kinds.DOSE_MISSED } })).toEqual(["VKP alert 1.2", "SCAIP 0081"]);
  });

  it("every FaultCode of varde.proto has its decided codes; a cleared fault has none", () => {
    const faults = enumValues("FaultCode");
    const tech = ["VKP alert 1.5"];
    const expected: Record<string, string[]> = {
      FAULT_UNSPECIFIED: tech,
      FAULT_MOTOR_JAM: ["VKP alert 1.8"],
      FAULT_LID_OPENED: ["VKP alert 1.21", "SCAIP 0125"],
      FAULT_FORCED_OPENING: ["VKP alert 1.22", "SCAIP 0125"],
      FAULT_MAINS_LOST: ["VKP alert 1.19", "SCAIP 0085"],
      FAULT_BATTERY_LOW: ["VKP alert 1.17", "SCAIP 0016"],
      FAULT_CLOCK_NOT_SET: tech, // cannot keep the schedule
      FAULT_CLOCK_JUMPED: [], // the clock was corrected; affected doses carry their own codes
      FAULT_STORAGE_NEARLY_FULL: tech,
      FAULT_OUTBOX_FULL: tech,
      FAULT_OUT_OF_MEMORY: tech,
      FAULT_SLOT_SENSOR: tech,
      FAULT_INTERNAL_ERROR: tech,
      FAULT_ACK_TIMEOUT: [], // the alarm itself carries 4.13 / 0010
      FAULT_DOSE_RELEASED: tech, // a missed dose lies in the tray: dispensing is locked until staff confirm a refill
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(faults).sort());
    for (const [f, want] of Object.entries(expected)) {
      expect([f, codes("fault", { fault: { code: faults[f], detail: 3 } })]).toEqual([f, want]);
      expect([f, codes("fault", { fault: { code: faults[f], cleared: true } })]).toEqual([f, []]);
      // an alarm button's faults carry no 1.x code (those name the medication dispenser)
      expect([f, codes("fault", { fault: { code: faults[f] } }, ALARM).filter((c) => c.startsWith("VKP"))]).toEqual([f, []]);
    }
    expect(codes("fault", { fault: { code: 99 } })).toEqual(tech); // a code newer than this gateway
  });

  it("a dose's scheduled time is envelope.time - delay_s (late and early alike); 0 for other events", () => {
    expect(scheduledTime("dose", { time: 1_800_000_600, dose: { kind: 0, delayS: 600 } })).toBe(1_800_000_000);
    expect(scheduledTime("dose", { time: 1_800_000_000 - 900, dose: { kind: 4, mode: 2, delayS: -900 } })).toBe(1_800_000_000); // travel: ahead of time
    expect(scheduledTime("dose", { time: 1_800_000_000, dose: { kind: 1 } })).toBe(1_800_000_000); // delay 0 omitted on the wire
    expect(scheduledTime("fault", { time: 1_800_000_000, fault: { code: 1 } })).toBe(0);
  });
});
