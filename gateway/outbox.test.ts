import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Outbox, type NewEvent } from "./outbox.ts";

const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-ob-")), "outbox.db");
let n = 0;
function ev(device: number, seq: number, type = "alarm", size = 20): NewEvent {
  return { eventId: seq ? `${device}:7:${seq}` : `${device}:7:0-${++n}`, device, boot: 7, seq, type, priority: type === "heartbeat" ? 0 : 1, time: 1000 + seq, received: 1000 + seq, historical: false, payload: new Uint8Array(size).fill(seq & 0xff) };
}

describe("outbox", () => {
  it("group-commits concurrent submits in one transaction and dedups by (device, seq)", async () => {
    const ob = new Outbox(file());
    const results = await Promise.all([...Array(100).keys()].map((i) => ob.submit(ev(1 + (i % 10), 1 + Math.floor(i / 10)))));
    expect(results.every((r) => r === "stored")).toBe(true);
    expect(ob.commits).toBe(1);
    expect(ob.depth()).toBe(100);
    expect(await ob.submit(ev(3, 5))).toBe("duplicate"); // retransmission
    expect(await Promise.all([ob.submit(ev(3, 11)), ob.submit(ev(3, 11))])).toEqual(["stored", "duplicate"]); // twice in one batch
    expect(ob.commits).toBe(2);
    ob.close();
  });

  it("survives a reopen: pending events in order, replay high-water, downlink seqs", async () => {
    const f = file();
    let ob = new Outbox(f);
    for (let s = 1; s <= 5; s++) await ob.submit(ev(9, s));
    ob.queueDownlink(9, "alarmAck", new Uint8Array([1]), "ack-alarm c1");
    ob.queueDownlink(9, "schedule", new Uint8Array([2]));
    ob.remove(["9:7:2"]);
    ob.db.close(); // like a crash: no orderly close()
    ob = new Outbox(f);
    expect(ob.pending(10).map((e) => e.seq)).toEqual([1, 3, 4, 5]);
    expect(ob.seen(9)).toBe(5);
    expect(await ob.submit(ev(9, 4))).toBe("duplicate");
    expect(ob.nextDownlink(9)).toMatchObject({ seq: 1, kind: "alarmAck", correlation: "ack-alarm c1" });
    expect(ob.queueDownlink(9, "config", new Uint8Array([3])).seq).toBe(3);
    expect(ob.ackDownlink(9, 2).map((r) => r.seq)).toEqual([1, 2]);
    expect(ob.nextDownlink(9)?.seq).toBe(3);
    ob.close();
  });

  it("when full: drops the oldest telemetry first, never alarms; refuses (unacked) when only alarms are left", async () => {
    const dropped: string[] = [];
    const fulls: boolean[] = [];
    const ob = new Outbox(file(), { maxBytes: 10 * (100 + 64), onDropped: (e) => dropped.push(e.eventId), onFull: (f) => fulls.push(f) });
    const hb: string[] = [];
    for (let i = 0; i < 4; i++) {
      const h = ev(1, 0, "heartbeat", 100);
      hb.push(h.eventId);
      await ob.submit(h);
    }
    for (let s = 1; s <= 6; s++) expect(await ob.submit(ev(1, s, "alarm", 100))).toBe("stored");
    expect(ob.depth()).toBe(10);
    expect(await ob.submit(ev(1, 7, "alarm", 100))).toBe("stored");
    expect(dropped).toEqual([hb[0]]);
    for (let s = 8; s <= 10; s++) await ob.submit(ev(1, s, "alarm", 100));
    expect(dropped).toEqual(hb);
    expect(await ob.submit(ev(1, 11, "alarm", 100))).toBe("full");
    expect(ob.full).toBe(true);
    expect(ob.seen(1)).toBe(10); // seq 11 not recorded: its retransmission will be stored later
    expect(ob.pending(100).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    ob.remove(["1:7:1"]);
    expect(await ob.submit(ev(1, 11, "alarm", 100))).toBe("stored");
    expect(fulls).toEqual([true, false]);
    ob.close();
  });

  it("a nearly full disk counts as full (min_free_bytes), so the fault is raised before SQLite fails", async () => {
    const fulls: boolean[] = [];
    const ob = new Outbox(file(), { maxBytes: 0, minFreeBytes: Number.MAX_SAFE_INTEGER, onFull: (f) => fulls.push(f) });
    expect(await ob.submit(ev(1, 1))).toBe("full");
    expect(fulls).toEqual([true]);
    expect(ob.depth()).toBe(0);
    ob.close();
  });
});
