import { describe, it, expect } from "vitest";
import { membersNamed, appTable } from "./codec-table.ts";
import { buildFirmware } from "./index.ts";

describe("per-app codec table", () => {
  it("finds members named by property access, object keys and string literals, not inside the table", () => {
    const code = 'var T={Envelope:"|7,alarm,m,Alarm,obody|16,schedule,m,Schedule,obody"};function f(e){if(e.alarmAck)g({heartbeat:{}});return"timeSync"in e}';
    expect(membersNamed(code)).toEqual(["heartbeat", "alarmAck", "timeSync"]);
    expect(Object.keys(appTable(code).table)).toEqual(["Envelope", "Heartbeat", "AlarmAck", "TimeSync"]);
  });

  it("the alarm bundle carries no dispenser messages; the dispenser keeps its schedule", async () => {
    const alarm = await buildFirmware("alarm-nrf52", { noWrite: true });
    expect(alarm.codecMembers).toEqual(["alarm", "heartbeat", "fault", "alarmAck", "hello", "info", "timeSync", "battery", "config", "configAck", "command", "status"]);
    for (const gone of ["DoseEvent", "ScheduledDose", "Supply", "|16,schedule"]) expect(alarm.code).not.toContain(gone);
    const disp = await buildFirmware("dispenser-esp32", { noWrite: true });
    expect(disp.codecMembers).toEqual(expect.arrayContaining(["dose", "schedule", "scheduleAck", "supply", "info", "hello"]));
    expect(disp.code).toContain("ScheduledDose:");
  });
});
