import { describe, it, expect } from "vitest";
import { nationalCodes } from "./codes.ts";
import { root as schemaRoot } from "../protocol/schema.ts";
import { scheduledTime } from "./mqtt/backend.ts";

const codes = (type: string, env: any) => nationalCodes(type, env).map((c) => `${c.system} ${c.code}`);
const enumValues = (name: string): Record<string, number> => schemaRoot.lookupEnum(`varde.v1.${name}`).values;

describe("national codes per event", () => {
  it("maps each event to the VKP and SCAIP codes of DESIGN.md", () => {
    expect(codes("alarm", { alarm: {} })).toEqual(["VKP 4.13", "SCAIP 0010"]);
    expect(codes("alarm", { alarm: { test: true } })).toEqual(["VKP 4.13", "SCAIP 0010"]); // flagged by BackendEvent.test
    expect(codes("alarm", { alarm: { cancel: true, alarmSeq: 4 } })).toEqual([]);
    expect(codes("battery", { battery: { low: true } })).toEqual(["VKP 3.17", "SCAIP 0016"]);
    expect(codes("battery", { battery: { low: false } })).toEqual([]);
    expect(codes("supply", { supply: { remaining: 2, hoursLeft: 40 } })).toEqual(["VKP 3.25"]); // refill needed
    expect(codes("supply", { supply: { remaining: 28, refilled: true } })).toEqual([]);
    expect(codes("device_lost", {})).toEqual(["VKP 3.10", "SCAIP 0123"]);
    expect(codes("device_back", {})).toEqual([]);
    expect(codes("heartbeat", { heartbeat: {} })).toEqual([]);
  });

  it("every DoseEventKind × DoseMode of varde.proto has its decided codes", () => {
    const kinds = enumValues("DoseEventKind");
    const modes = enumValues("DoseMode");
    // kind → mode → codes; every enum value must appear, so a new one cannot slip through unmapped
    const expected: Record<string, Record<string, string[]>> = {
      DOSE_TAKEN: { DOSE_MODE_NORMAL: ["VKP 1.1", "SCAIP 0083"], DOSE_MODE_ASSISTED: ["VKP 1.2", "SCAIP 0083"], DOSE_MODE_TRAVEL: ["VKP 2", "SCAIP 0083"] },
      DOSE_MISSED: { DOSE_MODE_NORMAL: ["VKP 3.3", "SCAIP 0081"], DOSE_MODE_ASSISTED: ["VKP 3.3", "SCAIP 0081"], DOSE_MODE_TRAVEL: ["VKP 3.3", "SCAIP 0081"] },
      DOSE_NOT_COLLECTED: { DOSE_MODE_NORMAL: ["VKP 3.3", "SCAIP 0081"], DOSE_MODE_ASSISTED: ["VKP 3.3", "SCAIP 0081"], DOSE_MODE_TRAVEL: ["VKP 3.3", "SCAIP 0081"] },
      DOSE_REMINDER: { DOSE_MODE_NORMAL: ["SCAIP 0082"], DOSE_MODE_ASSISTED: ["SCAIP 0082"], DOSE_MODE_TRAVEL: ["SCAIP 0082"] },
      // the dispenser reports DISPENSED in travel mode (dose handed out ahead)
      DOSE_DISPENSED: { DOSE_MODE_NORMAL: ["VKP 1"], DOSE_MODE_ASSISTED: ["VKP 1"], DOSE_MODE_TRAVEL: ["VKP 2"] },
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(kinds).sort());
    for (const [k, byMode] of Object.entries(expected)) {
      expect(Object.keys(byMode).sort()).toEqual(Object.keys(modes).sort());
      for (const [m, want] of Object.entries(byMode)) expect([k, m, codes("dose", { dose: { kind: kinds[k], mode: modes[m] } })]).toEqual([k, m, want]);
    }
  });

  it("every FaultCode of varde.proto has its decided codes; a cleared fault has none", () => {
    const faults = enumValues("FaultCode");
    const tech = ["VKP 3.4"];
    const expected: Record<string, string[]> = {
      FAULT_UNSPECIFIED: tech,
      FAULT_MOTOR_JAM: ["VKP 3.14", "VKP 3.4"],
      FAULT_LID_OPENED: ["VKP 3.11", "SCAIP 0125"],
      FAULT_FORCED_OPENING: ["VKP 3.12", "SCAIP 0125"],
      FAULT_MAINS_LOST: ["VKP 3.9", "SCAIP 0085"],
      FAULT_BATTERY_LOW: ["VKP 3.17", "SCAIP 0016"],
      FAULT_CLOCK_NOT_SET: tech, // cannot keep the schedule
      FAULT_CLOCK_JUMPED: [], // the clock was corrected; affected doses carry their own codes
      FAULT_STORAGE_NEARLY_FULL: tech,
      FAULT_OUTBOX_FULL: tech,
      FAULT_OUT_OF_MEMORY: tech,
      FAULT_SLOT_SENSOR: tech,
      FAULT_INTERNAL_ERROR: tech,
      FAULT_ACK_TIMEOUT: [], // the alarm itself carries 4.13 / 0010
      FAULT_DOSE_RELEASED: tech, // a missed dose lies in the tray: staff must remove it; the miss itself already carried 3.3 / 0081
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(faults).sort());
    for (const [f, want] of Object.entries(expected)) {
      expect([f, codes("fault", { fault: { code: faults[f], detail: 3 } })]).toEqual([f, want]);
      expect([f, codes("fault", { fault: { code: faults[f], cleared: true } })]).toEqual([f, []]);
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
