// The examples work: the consumer stores, dedups and acks (events leave the gateway outbox), and
// auto-acknowledges an alarm so the device gets its AlarmAck; the TLS example config validates
// except for the certificate files that only exist on a real installation.
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, parseConfig, loadConfig } from "../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../gateway/registry.ts";
import { FakeDevice, waitFor } from "../test/support/fake-device.ts";
import { startMosquitto } from "../test/support/mosquitto.ts";
import { formatEvent, runConsumer } from "./backend-consumer.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("examples", () => {
  it("backend-consumer stores once, acks, and acknowledges alarms", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-ex-"));
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "", created: "" });
    const cfg = parseConfig({ gateway_id: "gw1", mqtt: { url: broker.url }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 100 } }, "t.toml", dir);
    expect(cfg.mqtt.backendAck).toBe("application");
    const gw = await startGateway(cfg);
    cleanup.push(() => gw.stop());
    const stored: any[] = [];
    const consumer = await runConsumer({ url: broker.url, gateway: "gw1", clientId: "ex-backend", store: (ev) => void stored.push(ev), autoAckAlarmsAs: "auto" });
    cleanup.push(() => consumer.close());
    const dev = new FakeDevice({ id: 1001, key });
    cleanup.push(() => dev.close());
    gw.addLink(dev.memoryLink());
    await dev.waitFor(() => dev.sessions === 1, 10000, "handshake");
    const seqs = [dev.alarm(), dev.alarm(), dev.reliable({ dose: { kind: 0, slot: 1 } })];
    await dev.waitFor(() => dev.alarmAcks.length === 2, 10000, "2 AlarmAcks");
    await waitFor(() => gw.outbox.depth() === 0, 10000, "outbox emptied by application acks");
    expect(stored.map((e) => e.envelope.seq)).toEqual(seqs);
    expect(dev.alarmAcks.map((a) => a.alarmSeq)).toEqual(seqs.slice(0, 2));
  });

  it("backend-consumer reads the JSON payload format and names what happened (alarm cancelled, fault names)", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-ex-"));
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "Flat 3B", created: "" });
    const cfg = parseConfig({ gateway_id: "gw1", mqtt: { url: broker.url, payload_format: "json" }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 100 } }, "t.toml", dir);
    const gw = await startGateway(cfg);
    cleanup.push(() => gw.stop());
    const lines: string[] = [];
    const consumer = await runConsumer({ url: broker.url, gateway: "gw1", clientId: "ex-json", store: (ev) => void lines.push(formatEvent(ev)) });
    cleanup.push(() => consumer.close());
    const dev = new FakeDevice({ id: 1001, key });
    cleanup.push(() => dev.close());
    gw.addLink(dev.memoryLink());
    await dev.waitFor(() => dev.sessions === 1, 10000, "handshake");
    const seq = dev.alarm();
    dev.reliable({ alarm: { cancel: true, alarmSeq: seq } });
    dev.reliable({ fault: { code: 3 } });
    // JSON acks from the consumer empty the outbox just as protobuf ones do
    await waitFor(() => lines.length === 3 && gw.outbox.depth() === 0, 10000, "three events stored and acked");
    expect(lines[0]).toMatch(/device 1001 \(Flat 3B\): ALARM  VKP alert 4\.13 Knappetrykk, SCAIP 0010 .*event 1001:\d+:\d+$/);
    expect(lines[1]).toMatch(new RegExp(`device 1001 \\(Flat 3B\\): alarm ${seq} cancelled by the wearer`));
    expect(lines[2]).toMatch(/: fault: forced opening/);
    expect(lines[2]).not.toMatch(/VKP/); // the 1.x alerts are the dispenser's; this is an alarm button
  });

  it("gateway-tls.toml is valid apart from the installation's certificate files", () => {
    expect(() => loadConfig(path.join(here, "gateway-tls.toml"))).toThrow(/key "mqtt\.(ca|cert)" = "\/etc\/varde\/tls\/[^"]+": file .* does not exist; fix the path/);
  });
});
