import { expect, it } from "vitest";
import * as path from "node:path";
import { loadBackendConfig, parseBackendConfig } from "./config.ts";

it("the example config loads, with paths relative to its file", () => {
  const c = loadBackendConfig(path.join(import.meta.dirname, "backend.example.toml"));
  expect(c.brokerUrl).toBe("mqtt://127.0.0.1:1883");
  expect(c.patients).toBe(path.join(import.meta.dirname, "patients.example.toml"));
  expect(c.db).toBe("sqlite:" + path.resolve(import.meta.dirname, "../varde-data/backend.db"));
  expect(c.settings?.escalationAfterS).toBe(120);
});

it("errors name the file, the key and the fix", () => {
  const p = (doc: any) => () => parseBackendConfig(doc, "b.toml", "/x");
  expect(p({})).toThrow(/b.toml: \[mqtt\] url is required/);
  expect(p({ mqtt: { url: "http://x" } })).toThrow(/key "mqtt.url" = "http:\/\/x": must start with mqtt:\/\//);
  expect(p({ mqtt: { url: "mqtt://x", shared: "g" } })).toThrow(/unknown key "mqtt.shared"; known: url, share_group/);
  expect(p({ mqtt: { url: "mqtt://x" }, db: { url: "mysql://x" } })).toThrow(/key "db.url".*postgres:\/\//);
  expect(p({ mqtt: { url: "mqtt://x" }, settings: { minutes_per_visit: 0 } })).toThrow(/settings.minutes_per_visit.*minutes_per_visit must be a number from 1 to 240/);
});

it("a share group needs MQTT 5", async () => {
  const { startBackend } = await import("./index.ts");
  await expect(startBackend({ brokerUrl: "mqtt://127.0.0.1:1", db: "sqlite::memory:", http: { port: 0 }, mqtt: { shareGroup: "g", protocolVersion: 4 }, log: () => undefined })).rejects.toThrow(/share_group "g" needs protocol_version = 5/);
});
