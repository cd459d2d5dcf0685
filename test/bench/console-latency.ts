// `make console-latency`: how long after a press an alarm is visible in the console, p50/p99, with one
// backend instance (SQLite, and PostgreSQL) and with two instances sharing the load (MQTT 5 shared
// subscription, one PostgreSQL; the browser on instance B, so half the alarms are stored by A and reach
// B's browser through LISTEN/NOTIFY). Measured, never asserted (no speed bounds in tests).
// "Press" = a device sends its Alarm frame (FakeDevice: the real link protocol, without the firmware's
// own debounce); "visible" = the alarm's card is in the page (a MutationObserver in Chromium), both on
// this machine's clock. Path: device → gateway (verify, dedup, SQLite outbox, fsync) → Mosquitto →
// backend (store, commit, ack) → SSE → page fetches /api/alarms → card drawn.
//   CONSOLE_LATENCY_DEVICES=20 CONSOLE_LATENCY_ROUNDS=5
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pg from "pg";
import { Mosquitto } from "../support/mosquitto.ts";
import { Postgres } from "../support/postgres.ts";
import { FakeDevice, waitFor } from "../support/fake-device.ts";
import { launchChromium } from "../support/console-rig.ts";
import { startGateway, parseConfig } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { startBackend, type BackendHandle } from "../../backend/index.ts";

const DEVICES = Number(process.env.CONSOLE_LATENCY_DEVICES ?? 20);
const ROUNDS = Number(process.env.CONSOLE_LATENCY_ROUNDS ?? 5);
const PW = "correct horse battery";

const q = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];

async function measure(label: string, backends: (brokerUrl: string) => Promise<BackendHandle[]>): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-lat-"));
  const broker = await Mosquitto.start({ persistence: false });
  const bes = await backends(broker.url);
  const keys = Array.from({ length: DEVICES }, () => newDeviceKey());
  keys.forEach((key, i) => appendDevice(path.join(dir, "registry.toml"), { id: 9000 + i, kind: "alarm", board: "alarm-esp32", key, label: `b${i}`, created: "" }));
  const gw = await startGateway(parseConfig({ gateway_id: "lat-gw", mqtt: { url: broker.url, backend_ack: "application", ack_timeout_s: 5 }, metrics: { port: -1 }, log: { level: "silent" } }, "t.toml", dir));
  const devs = keys.map((key, i) => new FakeDevice({ id: 9000 + i, key, retryMs: 500 }));
  for (const d of devs) gw.addLink(d.memoryLink());
  await waitFor(() => devs.every((d) => d.sessions >= 1), 20_000, "handshakes");
  const viewer = bes[bes.length - 1];
  const ctx = await launchChromium(path.join(dir, "profile"));
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(viewer.url + "login.html");
  await page.fill("#username", "rc");
  await page.fill("#password", PW);
  await Promise.all([page.waitForURL(/alarms/), page.click("#go")]);
  await page.waitForSelector("#live.on");
  await page.evaluate(() => {
    const w = window as any;
    w.__seen = {};
    new MutationObserver(() => {
      for (const e of document.querySelectorAll("[data-alarm-id]")) {
        const id = (e as HTMLElement).dataset.alarmId!;
        if (!(id in w.__seen)) w.__seen[id] = Date.now();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pressed = new Map<number, number>();
    for (const d of devs) {
      pressed.set(d.id, Date.now());
      d.alarm();
      await new Promise((res) => setTimeout(res, 40)); // presses spread out, as in life
    }
    const deadline = Date.now() + 30_000;
    let rows: any[] = [];
    for (;;) {
      rows = await viewer.db.all(`SELECT id, device FROM alarms WHERE state = 'open'`);
      const seen = await page.evaluate(() => (window as any).__seen);
      if (rows.length >= DEVICES && rows.every((a) => a.id in seen)) {
        for (const a of rows) samples.push(seen[a.id] - pressed.get(Number(a.device))!);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${label}: round ${r}: only ${Object.keys(seen).length} of ${rows.length} alarms seen`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await viewer.db.run(`UPDATE alarms SET state = 'closed', note = 'bench', closed_by = 'bench', closed_at = ? WHERE state = 'open'`, [Date.now()]);
    viewer.changes.emit({ kind: "alarms" });
    await new Promise((res) => setTimeout(res, 500));
  }
  const stored = bes.length > 1 ? ` (stored by ${(await Promise.all(bes.map(async (b) => `${b.instance}: ${(await b.db.get(`SELECT COUNT(*) AS n FROM events WHERE type = 'alarm' AND instance = ?`, [b.instance]))!.n}`))).join(", ")})` : "";
  await ctx.close();
  for (const d of devs) await d.close();
  await gw.stop();
  for (const b of bes) await b.stop();
  await broker.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return `${label.padEnd(50)} n=${samples.length}  p50 ${q(samples, 0.5)} ms  p99 ${q(samples, 0.99)} ms  max ${Math.max(...samples)} ms${stored}`;
}

const users = [{ username: "rc", name: "RC", role: "operator" as const, password: PW }];
const silent = () => undefined;
const lines: string[] = [];
const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-lat-db-"));
lines.push(await measure("one instance, SQLite", async (url) => [await startBackend({ brokerUrl: url, db: `sqlite:${sqliteDir}/b.db`, http: { port: 0 }, users, instance: "solo", log: silent })]));
fs.rmSync(sqliteDir, { recursive: true, force: true });
const pgServer = await Postgres.start();
let n = 0;
const freshDb = async () => {
  const c = new pg.Client(pgServer.url);
  await c.connect();
  await c.query(`CREATE DATABASE lat${++n}`);
  await c.end();
  return pgServer.url.replace(/\/postgres$/, `/lat${n}`);
};
try {
  const db1 = await freshDb();
  lines.push(await measure("one instance, PostgreSQL", async (url) => [await startBackend({ brokerUrl: url, db: db1, http: { port: 0 }, users, instance: "solo", log: silent })]));
  const db2 = await freshDb();
  lines.push(await measure("two instances ($share), PostgreSQL, browser on B", async (url) => {
    const a = await startBackend({ brokerUrl: url, db: db2, http: { port: 0 }, users, instance: "A", mqtt: { shareGroup: "lat" }, log: silent });
    const b = await startBackend({ brokerUrl: url, db: db2, http: { port: 0 }, instance: "B", mqtt: { shareGroup: "lat" }, log: silent });
    return [a, b];
  }));
} finally {
  await pgServer.stop();
}
console.log(`alarm visible in the console after the press (${DEVICES} buttons × ${ROUNDS} rounds, ${os.cpus().length} cores):\n` + lines.join("\n"));
