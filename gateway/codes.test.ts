import { describe, it, expect } from "vitest";
import { nationalCodes } from "./codes.ts";

const codes = (type: string, env: any) => nationalCodes(type, env).map((c) => `${c.system} ${c.code}`);

describe("national codes per event", () => {
  it("maps each event to the VKP and SCAIP codes of DESIGN.md", () => {
    expect(codes("alarm", { alarm: {} })).toEqual(["VKP 4.13", "SCAIP 0010"]);
    expect(codes("alarm", { alarm: { test: true } })).toEqual(["VKP 4.13", "SCAIP 0010"]); // flagged by BackendEvent.test
    expect(codes("alarm", { alarm: { cancel: true, alarmSeq: 4 } })).toEqual([]);
    expect(codes("dose", { dose: { kind: 0 } })).toEqual(["VKP 1.1", "SCAIP 0083"]);
    expect(codes("dose", { dose: { kind: 0, mode: 1 } })).toEqual(["VKP 1.2", "SCAIP 0083"]);
    expect(codes("dose", { dose: { kind: 0, mode: 2 } })).toEqual(["VKP 2", "SCAIP 0083"]);
    expect(codes("dose", { dose: { kind: 1 } })).toEqual(["VKP 3.3", "SCAIP 0081"]);
    expect(codes("dose", { dose: { kind: 2 } })).toEqual(["VKP 3.3", "SCAIP 0081"]);
    expect(codes("dose", { dose: { kind: 3 } })).toEqual(["SCAIP 0082"]);
    expect(codes("dose", { dose: { kind: 4 } })).toEqual(["VKP 1"]);
    expect(codes("fault", { fault: { code: 1 } })).toEqual(["VKP 3.14", "VKP 3.4"]);
    expect(codes("fault", { fault: { code: 3 } })).toEqual(["VKP 3.12", "SCAIP 0125"]);
    expect(codes("fault", { fault: { code: 5 } })).toEqual(["VKP 3.17", "SCAIP 0016"]);
    expect(codes("fault", { fault: { code: 4 } })).toEqual(["VKP 3.9", "SCAIP 0085"]);
    expect(codes("fault", { fault: { code: 4, cleared: true } })).toEqual([]);
    expect(codes("fault", { fault: { code: 13 } })).toEqual(["VKP 3.4"]);
    expect(codes("battery", { battery: { low: true } })).toEqual(["VKP 3.17", "SCAIP 0016"]);
    expect(codes("battery", { battery: { low: false } })).toEqual([]);
    expect(codes("supply", { supply: { remaining: 2 } })).toEqual(["VKP 3.25"]);
    expect(codes("supply", { supply: { refilled: true } })).toEqual([]);
    expect(codes("device_lost", {})).toEqual(["VKP 3.10"]);
    expect(codes("heartbeat", { heartbeat: {} })).toEqual([]);
  });
});
