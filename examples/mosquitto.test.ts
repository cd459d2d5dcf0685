// The example broker configuration works as documented: Mosquitto started from
// examples/mosquitto/mosquitto.conf and examples/mosquitto/acl (only paths and ports changed) carries a
// real gateway configured like examples/gateway-mosquitto.toml to the example backend consumer and back
// (events, application acks, an alarm acknowledgement); a gateway cannot read or write another
// gateway's topics; the TLS listener wants a client certificate. The example registry loads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import TOML from "@iarna/toml";
import mqtt from "mqtt";
import { parseConfig, startGateway, topic } from "../gateway/index.ts";
import { appendDevice, loadRegistry, newDeviceKey } from "../gateway/registry.ts";
import { FakeDevice, waitFor } from "../test/support/fake-device.ts";
import { MOSQUITTO_BIN, freePort, makeTestPki } from "../test/support/mosquitto.ts";
import { runConsumer } from "./backend-consumer.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const PASSWORD = "example-test-password";
let dir: string;
let plainPort: number;
let tlsPort: number;
let proc: ChildProcess;
let pki: ReturnType<typeof makeTestPki>;
const cleanup: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-mosq-example-"));
  pki = makeTestPki();
  plainPort = await freePort();
  tlsPort = await freePort();
  fs.copyFileSync(pki.ca, path.join(dir, "ca.pem"));
  fs.copyFileSync(pki.serverCert, path.join(dir, "server.pem"));
  fs.copyFileSync(pki.serverKey, path.join(dir, "server.key"));
  fs.copyFileSync(path.join(here, "mosquitto", "acl"), path.join(dir, "acl"));
  for (const [i, user] of ["home-gw-1", "home-gw-2", "varde-backend"].entries())
    execFileSync("mosquitto_passwd", [...(i === 0 ? ["-c"] : []), "-b", path.join(dir, "passwd"), user, PASSWORD], { stdio: "pipe" });
  const conf = fs
    .readFileSync(path.join(here, "mosquitto", "mosquitto.conf"), "utf8")
    .replaceAll("/etc/mosquitto/varde/", dir + "/")
    .replace("persistence_location /var/lib/mosquitto/", `persistence_location ${dir}/`)
    .replace("listener 1883 127.0.0.1", `listener ${plainPort} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${tlsPort} 127.0.0.1`);
  // started as root, mosquitto would drop to user "mosquitto", which cannot read this temp dir
  fs.writeFileSync(path.join(dir, "mosquitto.conf"), conf + (process.getuid?.() === 0 ? "user root\n" : ""));
  let log = "";
  proc = spawn(MOSQUITTO_BIN, ["-c", path.join(dir, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  proc.stderr!.on("data", (b) => (log += b));
  const probe = async () => {
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { username: "varde-backend", password: PASSWORD, reconnectPeriod: 0, connectTimeout: 500 });
      await c.endAsync();
      return true;
    } catch {
      return false;
    }
  };
  const end = Date.now() + 10_000;
  while (!(await probe())) {
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`mosquitto from the example config did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  while (cleanup.length) await cleanup.pop()!();
  proc?.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("examples/mosquitto", () => {
  it("carries a gateway to the backend and back; another gateway sees and forges nothing", async () => {
    const url = `mqtt://127.0.0.1:${plainPort}`;
    // a second home's gateway, trying to listen to the first one's topics
    const intruder = await mqtt.connectAsync(url, { username: "home-gw-2", password: PASSWORD, clientId: "home-gw-2" });
    cleanup.push(() => intruder.endAsync());
    const overheard: string[] = [];
    intruder.on("message", (t) => overheard.push(t));
    await intruder.subscribeAsync(["varde/v1/home-gw-1/#", "varde/v1/home-gw-2/command/+"], { qos: 1 });

    // the gateway as examples/gateway-mosquitto.toml configures it (the device link is a test link)
    const doc = TOML.parse(fs.readFileSync(path.join(here, "gateway-mosquitto.toml"), "utf8")) as any;
    const gwDir = path.join(dir, "gw");
    fs.mkdirSync(gwDir);
    const key = newDeviceKey();
    appendDevice(path.join(gwDir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "", created: "" });
    const cfg = parseConfig({ ...doc, transport: [], mqtt: { ...doc.mqtt, url, password: PASSWORD }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 100 } }, "gateway-mosquitto.toml", gwDir);
    expect(cfg.mqtt.username).toBe(cfg.gatewayId); // the ACL keys on it
    const gw = await startGateway(cfg);
    cleanup.push(() => gw.stop());
    const stored: any[] = [];
    const backend = await runConsumer({ url, gateway: cfg.gatewayId, clientId: "example-backend", username: "varde-backend", password: PASSWORD, store: (ev) => void stored.push(ev), autoAckAlarmsAs: "nurse" });
    cleanup.push(() => backend.close());
    const dev = new FakeDevice({ id: 1001, key });
    cleanup.push(() => dev.close());
    gw.addLink(dev.memoryLink());
    await dev.waitFor(() => dev.sessions === 1, 10_000, "handshake");
    dev.alarm();
    // the backend read the event; the gateway read the backend's ack (outbox empty) and its ack-alarm command
    await dev.waitFor(() => dev.alarmAcks.length === 1, 10_000, "the AlarmAck through the broker");
    await waitFor(() => gw.outbox.depth() === 0, 10_000, "the application ack through the broker");
    expect(stored.map((e) => e.type)).toEqual(["alarm"]);

    // the intruder forges an event for home-gw-1, then publishes one of its own (allowed)
    const own: string[] = [];
    const watcher = await mqtt.connectAsync(url, { username: "varde-backend", password: PASSWORD, clientId: "example-watcher" });
    cleanup.push(() => watcher.endAsync());
    watcher.on("message", (t, p) => own.push(`${t} ${p}`));
    await watcher.subscribeAsync("varde/v1/+/device/+/event/+", { qos: 1 });
    await intruder.publishAsync("varde/v1/home-gw-1/device/1001/event/alarm", Buffer.from("forged"), { qos: 1 });
    await intruder.publishAsync("varde/v1/home-gw-2/device/7/event/alarm", Buffer.from("own"), { qos: 1 });
    await waitFor(() => own.length > 0, 10_000, "the intruder's own event at the backend");
    expect(own).toEqual(["varde/v1/home-gw-2/device/7/event/alarm own"]); // the forged one before it was dropped

    // the backend's command to home-gw-2 reaches it: everything home-gw-1 published before was delivered
    // to it by now, had the ACL let it through
    await watcher.publishAsync("varde/v1/home-gw-2/command/status", Buffer.from("{}"), { qos: 1 });
    await waitFor(() => overheard.length > 0, 10_000, "home-gw-2's own command");
    expect(overheard).toEqual(["varde/v1/home-gw-2/command/status"]);
  });

  it("the TLS listener wants a client certificate", async () => {
    const tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
    const base = { username: "varde-backend", password: PASSWORD, ca: fs.readFileSync(pki.ca), reconnectPeriod: 0, connectTimeout: 3000 };
    const ok = await mqtt.connectAsync(tlsUrl, { ...base, cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey) });
    await ok.endAsync();
    await expect(mqtt.connectAsync(tlsUrl, base)).rejects.toThrow();
  });

  it("the example registry loads, and its entries are what provision writes", () => {
    const file = path.join(here, "registry.toml");
    expect(loadRegistry(file).devices).toEqual([]); // every entry is a comment: no example key in use
    const uncommented = fs.readFileSync(file, "utf8").split("\n").filter((l) => /^# (\[\[device\]\]|[a-z]+ = )/.test(l)).map((l) => l.slice(2).replace(/"<64 hex characters>"/, `"${"ab".repeat(32)}"`)).join("\n");
    const tmp = path.join(dir, "registry-uncommented.toml");
    fs.writeFileSync(tmp, uncommented);
    expect(loadRegistry(tmp).devices.map((d) => [d.id, d.kind, d.board])).toEqual([[1001, "alarm", "alarm-esp32"], [1002, "dispenser", "dispenser-esp32"]]);
  });
});
