import { describe, expect, it } from "vitest";
import { describeEvent, enumWords } from "./describe.ts";

describe("events in words", () => {
  it("names enums from varde.proto, numeric or by name", () => {
    expect(enumWords("FaultCode", 3, "FAULT_")).toBe("forced opening");
    expect(enumWords("FaultCode", "FAULT_DOSE_RELEASED", "FAULT_")).toBe("dose released");
    expect(enumWords("FaultCode", 999, "FAULT_")).toBe("FaultCode 999");
  });

  it("says what happened, never a bare number", () => {
    expect(describeEvent("alarm", { alarm: {} })).toBe("ALARM");
    expect(describeEvent("alarm", { alarm: { test: true } })).toBe("TEST alarm");
    expect(describeEvent("alarm", { alarm: { cancel: true, alarmSeq: 4 } })).toBe("alarm 4 cancelled by the wearer");
    expect(describeEvent("fault", { fault: { code: 1, cleared: true } })).toBe("fault: motor jam — cleared");
    expect(describeEvent("dose", { dose: { kind: 0, slot: 2, delayS: 300 } })).toBe("dose taken (compartment 2, 5 min after the dose time)");
    expect(describeEvent("dose", { dose: { kind: "DOSE_MISSED", slot: 3 } })).toBe("dose missed (compartment 3)");
    expect(describeEvent("dose", { dose: { kind: 4, slot: 5, mode: 2 } })).toBe("dose dispensed (compartment 5, on time, travel mode)");
    expect(describeEvent("supply", { supply: { remaining: 4, hoursLeft: 20 } })).toBe("refill needed: 4 doses left (20 h)");
  });
});
