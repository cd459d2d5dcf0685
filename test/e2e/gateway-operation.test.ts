// Issue 10, the operational defects, reproduced from the outside with the gateway as its own process (the
// bundle the systemd unit runs), a real Mosquitto and devices dialling in over TCP:
//   4. [log] file is honoured (nothing on stderr but the start line), and the shipped unit makes the
//      example log path writable
//   5. a flood of bad frames is counted exactly and logged rate-limited, with a summary
//   6. varde_devices_online agrees with /status after a restart
//   7. frames lost to framing and malformed commands are counted and logged
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as net from "node:net";
import mqtt from "mqtt";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { sealFrame } from "../../gateway/wire.ts";
import { encodeFrame } from "../../protocol/framing.ts";
import { topic } from "../../gateway/mqtt/topics.ts";
import { FakeDevice } from "../support/fake-device.ts";
import { freePort, startMosquitto } from "../support/mosquitto.ts";
import { GatewayProcess, scrape, status, writeConfig } from "../support/gateway-process.ts";
import { until, untilAsync } from "../support/wait.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function setup(log: Record<string, unknown> = {}) {
  const b = await startMosquitto();
  cleanup.push(() => b.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-op-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "op", created: "" });
  const metrics = await freePort();
  const config = writeConfig(path.join(dir, "gateway.toml"), {
    gateway_id: "gw1",
    transport: [{ type: "tcp-listen", port: 0 }],
    mqtt: { url: b.url, reconnect_ms: 100 },
    session: { hello_retry_ms: 100 },
    metrics: { port: metrics },
    log: { level: "info", ...log },
  });
  const start = async () => {
    const gw = await GatewayProcess.start(config);
    cleanup.push(() => gw.kill());
    await gw.waitOutput(/devices may dial tcp port (\d+)/);
    return { gw, port: Number(/devices may dial tcp port (\d+)/.exec(gw.out)![1]) };
  };
  return { b, dir, key, metrics, config, start };
}

async function dialIn(port: number): Promise<net.Socket> {
  const s = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((r, j) => s.once("connect", () => r()).once("error", j));
  s.on("error", () => undefined);
  cleanup.push(() => s.destroy());
  return s;
}

describe("gateway hardening: operational defects, from the outside", () => {
  it("4. [log] file gets the structured log (not stderr); the systemd unit makes the example log path writable", async () => {
    const { dir, start } = await setup({ file: "logs/gateway.log" });
    const { gw } = await start();
    const file = path.join(dir, "logs", "gateway.log");
    await until(() => fs.existsSync(file) && fs.readFileSync(file, "utf8").includes('"msg":"gateway started"'), 10_000, "the start line in the log file");
    await gw.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toMatch(/"msg":"gateway stopped"/);
    expect(gw.err).toBe(""); // nothing went to stderr
    // the example config's log path is writable under the shipped unit (ProtectSystem=strict)
    const example = fs.readFileSync(path.join(ROOT, "examples", "gateway.toml"), "utf8");
    const logPath = /^#?\s*file\s*=\s*"([^"]+)"/m.exec(example.slice(example.indexOf("[log]")))![1];
    const unit = fs.readFileSync(path.join(ROOT, "deploy", "varde-gateway.service"), "utf8");
    const writable = [...unit.matchAll(/^ReadWritePaths=(.+)$/gm)].flatMap((m) => m[1].split(/\s+/)).concat([...unit.matchAll(/^LogsDirectory=(.+)$/gm)].flatMap((m) => m[1].split(/\s+/).map((d) => `/var/log/${d}`)));
    expect(writable.some((d) => logPath.startsWith(d + "/"))).toBe(true);
    // and the unit runs the compiled gateway, what make bench measures
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node (--[\w=-]+ )*\/opt\/varde\/dist\/gateway\/varde-gateway\.mjs --config /m);
  });

  it("5. 10,000 bad frames in a burst: counted exactly, a handful of log lines and a summary", async () => {
    const { metrics, dir, start } = await setup({ file: "gateway.log", rejects_every_s: 1 });
    const { gw, port } = await start();
    const s = await dialIn(port);
    const wrongKey = new Uint8Array(32).fill(9);
    const N = 10_000;
    const frames = Buffer.concat(Array.from({ length: N }, (_, i) => Buffer.from(sealFrame(wrongKey, { device: 1001, boot: 7, seq: i + 1, time: 1, alarm: {} }))));
    s.write(frames);
    await untilAsync(() => scrape(metrics), (m) => m("varde_frames_rejected_total", { reason: "bad_mac" }) >= N, 30_000, `${N} rejections counted`);
    const m = await scrape(metrics);
    expect(m("varde_frames_rejected_total", { reason: "bad_mac" })).toBe(N);
    const file = path.join(dir, "gateway.log");
    await until(() => /more frames rejected in the last 1 s/.test(fs.readFileSync(file, "utf8")), 10_000, "the summary line");
    const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => /rejected/.test(l));
    const summaries = lines.filter((l) => /more frames rejected/.test(l));
    const suppressed = summaries.reduce((n, l) => n + JSON.parse(l).suppressed.bad_mac, 0);
    console.log(`flood: ${N} bad frames → ${lines.length} log lines (${summaries.length} summaries); stdout lines: ${gw.out.split("\n").filter((l) => /rejected/.test(l)).length}`);
    expect(lines.length).toBeLessThan(20);
    expect(lines.length - summaries.length + suppressed).toBe(N); // every rejection is in a line or a summary count
    expect(gw.out.split("\n").filter((l) => /rejected/.test(l)).length).toBeLessThan(20); // readable lines rate-limited too
  });

  it("6. after a restart varde_devices_online says what /status says", async () => {
    const { key, metrics, start } = await setup();
    let { gw, port } = await start();
    const dev = new FakeDevice({ id: 1001, key });
    cleanup.push(() => dev.close());
    await dev.connectTcp(port);
    await dev.waitFor(() => dev.sessions >= 1, 10_000, "handshake");
    await untilAsync(() => scrape(metrics), (m) => m("varde_devices_online") === 1, 10_000, "online gauge");
    await gw.kill("SIGTERM");
    ({ gw, port } = await start());
    const st = await untilAsync(() => status(metrics), (s) => !!s.devices, 10_000, "status");
    const online = st.devices.filter((d: any) => d.online === true).length;
    expect(online).toBe(1); // remembered online: it gets one supervision window to show up
    expect((await scrape(metrics))("varde_devices_online")).toBe(online);
  });

  it("7. frames lost to framing (bad CRC, bad length, truncation, noise) and malformed commands are counted and logged", async () => {
    const { b, key, metrics, dir, start } = await setup({ file: "gateway.log" });
    const { port } = await start();
    const s = await dialIn(port);
    const good = Buffer.from(sealFrame(new Uint8Array(Buffer.from(key, "hex")), { device: 1001, boot: 3, seq: 1, time: 1, alarm: {} }));
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1] ^= 0xff;
    const badLen = Buffer.from([0xf5, 0xa7, 0x00, 0x01, 0x02]);
    const truncated = good.subarray(0, good.length - 4);
    s.write(Buffer.concat([Buffer.from("boot text\r\n"), badCrc, badLen, truncated, good]));
    await untilAsync(() => scrape(metrics), (m) => m("varde_frames_rejected_total", { reason: "framing" }) >= 3 && m("varde_events_in_total") === 1, 10_000, "framing losses counted, the good frame stored");
    const m = await scrape(metrics);
    expect(m("varde_link_noise_bytes_total")).toBeGreaterThan(0);
    await until(() => /lost to framing/.test(fs.readFileSync(path.join(dir, "gateway.log"), "utf8")), 10_000, "a log line");
    // malformed and unknown commands
    const c = await mqtt.connectAsync(b.url, { protocolVersion: 5 });
    cleanup.push(() => c.endAsync(true));
    await c.publishAsync(topic("command", { gateway: "gw1", command: "ack-alarm" }), Buffer.from([0xff, 0xff, 0xff]), { qos: 1 });
    await c.publishAsync(topic("command", { gateway: "gw1", command: "self-destruct" }), Buffer.from("{}"), { qos: 1 });
    await untilAsync(() => scrape(metrics), (x) => x("varde_commands_rejected_total") >= 2, 10_000, "commands counted");
    const m2 = await scrape(metrics);
    expect(m2("varde_commands_rejected_total", { reason: "malformed" })).toBe(1);
    expect(m2("varde_commands_rejected_total", { reason: "unknown_command" })).toBe(1);
  });
});
