import { describe, it, expect } from "vitest";
import { errorFlagNames, formatProbe } from "./probe.ts";

describe("probe report", () => {
  it("names the Status.error_flags bits", () => {
    expect(errorFlagNames(0)).toEqual([]);
    expect(errorFlagNames(8 | 16)).toEqual(["LOW_MEMORY", "MEMORY"]);
    expect(errorFlagNames(1 | 256)).toEqual(["FIFO_FULL", "0x100"]);
  });

  it("reads as a technician would want it", () => {
    const text = formatProbe({
      port: "/dev/ttyUSB0", mode: "firmware", id: 1001, verified: true, sticker: "1001-ABCDE", label: "Flat 3B",
      kind: "alarm", board: "alarm-esp32", firmware: "0.1.0", scheduleVersion: 0, configVersion: 3, outboxDepth: 2,
      battery: { percent: 87, millivolts: 4020 }, clockOffsetS: -2, clockSkewS: 1, errorFlags: 8, uptimeS: 60, freeVars: 1200,
    });
    expect(text).toContain("device:         1001 (authenticated with its registry key)");
    expect(text).toContain("sticker:        1001-ABCDE");
    expect(text).toContain('label:          "Flat 3B"');
    expect(text).toContain("outbox:         2 event(s) waiting");
    expect(text).toContain("battery:        87 % (4020 mV)");
    expect(text).toContain("error flags:    LOW_MEMORY");
    const repl = formatProbe({ port: "p", mode: "repl", storage: { id: null, kind: null, firmware: null, board: null, free: 1000, espruino: "ESP32 2v29" } });
    expect(repl).toContain("identity:       none (not flashed yet)");
  });
});
