// The contract suite (backend/contract-suite.ts) on the embedded default, SQLite; and the backend on the
// gateway's embedded broker.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { contractSuite } from "./contract-suite.ts";
import { expect, it } from "vitest";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../gateway/mqtt/embedded.ts";
import { startBackend } from "./index.ts";
import { makeEvent } from "./test-events.ts";
import { encodePayload } from "../gateway/mqtt/payload.ts";
import { topic } from "../gateway/mqtt/topics.ts";
import { until } from "../test/support/wait.ts";

contractSuite("backend contract on SQLite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-be-"));
  return { spec: `sqlite:${dir}/backend.db`, done: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

it("works against the gateway's embedded broker (aedes speaks MQTT 3.1.1 only: the backend falls back to it)", async () => {
  const broker = await startEmbeddedBroker("127.0.0.1", 0);
  const logs: string[] = [];
  const be = await startBackend({ brokerUrl: broker.url, db: "sqlite::memory:", http: { port: 0 }, log: (_l, m) => logs.push(m) });
  try {
    expect(logs).toEqual([`${broker.url} speaks no MQTT 5; using MQTT 3.1.1`]);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const ev = makeEvent({ gateway: "demo-gw", device: 1001, boot: 1, seq: 1, type: "alarm", body: { alarm: {} } });
    await c.publishAsync(topic("event", { gateway: "demo-gw", device: 1001, type: "alarm" }), encodePayload("protobuf", "BackendEvent", ev), { qos: 1 });
    await until(() => be.contract.stats.stored === 1, 10_000, "stored");
    await c.endAsync();
  } finally {
    await be.stop();
    await broker.close();
  }
});
