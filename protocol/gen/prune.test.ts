import { describe, it, expect } from "vitest";
import { TABLE } from "./codec.ts";
import { encodeWith, decodeWith } from "./wire.ts";
import { envelopeMembers, pruneTable, tableSource } from "./prune.ts";

describe("pruneTable (per-app codec tables)", () => {
  const alarm = pruneTable(TABLE, ["alarm", "alarmAck", "hello", "info"]);

  it("keeps the named members, the other Envelope fields and what they reach; nothing else", () => {
    expect(envelopeMembers(alarm)).toEqual(["alarm", "alarmAck", "hello", "info"]);
    expect(Object.keys(alarm)).toEqual(["Envelope", "Alarm", "AlarmAck", "Hello", "DeviceInfo"]);
    expect(alarm.Envelope.startsWith("|1,device,u|2,boot,f|3,seq,u|4,ack,u|5,time,f|6,late,b|7,alarm,m,Alarm,obody|11,alarmAck,")).toBe(true);
    // nested messages follow their parent
    expect(Object.keys(pruneTable(TABLE, ["schedule"]))).toEqual(["Envelope", "Schedule", "ScheduledDose"]);
    expect(pruneTable(TABLE, envelopeMembers(TABLE))).toEqual(TABLE);
  });

  it("the same bytes for kept members; a pruned member on the wire is skipped as an unknown field", () => {
    const env = { device: 7, boot: 0xdeadbeef, seq: 3, time: 1795000000, alarm: { alarmSeq: 3, hold: true } };
    const bytes = encodeWith(TABLE, "Envelope", env);
    expect(Buffer.from(encodeWith(alarm, "Envelope", env))).toEqual(Buffer.from(bytes));
    expect(decodeWith(alarm, "Envelope", bytes)).toEqual(decodeWith(TABLE, "Envelope", bytes));
    const sched = encodeWith(TABLE, "Envelope", { device: 7, seq: 9, schedule: { version: 2, doses: [{ minute: 480 }] } });
    const got = decodeWith(alarm, "Envelope", sched);
    expect(got.seq).toBe(9);
    expect(got.schedule).toBeUndefined();
  });

  it("refuses a name that is not an Envelope member", () => {
    expect(() => pruneTable(TABLE, ["alarm", "Schedule"])).toThrow(/"Schedule" is not an Envelope member/);
  });

  it("renders a table as codec.ts source", () => {
    const src = tableSource({ Hello: "|1,nonce,u,,|2,gatewayTime,u,," });
    expect(src).toBe('{\n  Hello: "|1,nonce,u,,|2,gatewayTime,u,,",\n}');
  });
});
