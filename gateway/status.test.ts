// Operation: metrics endpoint, `varde status` data (running and from disk), JSON payloads, logs without secrets.
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import mqtt from "mqtt";
import { startGateway, parseConfig, topic } from "./index.ts";
import { appendDevice, newDeviceKey } from "./registry.ts";
import { fetchStatus, formatStatus, offlineStatus } from "./status.ts";
import { FakeDevice, waitFor } from "../test/support/fake-device.ts";
import { freePort } from "../test/support/mosquitto.ts";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("operation", () => {
  it("serves Prometheus metrics and /status; varde status reads the outbox when the gateway is down", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-st-"));
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "Flat 3B", created: "" });
    const port = await freePort();
    let logText = "";
    const logStream = new Writable({ write(c, _e, cb) { logText += c; cb(); } });
    const cfg = parseConfig({ gateway_id: "gw1", mqtt: { embedded_port: 0, payload_format: "json", password: "hunter2-secret", username: "gw" }, metrics: { port }, log: { level: "debug" }, session: { hello_retry_ms: 100 } }, "t.toml", dir);
    // the embedded broker ignores credentials; they must still never appear in the log
    const gw = await startGateway(cfg, { logStream: logStream as any });
    let stopped = false;
    cleanup.push(() => (stopped ? undefined : gw.stop()));
    const sub = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4 });
    cleanup.push(() => sub.endAsync(true));
    const msgs: Array<{ topic: string; payload: string }> = [];
    sub.on("message", (t, p) => msgs.push({ topic: t, payload: p.toString() }));
    await sub.subscribeAsync("varde/v1/gw1/device/#", { qos: 1 });
    const dev = new FakeDevice({ id: 1001, key });
    cleanup.push(() => dev.close());
    gw.addLink(dev.memoryLink());
    await dev.waitFor(() => dev.sessions === 1, 10000, "handshake");
    dev.reliable({ fault: { code: 3 } });
    const evTopic = topic("event", { gateway: "gw1", device: 1001, type: "fault" });
    await waitFor(() => msgs.some((m) => m.topic === evTopic), 10000, "fault event");
    // opt-in JSON rendering
    const ev = JSON.parse(msgs.find((m) => m.topic === evTopic)!.payload);
    expect(ev).toMatchObject({ type: "fault", device: 1001, kind: "DEVICE_KIND_ALARM", envelope: { fault: { code: "FAULT_FORCED_OPENING" } } });
    expect(ev.codes.map((c: any) => c.code)).toEqual(["0125"]); // an alarm button: VKP 1.22 is the dispenser's
    // Prometheus
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^varde_events_in_total\{type="fault"\} 1$/m);
    expect(text).toMatch(/^varde_devices_online 1$/m);
    expect(text).toMatch(/^varde_mqtt_connected 1$/m);
    expect(text).toMatch(/^# TYPE varde_outbox_depth gauge$/m);
    await waitFor(() => gw.metrics.count("varde_event_delivery_seconds") === 1, 10000, "delivery observed");
    const text2 = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text2).toMatch(/^varde_event_delivery_seconds_bucket\{type="fault",le="\+Inf"\} 1$/m);
    expect(text2).toMatch(/^varde_event_delivery_seconds_count\{type="fault"\} 1$/m);
    // varde status (running)
    const st = await fetchStatus(cfg);
    expect(st).toMatchObject({ running: true, gateway: "gw1", mqttConnected: true, devices: [{ id: 1001, online: true, label: "Flat 3B" }] });
    expect(formatStatus(st!)).toContain("RUNNING");
    gw.core.queueDownlink(1001, { command: { kind: 1 } });
    await dev.close(); // device gone: the next downlink stays queued
    gw.core.queueDownlink(1001, { command: { kind: 2 } });
    await gw.stop();
    stopped = true;
    expect(await fetchStatus(cfg)).toBeNull();
    const off = offlineStatus(cfg);
    expect(off).toMatchObject({ running: false, devices: [{ id: 1001, online: true }] });
    expect(off.outbox.downlink).toBeGreaterThanOrEqual(1);
    expect(formatStatus(off)).toContain("NOT RUNNING");
    // logs: structured, and no secrets (device key, MQTT password)
    expect(logText).toContain('"msg":"gateway started"');
    expect(logText).not.toContain(key);
    expect(logText).not.toContain("hunter2-secret");
  });
});
