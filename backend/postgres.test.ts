// The backend on a real PostgreSQL (a throwaway cluster, test/support/postgres.ts):
//  * the same contract suite as on SQLite (store once, then ack; JSON and protobuf; garbage; a flood);
//  * two backend instances (own processes, `varde backend`) sharing the load through an MQTT 5 shared
//    subscription on one Mosquitto, one PostgreSQL as the store, behind the REAL gateway (application
//    acks, ack_timeout_s = 2) with simulated devices sending alarms; one instance is SIGKILLed mid-stream:
//    every event still ends up stored exactly once and the gateway's outbox drains to 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pg from "pg";
import { Postgres } from "../test/support/postgres.ts";
import { Mosquitto } from "../test/support/mosquitto.ts";
import { FakeDevice, waitFor } from "../test/support/fake-device.ts";
import { until } from "../test/support/wait.ts";
import { startGateway, parseConfig } from "../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../gateway/registry.ts";
import { contractSuite } from "./contract-suite.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
let server: Postgres;
let dbn = 0;

beforeAll(async () => {
  server = await Postgres.start();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A fresh database in the shared test cluster. */
async function freshDb(): Promise<string> {
  const name = `varde_t${process.pid}_${++dbn}`;
  const c = new pg.Client(server.url);
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return server.url.replace(/\/postgres$/, `/${name}`);
}

contractSuite("backend contract on PostgreSQL", async () => ({ spec: await freshDb(), done: async () => undefined }));

describe("two instances share the load (MQTT 5 shared subscription, one PostgreSQL); one is SIGKILLed", () => {
  it("every event is stored exactly once and acked; both instances stored some", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-share-"));
    const broker = await Mosquitto.start({ persistence: false });
    const dbUrl = await freshDb();
    const procs: ChildProcess[] = [];
    const out: string[] = ["", ""];
    const cleanup: Array<() => Promise<void> | void> = [];
    try {
      const start = (i: number) => {
        const cfg = path.join(dir, `be${i}.toml`);
        fs.writeFileSync(cfg, [`instance = "inst-${i}"`, `[db]`, `url = "${dbUrl}"`, `[mqtt]`, `url = "${broker.url}"`, `share_group = "varde-test"`, `[http]`, `port = 0`].join("\n") + "\n");
        const p = spawn(process.execPath, [path.join(ROOT, "bin/varde.js"), "backend", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
        p.stdout!.on("data", (b) => (out[i] += b));
        p.stderr!.on("data", (b) => (out[i] += b));
        procs[i] = p;
      };
      start(0);
      start(1);
      await until(() => out.every((o) => /running: console/.test(o)), 30_000, `both instances up\n${out.join("\n")}`);

      const N = 12;
      const keys = Array.from({ length: N }, () => newDeviceKey());
      keys.forEach((key, i) => appendDevice(path.join(dir, "registry.toml"), { id: 7000 + i, kind: "alarm", board: "alarm-esp32", key, label: `d${i}`, created: "" }));
      const cfg = parseConfig({ gateway_id: "share-gw", mqtt: { url: broker.url, reconnect_ms: 100, ack_timeout_s: 2, inflight: 64, backend_ack: "application" }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 200 } }, "t.toml", dir);
      const gw = await startGateway(cfg);
      cleanup.push(() => gw.stop());
      const devs = keys.map((key, i) => new FakeDevice({ id: 7000 + i, key, retryMs: 300 }));
      for (const d of devs) {
        cleanup.push(() => d.close());
        gw.addLink(d.memoryLink());
      }
      await waitFor(() => devs.every((d) => d.sessions >= 1), 15_000, "handshakes");

      const c = new pg.Client(dbUrl);
      await c.connect();
      cleanup.push(() => c.end());
      const storedBy0 = async () => Number((await c.query(`SELECT COUNT(*) AS n FROM events WHERE instance = 'inst-0'`)).rows[0].n);
      const sent: string[] = [];
      const ROUNDS = 25;
      let killedAt = -1;
      for (let k = 0; k < ROUNDS; k++) {
        for (const d of devs) sent.push(`${d.id}:${d.boot}:${d.alarm()}`);
        // mid-stream, once inst-0 has a share: it dies holding events it received and never stored or acked
        if (killedAt < 0 && k >= 8 && (await storedBy0()) >= 20) {
          procs[0].kill("SIGKILL");
          killedAt = k;
        }
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(killedAt).toBeGreaterThan(0);
      await waitFor(() => devs.every((d) => d.outbox.length === 0), 30_000, "every device outbox acked by the gateway");
      await until(() => gw.outbox.depth() === 0, 60_000, `gateway outbox drained (application acks from the surviving instance)\n${out[1]}`);

      const rows = (await c.query(`SELECT event_id, instance FROM events WHERE gateway = 'share-gw' AND type = 'alarm'`)).rows;
      const ids = rows.map((r) => r.event_id).sort();
      expect(ids).toEqual([...sent].sort()); // all there, none twice (event_id is the primary key)
      const byInstance = new Map<string, number>();
      for (const r of rows) byInstance.set(r.instance, (byInstance.get(r.instance) ?? 0) + 1);
      expect(byInstance.get("inst-0") ?? 0).toBeGreaterThan(0); // it shared the load before it died
      expect(byInstance.get("inst-1") ?? 0).toBeGreaterThan(0);
      const alarms = Number((await c.query(`SELECT COUNT(*) AS n FROM alarms WHERE gateway = 'share-gw'`)).rows[0].n);
      expect(alarms).toBe(sent.length);
      console.log(`shared load: ${sent.length} alarms; stored by ${JSON.stringify(Object.fromEntries(byInstance))}; inst-0 SIGKILLed in round ${killedAt} of ${ROUNDS}`);
    } finally {
      for (const p of procs) if (p && p.exitCode === null) p.kill("SIGKILL");
      while (cleanup.length) await cleanup.pop()!();
      await broker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
