// Chaos with the REAL alarm firmware: the simulated button runs the built bundle on a socat pty, the
// gateway runs as its own process on the other end, Mosquitto is real. The response centre sends
// test-alarm commands (COMMAND_TEST_ALARM) and the gateway is SIGKILLed right after two of them were
// published — they may be at the broker, in the gateway's downlink queue, on the wire, or already
// turned into alarms in the device's flash outbox. After a restart: every command ran exactly once
// and every alarm reached the backend exactly once after dedup by event id.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { startMosquitto } from "../support/mosquitto.ts";
import { waitFor } from "../support/fake-device.ts";
import { buildFirmware } from "../../firmware/build/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { RealtimeClock, SimDevice, openPtyPair } from "../../simulator/index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const GW = "fw-chaos";
const ID = 7001;
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function spawnGateway(config: string) {
  let out = "";
  const proc: ChildProcess = spawn(process.execPath, [path.join(ROOT, "bin", "varde.js"), "gateway", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (b) => (out += b));
  proc.stderr!.on("data", (b) => (out += b));
  const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
  cleanup.push(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    return exited;
  });
  return { proc, exited, out: () => out };
}

describe("chaos with the real alarm firmware", () => {
  it("gateway SIGKILLed while test-alarm commands are in flight: each runs once, each alarm arrives once", async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fwchaos-"));
    const key = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "alarm", board: "alarm-esp32", key, label: "fw chaos", created: "" });
    const pty = await openPtyPair(dir);
    cleanup.push(() => pty.close());
    const config = path.join(dir, "gateway.toml");
    fs.writeFileSync(config, `gateway_id = "${GW}"\n[[transport]]\ntype = "serial"\npath = "${pty.hostPath}"\n[mqtt]\nurl = "${broker.url}"\nreconnect_ms = 100\n[session]\nhello_retry_ms = 200\nreconnect_ms = 100\ndownlink_retry_ms = 500\n[metrics]\nport = -1\n[log]\nlevel = "warn"\n`);

    const alarms = new Map<string, any>();
    let alarmPublishes = 0;
    const be = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "fw-chaos-backend", clean: false, properties: { sessionExpiryInterval: 3600 } });
    cleanup.push(() => be.endAsync(true));
    be.on("message", (t, p) => {
      if (!t.includes("/event/")) return;
      const ev = decodeMessage("BackendEvent", new Uint8Array(p));
      if (ev.type === "alarm") {
        alarmPublishes++;
        alarms.set(ev.eventId, ev);
      }
      be.publish(topic("ack", { gateway: GW }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    await be.subscribeAsync([filter("event", GW)], { qos: 1 });
    const testAlarm = (n: number) =>
      be.publishAsync(topic("command", { gateway: GW, command: "device-command" }), Buffer.from(encodeMessage("CommandRequest", { correlationId: `t${n}`, device: ID, command: { kind: 2 } })), { qos: 1 });

    let gw = spawnGateway(config);
    const fw = await buildFirmware("alarm-esp32", { noWrite: true });
    const clock = new RealtimeClock();
    const dev = new SimDevice({ board: "alarm-esp32", clock, link: pty.device, rtc: "keep" });
    cleanup.push(() => {
      dev.powerOff();
      clock.stop();
    });
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key, kind: "alarm" })));
    dev.install(fw.code);
    dev.powerOn();

    dev.button().press(300);
    await waitFor(() => alarms.size === 1, 30000, "the pressed alarm at the backend\n" + gw.out());
    await testAlarm(1);
    await testAlarm(2);
    await waitFor(() => alarms.size === 3, 20000, "two test alarms\n" + gw.out());
    await testAlarm(3);
    await testAlarm(4);
    gw.proc.kill("SIGKILL");
    await gw.exited;
    gw = spawnGateway(config);
    await waitFor(() => alarms.size >= 5, 30000, "all five alarms after the restart").catch((e: Error) => {
      throw new Error(`${e.message} (${alarms.size} arrived)\n--- gateway after the restart:\n${gw.out()}\n--- device console:\n${dev.output}`);
    });
    await new Promise((r) => setTimeout(r, 1500)); // a command run twice would show up here
    const evs = [...alarms.values()];
    console.log(`firmware chaos: 5 alarms (1 press + 4 test commands, 2 across a SIGKILL), ${alarmPublishes} publishes, ${alarms.size} unique event ids`);
    expect(alarms.size).toBe(5);
    expect(evs.filter((e) => e.test).length).toBe(4);
    expect(new Set(evs.map((e) => e.envelope.seq)).size).toBe(5);
    expect(dev.errors).toEqual([]);
    gw.proc.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
  }, 120_000);
});
