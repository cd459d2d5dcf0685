// Issue 10, faults nobody had tried: the gateway (its own process, the bundle systemd runs) with its data
// directory on a real small disk that fills up (tmpfs) or turns read-only under it (ext4 on a loop device,
// errors=remount-ro, made read-only by the kernel's ext4 error switch — what an SD card does after an I/O
// error), and a damaged outbox file at start. A device dials in over TCP; an independent subscriber stores
// and acks. Every case ends with sent = received by event id.
// The mounts need root; without it these cases are skipped with the reason (gateway/store/commit.test.ts
// covers the same fault paths with an injected failing disk).
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import Database from "better-sqlite3";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { FakeDevice } from "../support/fake-device.ts";
import { freePort, startMosquitto } from "../support/mosquitto.ts";
import { GatewayProcess, scrape, writeConfig } from "../support/gateway-process.ts";
import { available, ext4, tmpfs } from "../support/mounts.ts";
import { until, untilAsync } from "../support/wait.ts";

const GW = "sf";
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
const can = available();
if (!can.tmpfs || !can.ext4) console.log(`storage-faults: some cases skipped — ${can.why}`);

/** The independent subscriber: stores each event once (by id) and acks it, when acking is on. */
async function backend(url: string) {
  const received = new Set<string>();
  let publishes = 0;
  const state = { acking: true };
  const c: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `sf-backend-${process.pid}`, clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 200 });
  cleanup.push(() => c.endAsync(true));
  c.on("message", (_t, p) => {
    const ev = decodeMessage("BackendEvent", new Uint8Array(p));
    if (ev.type !== "alarm") return;
    publishes++;
    received.add(ev.eventId);
    if (state.acking) c.publish(topic("ack", { gateway: GW }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
  });
  await c.subscribeAsync(filter("event", GW), { qos: 1 });
  return { received, state, publishes: () => publishes, ackAll: () => c.publishAsync(topic("ack", { gateway: GW }), Buffer.from(encodeMessage("EventAck", { eventIds: [...received] })), { qos: 1 }) };
}

async function setup(dataDir: string) {
  const b = await startMosquitto();
  cleanup.push(() => b.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-sf-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "sf", created: "" });
  const metrics = await freePort();
  const devPort = await freePort();
  const config = writeConfig(path.join(dir, "gateway.toml"), {
    gateway_id: GW,
    data_dir: dataDir,
    transport: [{ type: "tcp-listen", port: devPort }],
    mqtt: { url: b.url, reconnect_ms: 100, backend_ack: "application", ack_timeout_s: 2 },
    // min_free_bytes = 0: the real ENOSPC path, not the early "nearly full" bound (tested in store.test.ts)
    outbox: { min_free_bytes: 0 },
    session: { hello_retry_ms: 100 },
    metrics: { port: metrics },
    log: { level: "info" },
  });
  const start = async () => {
    const gw = await GatewayProcess.start(config);
    cleanup.push(() => gw.kill());
    return gw;
  };
  const dev = new FakeDevice({ id: 1001, key, retryMs: 200 });
  cleanup.push(() => dev.close());
  dev.keepDialling(devPort); // again whenever the link drops (gateway restarts)
  return { b, dir, dev, metrics, start, be: await backend(b.url) };
}

const idOf = (dev: FakeDevice, seq: number) => `1001:${dev.boot}:${seq}`;

describe("storage faults (real disks)", () => {
  it.skipIf(!can.tmpfs)("disk full while alarms arrive: fault reported, frames refused (kept in the device), everything delivered once space returns", async () => {
    const disk = tmpfs(3 * 1024 * 1024);
    cleanup.push(() => disk.umount());
    const { dev, metrics, start, be } = await setup(disk.dir);
    const gw = await start();
    await dev.waitFor(() => dev.sessions >= 1, 15_000, "handshake");
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) sent.push(idOf(dev, dev.alarm()));
    await until(() => sent.every((id) => be.received.has(id)), 15_000, "first alarms at the backend");
    const filler = disk.fill();
    // keep raising alarms until the disk refuses one (the WAL reuses space it already has for a while)
    for (let i = 0; i < 3000; i++) {
      sent.push(idOf(dev, dev.alarm()));
      if (i % 20 === 19) {
        const m = await scrape(metrics);
        if (m("varde_storage_fault") === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await untilAsync(() => scrape(metrics), (m) => m("varde_storage_fault") === 1 && m("varde_frames_rejected_total", { reason: "storage_fault" }) > 0, 15_000, "storage fault reported, frames refused");
    await gw.waitOutput(/FAULT: the data directory .* refuses writes/);
    expect(dev.outbox.length).toBeGreaterThan(0); // not acked: the device keeps them
    const held = dev.outbox.length;
    fs.rmSync(filler); // space returns
    await untilAsync(() => scrape(metrics), (m) => m("varde_storage_fault") === 0, 15_000, "fault cleared");
    await dev.waitFor(() => dev.outbox.length === 0, 30_000, "device outbox drained into the gateway");
    await until(() => sent.every((id) => be.received.has(id)), 30_000, `all ${sent.length} alarms at the backend`);
    console.log(`disk full: ${sent.length} alarms sent, ${held} held in the device during the fault, ${be.received.size} received (${be.publishes()} publishes)`);
    expect([...be.received].sort()).toEqual([...sent].sort());
    expect(gw.running).toBe(true);
  });

  it.skipIf(!can.ext4)("data directory turns read-only under the gateway: fault, frames refused; after fsck a read-only start exits 2 with the reason; read-write again: nothing lost", async () => {
    const disk = ext4(16);
    cleanup.push(() => disk.umount());
    const data = path.join(disk.dir, "varde-data");
    const { dev, metrics, start, be } = await setup(data);
    be.state.acking = false; // events stay in the gateway's outbox on that disk
    let gw = await start();
    await dev.waitFor(() => dev.sessions >= 1, 15_000, "handshake");
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) sent.push(idOf(dev, dev.alarm()));
    await dev.waitFor(() => dev.outbox.length === 0, 10_000, "10 alarms stored (acked to the device)");
    disk.break();
    expect(disk.readOnly()).toBe(true);
    for (let i = 0; i < 5; i++) sent.push(idOf(dev, dev.alarm()));
    await untilAsync(() => scrape(metrics), (m) => m("varde_storage_fault") === 1 && m("varde_frames_rejected_total", { reason: "storage_fault" }) > 0, 15_000, "read-only fault reported, frames refused");
    await gw.waitOutput(/FAULT: the data directory .* refuses writes/);
    expect(dev.outbox.length).toBe(5);
    gw.kill("SIGTERM");
    expect(await gw.exited).toBe(0); // a graceful stop even on a read-only disk
    // the operator checks the card; mounted read-only by mistake first
    disk.repair("ro");
    gw = await start();
    expect(await gw.exited).toBe(2);
    expect(gw.err).toMatch(/read-only file system/);
    disk.repair("rw");
    be.state.acking = true;
    gw = await start();
    await dev.waitFor(() => dev.outbox.length === 0, 30_000, "held alarms stored after the repair");
    await until(() => sent.every((id) => be.received.has(id)), 30_000, "every alarm at the backend");
    await be.ackAll(); // those published before the fault, acked now
    await untilAsync(() => scrape(metrics), (m) => m("varde_outbox_depth") === 0, 30_000, "outbox drained");
    console.log(`read-only: ${sent.length} alarms sent (5 held in the device during the fault), ${be.received.size} received`);
    expect([...be.received].sort()).toEqual([...sent].sort());
  });

  it("a damaged outbox file at start: moved aside, every readable event salvaged and delivered, the loss reported", async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "varde-sf-data-"));
    cleanup.push(() => fs.rmSync(data, { recursive: true, force: true }));
    const { dev, start, be } = await setup(data);
    be.state.acking = false;
    let gw = await start();
    await dev.waitFor(() => dev.sessions >= 1, 15_000, "handshake");
    const sent: string[] = [];
    for (let i = 0; i < 600; i++) sent.push(idOf(dev, dev.alarm()));
    await dev.waitFor(() => dev.outbox.length === 0, 30_000, "600 alarms stored");
    await gw.kill("SIGTERM"); // checkpointed into outbox.db
    // a power cut on cheap storage: a page in the middle of the events table is garbage
    const file = path.join(data, "outbox.db");
    const probe = new Database(file, { readonly: true });
    const leaves = (probe.prepare("SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno").all() as Array<{ pageno: number }>).map((r) => r.pageno);
    probe.close();
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (leaves[Math.floor(leaves.length / 2)] - 1) * 4096);
    fs.closeSync(fd);
    be.received.clear();
    be.state.acking = true;
    gw = await start();
    await gw.waitOutput(/outbox\.db was damaged .* kept as .*damaged-.* continues with what could be read: (\d+) events/);
    const salvaged = Number(/continues with what could be read: (\d+) events/.exec(gw.err)![1]);
    expect(fs.readdirSync(data).some((f) => /^outbox\.db\.damaged-/.test(f))).toBe(true);
    await until(() => be.received.size >= salvaged, 30_000, `${salvaged} salvaged events at the backend`);
    console.log(`damaged outbox: ${sent.length} events stored, ${salvaged} salvaged and delivered, ${sent.length - salvaged} lost with the damaged page`);
    expect(salvaged).toBeGreaterThan(sent.length - 60); // one 4 KiB page holds at most ~60 of these rows
    expect(salvaged).toBeLessThan(sent.length); // the rows on the damaged page are gone, and reported
    for (const id of be.received) expect(sent).toContain(id);
  });
});
