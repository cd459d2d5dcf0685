// The bench's independent subscriber: its own process (started by gateway-bench.ts with fork), one MQTT
// client subscribed at QoS 1 to the gateway's event topics and to the baseline topic. It records when
// (process.hrtime.bigint(), CLOCK_MONOTONIC, comparable across processes) each event id first arrived, and
// tells the parent how many arrived (batched per event-loop turn) so the parent can keep a closed loop.
// In "store-ack" mode it is a consumer that stores each gateway event (SQLite WAL, synchronous = FULL, one
// transaction per batch) and only then publishes the EventAck — the contract's application ack.
// Messages (IPC): parent → {cmd: "reset"} | {cmd: "report"} | {cmd: "stop"};
//                 child  → {ready: true} | {n} | {recv: [[eventId, ns], ...]}.
import * as fs from "node:fs";
import * as path from "node:path";
import mqtt from "mqtt";
import Database from "better-sqlite3";

const url = process.env.BENCH_URL!;
const gateway = process.env.BENCH_GATEWAY!;
const mode = process.env.BENCH_MODE ?? "count";
const send = (m: object) => process.send!(m);

/** BackendEvent.event_id is field 1 (a string), first on the wire in canonical encoding. */
function eventId(p: Buffer): string {
  if (p[0] !== 0x0a) return "";
  let len = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const b = p[i++];
    len |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return p.toString("latin1", i, i + len);
}

let recv = new Map<string, bigint>();
let pending = 0;
let flushScheduled = false;
const toStore: string[] = [];
let db: Database.Database | null = null;
let insert: Database.Statement | null = null;
if (mode === "store-ack") {
  const dir = process.env.BENCH_DATA!;
  fs.mkdirSync(dir, { recursive: true });
  db = new Database(path.join(dir, "consumer.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE IF NOT EXISTS events(event_id TEXT PRIMARY KEY, payload BLOB)");
  insert = db.prepare("INSERT OR IGNORE INTO events(event_id, payload) VALUES (?, ?)");
}
const storeTx = db?.transaction((rows: Array<[string, Buffer]>) => {
  for (const [id, p] of rows) insert!.run(id, p);
});
const payloads = new Map<string, Buffer>();

const c = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `bench-subscriber-${process.pid}`, clean: true, reconnectPeriod: 200 });
c.on("message", (t, p) => {
  const at = process.hrtime.bigint();
  const id = eventId(p);
  if (!recv.has(id)) {
    recv.set(id, at);
    pending++;
  }
  if (db && t.includes("/event/")) {
    toStore.push(id);
    payloads.set(id, p);
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
});
function flush(): void {
  flushScheduled = false;
  if (toStore.length && storeTx) {
    const ids = toStore.splice(0);
    storeTx(ids.map((id) => [id, payloads.get(id)!] as [string, Buffer]));
    for (const id of ids) payloads.delete(id);
    c.publish(`varde/v1/${gateway}/ack`, Buffer.from(JSON.stringify({ eventIds: ids })), { qos: 1 });
  }
  if (pending) {
    send({ n: pending });
    pending = 0;
  }
}
await c.subscribeAsync([`varde/v1/${gateway}/device/+/event/#`, "bench/baseline"], { qos: 1 });
process.on("message", (m: { cmd: string }) => {
  if (m.cmd === "reset") recv = new Map();
  else if (m.cmd === "report") send({ recv: [...recv].map(([id, t]) => [id, t.toString()]) });
  else if (m.cmd === "stop") void c.endAsync(true).then(() => {
    db?.close();
    process.exit(0);
  });
});
send({ ready: true });
