// End to end, all real processes and ports: Mosquitto on loopback, the gateway as its own process
// (`varde gateway`), and the simulated alarm button running the real firmware bundle on one end of a
// socat pseudo-terminal pair whose other end the gateway opens with serialport.
// Asserts the exact MQTT message (topic, QoS 1, not retained, payload decoded with the schema, national
// codes), the responder's acknowledgement back to the button's LED, and a clean SIGTERM exit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto } from "../support/mosquitto.ts";
import { buildFirmware } from "../../firmware/build/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { RealtimeClock, SimDevice, openPtyPair, type PtyPair } from "../../simulator/index.ts";
import { alarmLedState } from "../../cli/demo/alarm-indicator.ts";
import { until } from "../support/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const GW = "e2e-gw";
const ID = 4242;


describe("alarm over a real serial pty to a real Mosquitto through the gateway process", () => {
  let broker: Mosquitto;
  let pty: PtyPair;
  let gwProc: ChildProcess;
  let gwOut = "";
  let backend: MqttClient;
  let dev: SimDevice;
  let clock: RealtimeClock;
  const got: Array<{ topic: string; qos: number; retain: boolean; payload: Buffer }> = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-e2e-"));

  beforeAll(async () => {
    broker = await Mosquitto.start();
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "alarm", board: "alarm-esp32", key, label: "e2e button", created: new Date().toISOString() });
    pty = await openPtyPair(dir);
    fs.writeFileSync(
      path.join(dir, "gateway.toml"),
      [`gateway_id = "${GW}"`, `registry = "registry.toml"`, `data_dir = "data"`, `[[transport]]`, `type = "serial"`, `path = "${pty.hostPath}"`,
        `[mqtt]`, `url = "${broker.url}"`, `[metrics]`, `port = -1`].join("\n") + "\n",
    );
    // the backend: subscribes before anything happens, and acknowledges events at application level
    backend = await mqtt.connectAsync(broker.url, { clientId: "e2e-backend" });
    await backend.subscribeAsync([filter("event", GW), filter("response", GW), filter("availability", GW)], { qos: 1 });
    backend.on("message", (t, payload, packet) => {
      got.push({ topic: t, qos: packet.qos, retain: packet.retain, payload });
      if (t.includes("/event/")) {
        const ev = decodeMessage("BackendEvent", payload);
        backend.publish(topic("ack", { gateway: GW }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
      }
    });

    gwProc = spawn(process.execPath, [path.join(ROOT, "bin/varde.js"), "gateway", "--config", path.join(dir, "gateway.toml")], { stdio: ["ignore", "pipe", "pipe"] });
    gwProc.stdout!.on("data", (b) => (gwOut += b));
    gwProc.stderr!.on("data", (b) => (gwOut += b));

    const fw = await buildFirmware("alarm-esp32", { noWrite: true });
    clock = new RealtimeClock();
    dev = new SimDevice({ board: "alarm-esp32", clock, link: pty.device, rtc: "keep" });
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key, kind: "alarm" })));
    dev.install(fw.code);
    dev.powerOn();
  }, 60_000);

  afterAll(async () => {
    dev?.powerOff();
    clock?.stop();
    if (gwProc && gwProc.exitCode === null) gwProc.kill("SIGKILL");
    await backend?.endAsync();
    await pty?.close();
    await broker?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("press → alarm event at the broker → responder ack → LED 'acknowledged'", async () => {
    const availability = () => got.filter((m) => m.topic === topic("availability", { gateway: GW, device: ID }));
    await until(() => availability().some((m) => decodeMessage("DeviceAvailability", m.payload).online), 30_000, "device online (handshake through the gateway process)\n" + gwOut);
    expect(availability().every((m) => m.retain || m.qos === 1)).toBe(true);

    dev.button().press(300);
    const alarmTopic = topic("event", { gateway: GW, device: ID, type: "alarm" });
    await until(() => got.some((m) => m.topic === alarmTopic), 20_000, "the alarm event at the broker\n" + gwOut);
    const msgs = got.filter((m) => m.topic === alarmTopic);
    expect(msgs).toHaveLength(1);
    const [m] = msgs;
    expect(m.qos).toBe(1);
    expect(m.retain).toBe(false);
    const ev = decodeMessage("BackendEvent", m.payload);
    expect(ev.type).toBe("alarm");
    expect(ev.device).toBe(ID);
    expect(ev.gateway).toBe(GW);
    expect(ev.test).toBe(false);
    expect(ev.envelope.alarm).toBeDefined();
    expect(ev.envelope.alarm.cancel).toBe(false);
    expect(ev.eventId).toBe(`${ID}:${ev.envelope.boot}:${ev.envelope.seq}`);
    expect(Math.abs(ev.time - Date.now() / 1000)).toBeLessThan(30);
    expect(ev.codes).toEqual(expect.arrayContaining([expect.objectContaining({ system: "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090", code: "4.13", display: "Knappetrykk" }), expect.objectContaining({ system: "SCAIP", code: "0010" })]));

    // the gateway stored it and acked the device: the button shows "received" before any responder
    await until(() => alarmLedState(dev) === "received", 10_000, "LED 'received'");

    const correlationId = "e2e-ack-1";
    await backend.publishAsync(topic("command", { gateway: GW, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId, device: ID, alarmSeq: ev.envelope.seq, responder: "e2e" })), { qos: 1 });
    await until(() => alarmLedState(dev) === "acknowledged", 20_000, "LED 'acknowledged'\n" + gwOut);
    // the device acts on the ack as it arrives; the gateway's response may reach the backend a moment later
    const responses = () => got.filter((r) => r.topic === topic("response", { gateway: GW, command: "ack-alarm" })).map((r) => decodeMessage("CommandResponse", r.payload));
    await until(() => responses().some((r) => r.correlationId === correlationId && r.ok), 10_000, "the ok response to ack-alarm");
    expect(dev.errors).toEqual([]);
  }, 90_000);

  it("stops gracefully on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => gwProc.once("exit", (code) => r(code)));
    gwProc.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 20_000);
});
