import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { COMMAND_MEMORY_S, Store, type NewEvent } from "./store.ts";
import { SCHEMA_VERSION } from "./schema.ts";

const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-store-")), "outbox.db");
let n = 0;
function ev(device: number, seq: number, type = "alarm", size = 20): NewEvent {
  return { eventId: seq ? `${device}:7:${seq}` : `${device}:7:0-${++n}`, device, boot: 7, seq, type, priority: type === "heartbeat" ? 0 : 1, time: 1000 + seq, received: 1000 + seq, historical: false, payload: new Uint8Array(size).fill(seq & 0xff) };
}
const rows = (f: string) => {
  const db = new Database(f, { readonly: true });
  try {
    return (db.prepare("SELECT event_id FROM events ORDER BY id").all() as Array<{ event_id: string }>).map((r) => r.event_id);
  } finally {
    db.close();
  }
};

describe("store: events", () => {
  it("group-commits concurrent submits in one transaction and one fsync, and dedups by (device, seq)", async () => {
    const st = new Store(file());
    const results = await Promise.all([...Array(100).keys()].map((i) => st.submit(ev(1 + (i % 10), 1 + Math.floor(i / 10)))));
    expect(results.every((r) => r === "stored")).toBe(true);
    expect(st.commits).toBe(1);
    expect(st.syncs).toBe(1);
    expect(st.depth()).toBe(100);
    expect(await st.submit(ev(3, 5))).toBe("duplicate"); // retransmission
    expect(await Promise.all([st.submit(ev(3, 11)), st.submit(ev(3, 11))])).toEqual(["stored", "duplicate"]); // twice in one batch
    st.close();
  });

  it("a duplicate is answered only once its first copy is durable, and not at all when that write fails", async () => {
    const st = new Store(file());
    const order: string[] = [];
    const first = st.submit(ev(2, 1)).then((r) => order.push(`first ${r}`));
    const again = st.submit(ev(2, 1)).then((r) => order.push(`again ${r}`));
    await Promise.all([first, again]);
    expect(order).toEqual(["first stored", "again duplicate"]);
    st.close();
  });

  it("out-of-order seqs (a device that pipelines its outbox): a later seq does not make the earlier ones duplicates", async () => {
    const f = file();
    let st = new Store(f);
    expect(await st.submit(ev(6, 5))).toBe("stored");
    expect(await st.submit(ev(6, 3))).toBe("stored"); // skipped before, not seen
    expect(await st.submit(ev(6, 5))).toBe("duplicate");
    st.db.close();
    st = new Store(f); // the gaps survive a restart
    expect(await st.submit(ev(6, 4))).toBe("stored");
    expect(await st.submit(ev(6, 3))).toBe("duplicate");
    expect(await st.submit(ev(6, 1))).toBe("stored");
    st.close();
  });

  it("acks of the backend are deleted in the same batches as new events, without reading them back", async () => {
    const f = file();
    const st = new Store(f);
    await Promise.all([1, 2, 3, 4].map((s) => st.submit(ev(9, s))));
    const handed = st.next(10);
    expect(handed.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const before = st.commits;
    // an ack and a new event in the same turn: one transaction
    expect(st.remove(["9:7:1", "9:7:3"]).map((r) => r.eventId)).toEqual(["9:7:1", "9:7:3"]);
    expect(st.depth()).toBe(2); // counted at once
    await st.submit(ev(9, 5));
    expect(st.commits - before).toBe(1);
    expect(rows(f)).toEqual(["9:7:2", "9:7:4", "9:7:5"]);
    // an ack for an event this process never handed out (acked again after a restart) is found by id
    st.remove(["9:7:5"]);
    await st.sync();
    expect(rows(f)).toEqual(["9:7:2", "9:7:4"]);
    expect(st.depth()).toBe(2);
    // acked twice in one batch (the second ack finds it handed out no more): counted once
    st.remove(["9:7:2"]);
    st.remove(["9:7:2"]);
    await st.sync();
    expect(rows(f)).toEqual(["9:7:4"]);
    expect(st.depth()).toBe(1);
    st.close();
    const again = new Store(f);
    expect(again.depth()).toBe(1);
    again.close();
  });

  it("deletes runs of consecutive ids and single ones, and nothing else", async () => {
    const f = file();
    const st = new Store(f);
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((s) => st.submit(ev(4, s))));
    st.next(10);
    st.remove(["4:7:7", "4:7:2", "4:7:3", "4:7:4", "4:7:8", "4:7:5"]); // out of order: runs 2–5, 7–8
    await st.sync();
    expect(rows(f)).toEqual(["4:7:1", "4:7:6"]);
    expect(st.depth()).toBe(2);
    st.close();
  });

  it("the drain reads new events from memory, and from disk once it fell behind (in order, each once)", async () => {
    const st = new Store(file(), { tailCap: 3 });
    for (let s = 1; s <= 10; s++) void st.submit(ev(1, s));
    await st.sync();
    const got: number[] = [];
    for (;;) {
      const b = st.next(4);
      if (b.length === 0) break;
      got.push(...b.map((e) => e.seq));
    }
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // caught up: the next ones come from memory again
    const p = st.submit(ev(1, 11));
    expect(st.next(4).map((e) => e.seq)).toEqual([11]);
    await p;
    st.close();
  });

  it("survives a reopen: pending events in order, replay high-water, downlink seqs and config, availability, birth sequence", async () => {
    const f = file();
    let st = new Store(f);
    for (let s = 1; s <= 5; s++) await st.submit(ev(9, s));
    await st.queueDownlink(9, "alarmAck", new Uint8Array([1]), "ack-alarm c1");
    await st.queueDownlink(9, "config", new Uint8Array([2]), "", { version: st.nextConfigVersion(9), config: { heartbeatS: 60 } });
    st.setAvailability(9, { online: true, time: 5, reason: "session", lastSeen: 5, firmware: "1", board: "b" });
    expect(st.nextBdSeq()).toBe(1);
    st.next(10);
    st.remove(["9:7:2"]);
    await st.sync();
    st.db.close(); // like a crash: no orderly close()
    st = new Store(f);
    expect(st.next(10).map((e) => e.seq)).toEqual([1, 3, 4, 5]);
    expect(st.seen(9)).toBe(5);
    expect(await st.submit(ev(9, 4))).toBe("duplicate");
    expect(st.nextDownlink(9)).toMatchObject({ seq: 1, kind: "alarmAck", correlation: "ack-alarm c1" });
    expect(st.lastConfig(9)).toEqual({ heartbeatS: 60 });
    expect(st.nextConfigVersion(9)).toBe(2);
    expect(st.device(9)?.availability).toMatchObject({ online: true, reason: "session" });
    expect(st.nextBdSeq()).toBe(2);
    expect((await st.queueDownlink(9, "config", new Uint8Array([3]))).seq).toBe(3);
    expect(st.ackDownlink(9, 2).map((r) => r.seq)).toEqual([1, 2]);
    expect(st.nextDownlink(9)?.seq).toBe(3);
    await st.sync();
    st.close();
  });

  it("when full: drops the oldest telemetry first, never alarms; refuses (unacked) when only alarms are left", async () => {
    const dropped: string[] = [];
    const fulls: boolean[] = [];
    const st = new Store(file(), { maxBytes: 10 * (100 + 64), onDropped: (e) => dropped.push(e.eventId), onFull: (f) => fulls.push(f) });
    const hb: string[] = [];
    for (let i = 0; i < 4; i++) {
      const h = ev(1, 0, "heartbeat", 100);
      hb.push(h.eventId);
      await st.submit(h);
    }
    for (let s = 1; s <= 6; s++) expect(await st.submit(ev(1, s, "alarm", 100))).toBe("stored");
    expect(st.depth()).toBe(10);
    expect(await st.submit(ev(1, 7, "alarm", 100))).toBe("stored");
    expect(dropped).toEqual([hb[0]]);
    for (let s = 8; s <= 10; s++) await st.submit(ev(1, s, "alarm", 100));
    expect(dropped).toEqual(hb);
    expect(await st.submit(ev(1, 11, "alarm", 100))).toBe("full");
    expect(st.full).toBe(true);
    expect(st.seen(1)).toBe(10); // seq 11 not recorded: its retransmission will be stored later
    expect(st.next(100).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    st.remove(["1:7:1"]);
    expect(await st.submit(ev(1, 11, "alarm", 100))).toBe("stored");
    expect(fulls).toEqual([true, false]);
    st.close();
  });

  it("a nearly full disk counts as full (min_free_bytes), so the fault is raised before SQLite fails", async () => {
    const fulls: boolean[] = [];
    const st = new Store(file(), { maxBytes: 0, minFreeBytes: Number.MAX_SAFE_INTEGER, onFull: (f) => fulls.push(f) });
    expect(await st.submit(ev(1, 1))).toBe("full");
    expect(fulls).toEqual([true]);
    expect(st.depth()).toBe(0);
    st.close();
  });
});

describe("store: backend commands", () => {
  it("a command's correlation is remembered while its downlink waits, after the device acked it and across a reopen; forgotten after COMMAND_MEMORY_S", async () => {
    const f = file();
    let now = Date.UTC(2026, 11, 6, 8, 0, 0);
    let st = new Store(f, { now: () => now });
    const row = await st.queueDownlink(9, "command", new Uint8Array([1]), "device-command c-1");
    await st.queueDownlink(9, "command", new Uint8Array([2])); // no correlation: nothing to remember
    expect(st.commandDownlink(9, "device-command c-1")).toEqual({ seq: row.seq, delivered: false });
    expect(st.commandDownlink(9, "device-command c-2")).toBeUndefined();
    expect(st.commandDownlink(8, "device-command c-1")).toBeUndefined(); // per device
    expect(st.ackDownlink(9, row.seq).map((r) => r.seq)).toEqual([row.seq]);
    expect(st.commandDownlink(9, "device-command c-1")).toEqual({ seq: row.seq, delivered: true });
    await st.sync();
    st.close();
    st = new Store(f, { now: () => now });
    expect(st.commandDownlink(9, "device-command c-1")).toEqual({ seq: row.seq, delivered: true });
    // a week and a bit later, the next command prunes it
    now += (COMMAND_MEMORY_S + 3600) * 1000;
    await st.queueDownlink(9, "command", new Uint8Array([3]), "device-command c-3");
    expect(st.commandDownlink(9, "device-command c-1")).toBeUndefined();
    expect(st.commandDownlink(9, "device-command c-3")).toMatchObject({ delivered: false });
    st.close();
  });
});

describe("store: the file", () => {
  it("migrates version 1 (no commands table) keeping everything", async () => {
    const f = file();
    let st = new Store(f);
    expect(await st.submit(ev(5, 1))).toBe("stored");
    await st.queueDownlink(5, "command", new Uint8Array([1]), "device-command old");
    await st.sync();
    st.close();
    const db = new Database(f);
    db.exec("DROP TABLE commands; DROP INDEX IF EXISTS commands_created;");
    db.pragma("user_version = 1");
    db.close();
    st = new Store(f);
    expect(st.next(10).map((e) => e.eventId)).toEqual(["5:7:1"]);
    expect(st.nextDownlink(5)).toMatchObject({ seq: 1, correlation: "device-command old" });
    expect(st.commandDownlink(5, "device-command old")).toEqual({ seq: 1, delivered: false }); // from the queue
    const row = await st.queueDownlink(5, "command", new Uint8Array([2]), "device-command new");
    st.ackDownlink(5, row.seq);
    expect(st.commandDownlink(5, "device-command new")).toEqual({ seq: row.seq, delivered: true });
    expect(st.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    st.close();
  });

  it("migrates the first layout (meta keys by prefix, seen table) keeping every event and downlink", async () => {
    const f = file();
    const db = new Database(f);
    db.exec(`
      CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, device INTEGER NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, priority INTEGER NOT NULL, time INTEGER NOT NULL, received INTEGER NOT NULL, historical INTEGER NOT NULL, payload BLOB NOT NULL);
      CREATE INDEX events_priority ON events(priority, id);
      CREATE TABLE seen(device INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE downlink(id INTEGER PRIMARY KEY AUTOINCREMENT, device INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL, correlation TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(device, seq));
      CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO events(event_id, device, boot, seq, type, priority, time, received, historical, payload) VALUES ('5:1:3', 5, 1, 3, 'alarm', 1, 1, 1, 0, x'01'), ('5:1:4', 5, 1, 4, 'dose', 1, 1, 1, 0, x'02');
      INSERT INTO seen VALUES (5, 4);
      INSERT INTO downlink(device, seq, kind, body, correlation, created) VALUES (5, 2, 'alarmAck', x'03', 'ack-alarm x', 1);
      INSERT INTO meta VALUES ('bdSeq', '41'), ('avail:5', '{"online":true,"time":1,"reason":"session","lastSeen":1,"firmware":"f","board":"b"}'), ('cfgver:5', '3'), ('cfg:5', '{"heartbeatS":30,"version":3}'), ('dlseq:5', '2');
    `);
    db.close();
    const st = new Store(f);
    expect(st.next(10).map((e) => [e.eventId, e.type])).toEqual([["5:1:3", "alarm"], ["5:1:4", "dose"]]);
    expect(st.seen(5)).toBe(4);
    expect(st.nextBdSeq()).toBe(42);
    expect(st.device(5)?.availability?.online).toBe(true);
    expect(st.nextConfigVersion(5)).toBe(4);
    expect(st.nextDownlink(5)).toMatchObject({ seq: 2, kind: "alarmAck", correlation: "ack-alarm x" });
    expect((await st.queueDownlink(5, "command", new Uint8Array([1]))).seq).toBe(3);
    expect(st.damage).toBeNull();
    st.close();
  });

  it("a database file truncated to 0 bytes is reported, never a silent empty start", () => {
    const f = file();
    new Store(f).close();
    fs.truncateSync(f, 0);
    const st = new Store(f);
    expect(st.damage?.reason).toMatch(/empty \(0 bytes\)/);
    expect(fs.existsSync(st.damage!.movedTo)).toBe(true);
    st.close();
  });

  it("a damaged page costs the rows on it; every other event is salvaged and the damaged file kept as found", async () => {
    const f = file();
    let st = new Store(f);
    const N = 2000;
    for (let s = 1; s <= N; s++) void st.submit(ev(3, s, "alarm", 60));
    await st.sync();
    st.close(); // checkpointed into the main file
    const page = 4096;
    const pages = fs.statSync(f).size / page;
    const probe = new Database(f, { readonly: true });
    const leaves = (probe.prepare("SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno").all() as Array<{ pageno: number }>).map((r) => r.pageno);
    probe.close();
    const victim = leaves[Math.floor(leaves.length / 2)]; // a leaf page in the middle of the events table
    const fd = fs.openSync(f, "r+");
    fs.writeSync(fd, Buffer.alloc(page, 0xa5), 0, page, (victim - 1) * page);
    fs.closeSync(fd);
    const damaged = fs.readFileSync(f);
    st = new Store(f);
    expect(st.damage).not.toBeNull();
    expect(fs.readFileSync(st.damage!.movedTo).equals(damaged)).toBe(true);
    const got = st.next(N).map((e) => e.seq);
    const perPage = Math.ceil(page / (60 + 20));
    console.log(`damaged page ${victim} of ${pages}: ${got.length} of ${N} events salvaged; ${JSON.stringify(st.damage!.salvage)}`);
    expect(got.length).toBeGreaterThanOrEqual(N - perPage); // at most the rows of the damaged page are lost
    expect(got.length).toBeLessThan(N);
    expect(got).toEqual([...got].sort((a, b) => a - b)); // order kept
    expect(st.seen(3)).toBe(N); // replay high-water kept (or rebuilt from the salvaged events)
    st.close();
  });

  it("a truncated file (power cut while growing) keeps the events in the pages that survived", async () => {
    const f = file();
    let st = new Store(f);
    const N = 1500;
    for (let s = 1; s <= N; s++) void st.submit(ev(4, s, "dose", 60));
    await st.sync();
    st.close();
    const size = fs.statSync(f).size;
    fs.truncateSync(f, Math.floor(size / 4096 / 2) * 4096);
    st = new Store(f);
    expect(st.damage).not.toBeNull();
    const got = st.next(N).map((e) => e.seq);
    console.log(`truncated to half: ${got.length} of ${N} events salvaged; ${JSON.stringify(st.damage!.salvage.unreadable)}`);
    expect(got.length).toBeGreaterThan(N / 4); // the events table's first pages survived
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1)); // a prefix, in order
    st.close();
  });
});
