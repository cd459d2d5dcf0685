import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

// In a fresh process each: the module cache is what is being changed.
const HERE = path.dirname(new URL(import.meta.url).pathname);
const script = `
  import { createRequire } from "node:module";
  import { silenceMqttDebug } from ${JSON.stringify(path.join(HERE, "quiet-debug.ts"))};
  const replaced = silenceMqttDebug();
  const require = createRequire(${JSON.stringify(path.join(HERE, "connection.ts"))});
  const mqttPacket = require("mqtt-packet");
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const got = [];
  parser.on("packet", (p) => got.push(p.cmd + ":" + p.messageId));
  parser.parse(Buffer.from([0x40, 0x02, 0x12, 0x34])); // PUBACK 0x1234
  const debugOf = createRequire(require.resolve("mqtt-packet"))("debug");
  console.log(JSON.stringify({ replaced: replaced.length, got, enabled: debugOf("mqtt-packet:parser").enabled }));
`;
function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, DEBUG: "", ...env } });
  expect(r.status, r.stderr).toBe(0);
  return { out: JSON.parse(r.stdout.trim().split("\n").pop()!), stderr: r.stderr };
}

describe("silenceMqttDebug", () => {
  it("replaces debug for MQTT.js and mqtt-packet: packets still parse, nothing logs", () => {
    const { out, stderr } = run({});
    expect(out).toEqual({ replaced: 1, got: ["puback:4660"], enabled: false }); // both packages resolve the same file
    expect(stderr).not.toMatch(/mqtt-packet/);
  });

  it("leaves debug alone when DEBUG is set: the packages log as documented", () => {
    const { out, stderr } = run({ DEBUG: "mqtt-packet:*" });
    expect(out).toEqual({ replaced: 0, got: ["puback:4660"], enabled: true });
    expect(stderr).toMatch(/mqtt-packet:parser/);
  });
});
