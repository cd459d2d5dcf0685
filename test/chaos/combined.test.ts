// Issue 10, everything at once: the gateway (its own process, the bundle systemd runs) under libfaketime so
// its wall clock can be stepped like NTP does, with its data directory on a small tmpfs that a test can fill;
// a fleet of devices dialling in over TCP, raising alarms and sending heartbeats the whole time; a real
// Mosquitto; an independent subscriber that stores each event once and acks it. Meanwhile: the wall clock
// jumps 3 h forward, the gateway is SIGKILLed, the broker restarted, the disk filled and freed, the clock
// jumps 6 h back, another SIGKILL and broker restart. At the end: every alarm sent was received (by event
// id), none that was not sent, and no device was reported lost (a wall-clock step must not look like
// silence); the figures are printed: produced / received / lost / duplicated.
// CHAOS_DEVICES, CHAOS_ROUNDS scale it (make soak).
import { describe, it, expect, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { decodeMessage, encodeMessage } from "../../gateway/wire.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { FakeDevice } from "../support/fake-device.ts";
import { freePort, startMosquitto } from "../support/mosquitto.ts";
import { FAKETIME_LIB, GatewayProcess, scrape, writeConfig } from "../support/gateway-process.ts";
import { available, tmpfs } from "../support/mounts.ts";
import { sleep, until, untilAsync } from "../support/wait.ts";

const GW = "chaos-all";
const DEVICES = Number(process.env.CHAOS_DEVICES ?? 8);
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 1);
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("chaos: SIGKILL, broker restarts, disk full and NTP steps together", () => {
  it.skipIf(!FAKETIME_LIB)(`${DEVICES} devices, ${ROUNDS} round(s): sent = received by event id, no false device_lost`, async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-chaos-all-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const canFill = available().tmpfs;
    const disk = canFill ? tmpfs(4 * 1024 * 1024) : null;
    if (disk) cleanup.push(() => disk.umount());
    else console.log(`chaos: disk-full phase skipped (${available().why})`);
    const offset = path.join(dir, "clock-offset");
    fs.writeFileSync(offset, "+0\n");
    const keys = Array.from({ length: DEVICES }, () => newDeviceKey());
    keys.forEach((key, i) => appendDevice(path.join(dir, "registry.toml"), { id: 7000 + i, kind: "alarm", board: "alarm-esp32", key, label: "", created: "" }));
    const metrics = await freePort();
    const devPort = await freePort();
    const config = writeConfig(path.join(dir, "gateway.toml"), {
      gateway_id: GW,
      data_dir: disk ? disk.dir : path.join(dir, "data"),
      transport: [{ type: "tcp-listen", port: devPort }],
      mqtt: { url: broker.url, reconnect_ms: 100, reconnect_max_ms: 1000, keepalive_s: 2, backend_ack: "application", ack_timeout_s: 2 },
      outbox: { min_free_bytes: 0 },
      session: { hello_retry_ms: 100, heartbeat_s: 2, missed_heartbeats: 5 },
      metrics: { port: metrics },
      log: { level: "warn" },
    });
    let gw = await GatewayProcess.start(config, { clockOffsetFile: offset });
    const gws = [gw];
    cleanup.push(() => Promise.all(gws.map((g) => g.kill())));
    const restart = async () => {
      gw.kill("SIGKILL");
      await gw.exited;
      gw = await GatewayProcess.start(config, { clockOffsetFile: offset });
      gws.push(gw);
      await gw.waitOutput(/running/, 30_000);
    };

    // the independent subscriber: stores once by event id, acks
    const received = new Set<string>();
    let publishes = 0;
    let lost = 0;
    const be = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "chaos-all-backend", clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 100 });
    cleanup.push(() => be.endAsync(true));
    be.on("message", (_t, p) => {
      const ev = decodeMessage("BackendEvent", new Uint8Array(p));
      if (ev.type === "device_lost") lost++;
      if (ev.type === "alarm") {
        publishes++;
        received.add(ev.eventId);
      }
      // every event is acked once stored (heartbeats too: an unacked event holds its place in the window)
      be.publish(topic("ack", { gateway: GW }), Buffer.from(encodeMessage("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    });
    await be.subscribeAsync(filter("event", GW), { qos: 1 });

    const devs = keys.map((key, i) => new FakeDevice({ id: 7000 + i, key, retryMs: 250 }));
    for (const d of devs) {
      cleanup.push(() => d.close());
      d.keepDialling(devPort);
    }
    await until(() => devs.every((d) => d.sessions >= 1), 20_000, "every device's first handshake");
    const sent: string[] = [];
    let producing = true;
    const load = (async () => {
      let k = 0;
      while (producing) {
        for (const d of devs) {
          if (k % 5 === 0 && d.linked) d.heartbeat(2);
          if (k % 2 === d.id % 2) sent.push(`${d.id}:${d.boot}:${d.alarm()}`);
        }
        k++;
        await sleep(200);
      }
    })();
    const phase = (what: string) => console.log(`chaos: ${what} (${sent.length} alarms so far)`);
    const storeFault = async () => {
      if (!disk) return;
      const filler = disk.fill();
      phase("disk full");
      await untilAsync(() => scrape(metrics), (m) => m("varde_storage_fault") === 1, 30_000, "storage fault reported");
      await sleep(1000);
      fs.rmSync(filler);
      await untilAsync(() => scrape(metrics), (m) => m("varde_storage_fault") === 0, 30_000, "storage fault cleared");
      phase("disk has room again");
    };
    const step = async (offsetText: string) => {
      fs.writeFileSync(offset, offsetText + "\n");
      phase(`wall clock stepped to ${offsetText}`);
      await sleep(3000); // longer than a supervision window would need to misfire
    };

    cleanup.push(() => {
      if (!gw.running) console.log(`chaos: the gateway exited (${gw.proc.exitCode ?? gw.proc.signalCode}): ${gw.err.slice(-3000)}`);
    });
    for (let r = 0; r < ROUNDS; r++) {
      await sleep(1000);
      await step("+3h");
      await restart();
      phase("gateway SIGKILLed and restarted");
      await sleep(1000);
      await broker.restart();
      phase("broker restarted");
      await sleep(1000);
      await storeFault();
      await step("-3h");
      await restart();
      phase("gateway SIGKILLed and restarted");
      await broker.restart();
      phase("broker restarted");
      await sleep(1000);
      await step("+0");
    }
    producing = false;
    await load;
    await until(() => devs.every((d) => d.outbox.length === 0), 60_000, "every device outbox acked by the gateway");
    await until(() => sent.every((id) => received.has(id)), 60_000, `all ${sent.length} alarms at the subscriber`);
    await untilAsync(() => scrape(metrics), (m) => m("varde_outbox_depth") === 0, 60_000, "gateway outbox drained");
    const unknown = [...received].filter((id) => !sent.includes(id));
    const missing = sent.filter((id) => !received.has(id));
    console.log(`chaos (combined): produced ${sent.length}, received ${received.size} unique, lost ${missing.length}, duplicated ${publishes - received.size} (publishes ${publishes}); ${DEVICES} devices, ${ROUNDS} round(s): 2 SIGKILLs, 2 broker restarts, ${disk ? "disk full once" : "no disk-full phase"}, wall clock +3 h and -6 h; device_lost events: ${lost}`);
    expect(missing).toEqual([]);
    expect(unknown).toEqual([]);
    expect(lost).toBe(0);
  }, 240_000);
});
