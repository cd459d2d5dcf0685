// BLE transport against the simulator's fake noble central and a Node-side peer using the simulated
// Espruino NRF API. The shared transport contract (test/transports/) covers the stream behaviour; these
// tests cover what is BLE-specific: chunking to the MTU, pairing, unavailable adapter, reconnect backoff.
import { describe, expect, it } from "vitest";
import { BleTransport, bleTransportForBoard, explainNobleError } from "./ble.ts";
import type { Link } from "./transport.ts";
import { BleRadio, FakeNoble } from "../../simulator/ble/index.ts";
import { BlePeerDevice, VARDE_BLE } from "../../test/transports/ble-peer.ts";

const fast = { advIntervalMs: 5, connectDelayMs: 2, connectionIntervalMs: 1, packetsPerEvent: 6 };

function waitFor<T>(get: () => T | undefined | null | false, ms = 3000, what = "condition"): Promise<T> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = get();
      if (v) return resolve(v as T);
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

function setup(opts: { attMtu?: number; centralMtu?: number; pairing?: "justworks" | "none"; seed?: number } = {}) {
  const radio = new BleRadio({ ...fast, seed: opts.seed ?? 7 });
  const noble = new FakeNoble(radio, { maxAttMtu: opts.centralMtu ?? 256, pairing: opts.pairing ?? "justworks" });
  const peer = new BlePeerDevice(radio, { attMtu: opts.attMtu ?? 53 });
  const logs: string[] = [];
  const transport = new BleTransport({ ...VARDE_BLE, noble, backoffMinMs: 20, backoffMaxMs: 200, log: (m) => logs.push(m) });
  const links: Link[] = [];
  return { radio, noble, peer, transport, links, logs, start: () => transport.start((l) => links.push(l)) };
}

describe("BleTransport", () => {
  it("writes in chunks of the negotiated MTU (50 bytes on nRF52832, 20 with a BLE 4.0 peer)", async () => {
    for (const [attMtu, chunk] of [[53, 50], [23, 20]] as const) {
      const s = setup({ attMtu });
      s.peer.powerOn();
      const got: Uint8Array[] = [];
      s.peer.on("data", (b: Uint8Array) => got.push(b));
      await s.start();
      const link = await waitFor(() => s.links[0], 3000, "link");
      const msg = new Uint8Array(123).map((_, i) => i);
      await link.write(msg);
      await waitFor(() => got.reduce((n, b) => n + b.length, 0) >= 123, 3000, "peer bytes");
      const sizes = chunk === 50 ? [50, 50, 23] : [20, 20, 20, 20, 20, 20, 3];
      expect(got.map((b) => b.length)).toEqual(sizes);
      expect(Buffer.concat(got)).toEqual(Buffer.from(msg));
      await s.transport.stop();
      expect(s.radio.idle).toBe(true);
    }
  });

  it("pairs (Just Works) because the characteristics need encryption, and refuses a central that cannot pair", async () => {
    const ok = setup();
    ok.peer.powerOn();
    const sec: unknown[] = [];
    (ok.peer as unknown as { peripheral: { host: { security: (s: unknown) => void } } }).peripheral.host.security = (s) => sec.push(s);
    await ok.start();
    await waitFor(() => ok.links[0], 3000, "link");
    expect(ok.peer.peripheral.connection?.encrypted).toBe(true);
    expect(sec.length).toBe(1);
    await ok.transport.stop();

    const no = setup({ pairing: "none" });
    no.peer.powerOn();
    await no.start();
    await waitFor(() => no.logs.find((l) => l.includes("insufficient encryption")), 3000, "encryption refusal");
    expect(no.links.length).toBe(0);
    expect(no.transport.stats.setupFailures).toBeGreaterThan(0);
    await no.transport.stop();
    expect(no.radio.idle).toBe(true);
  });

  it("reconnects with backoff after the link is lost, and a new Link carries data", async () => {
    const s = setup();
    s.peer.powerOn();
    await s.start();
    const first = await waitFor(() => s.links[0], 3000, "first link");
    let closed = 0;
    first.on("close", () => closed++);
    s.radio.dropConnection(s.peer.peripheral.address);
    await waitFor(() => closed === 1, 3000, "close");
    const t0 = Date.now();
    const second = await waitFor(() => s.links[1], 3000, "second link");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15); // backoffMinMs = 20, minus timer slack
    const got: number[] = [];
    second.on("data", (b: Uint8Array) => got.push(...b));
    s.peer.write(new Uint8Array([1, 2, 3]));
    await waitFor(() => got.length === 3, 3000, "data on new link");
    expect(got).toEqual([1, 2, 3]);
    expect(closed).toBe(1);
    expect(s.transport.stats).toEqual({ links: 2, setupFailures: 0, linksLost: 1 });
    await s.transport.stop();
    expect(s.radio.idle).toBe(true);
  });

  it("serves several devices, one Link each; an address filter keeps the others out", async () => {
    const radio = new BleRadio({ ...fast, seed: 3 });
    const noble = new FakeNoble(radio);
    const peers = [0, 1, 2].map((i) => new BlePeerDevice(radio, { name: `Varde-${i}` }));
    for (const p of peers) p.powerOn();
    const all = new BleTransport({ ...VARDE_BLE, noble, backoffMinMs: 20 });
    let scanStops = 0;
    let connectsWhileScanning = 0;
    noble.on("scanStop", () => scanStops++);
    for (const p of peers) p.on("connect", () => radio.isScanning(noble) && connectsWhileScanning++);
    const links: Link[] = [];
    await all.start((l) => links.push(l));
    await waitFor(() => links.length === 3, 3000, "three links");
    expect(new Set(links.map((l) => l.name)).size).toBe(3);
    // the scan pauses for each connection set-up (controllers refuse to connect while scanning)
    expect(scanStops).toBeGreaterThanOrEqual(3);
    expect(connectsWhileScanning).toBe(0);
    // each link reaches its own device
    const got = peers.map(() => [] as number[]);
    peers.forEach((p, i) => p.on("data", (b: Uint8Array) => got[i].push(...b)));
    for (const l of links) await l.write(new TextEncoder().encode(l.name));
    await waitFor(() => got.every((g) => g.length > 0), 3000, "bytes at every device");
    const byAddr = peers.map((p, i) => [p.peripheral.address.split(" ")[0], Buffer.from(got[i]).toString()]);
    for (const [addr, text] of byAddr) expect(text).toBe(`ble:${addr}`);
    await all.stop();

    const only = peers[1].peripheral.address.split(" ")[0];
    const one = new BleTransport({ ...VARDE_BLE, noble, addresses: [only.toUpperCase()] });
    const links2: Link[] = [];
    await one.start((l) => links2.push(l));
    await waitFor(() => links2.length === 1, 3000, "filtered link");
    await new Promise((r) => setTimeout(r, 50));
    expect(links2.map((l) => l.name)).toEqual([`ble:${only}`]);
    expect(one.connected()).toEqual([only]);
    await one.stop();
    expect(radio.idle).toBe(true);
  });

  it("a connect that never completes (device gone after its advertisement) times out, is cancelled and retried", async () => {
    const s = setup();
    s.peer.powerOn();
    const t = new BleTransport({ ...VARDE_BLE, noble: s.noble, connectTimeoutMs: 80, backoffMinMs: 10, log: (m) => s.logs.push(m) });
    // the device is heard once, then stops advertising before the connection is made
    s.noble.once("discover", () => {
      s.peer.peripheral.sleeping = true;
    });
    await t.start((l) => s.links.push(l));
    await waitFor(() => s.logs.find((l) => /connect timed out after 80 ms/.test(l)), 3000, "connect timeout");
    expect(s.links.length).toBe(0);
    s.peer.peripheral.sleeping = false; // back in range
    await waitFor(() => s.links[0], 3000, "link after the device returns");
    await t.stop();
    expect(s.radio.idle).toBe(true);
  });

  it("a device that is off is waited for; after power-on it connects", async () => {
    const s = setup();
    await s.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.links.length).toBe(0);
    s.peer.powerOn();
    await waitFor(() => s.links[0], 3000, "link after power-on");
    await s.transport.stop();
  });

  it("adapter off: a clear message and a link once it is powered on", async () => {
    const radio = new BleRadio(fast);
    const noble = new FakeNoble(radio, { state: "poweredOff" });
    const peer = new BlePeerDevice(radio);
    peer.powerOn();
    const logs: string[] = [];
    const t = new BleTransport({ ...VARDE_BLE, noble, log: (m) => logs.push(m) });
    const links: Link[] = [];
    await t.start((l) => links.push(l));
    expect(t.unavailable).toMatch(/poweredOff.*bluetoothctl power on/);
    noble.setState("poweredOn");
    await waitFor(() => links[0], 3000, "link after power on");
    expect(t.unavailable).toBe(null);
    await t.stop();
    expect(radio.idle).toBe(true);
  });

  it("the adapter powered off while connected: the link closes once; powered on again: a new link", async () => {
    const s = setup();
    s.peer.powerOn();
    await s.start();
    const first = await waitFor(() => s.links[0], 3000, "link");
    let closes = 0;
    first.on("close", () => closes++);
    s.noble.setState("poweredOff");
    await waitFor(() => closes === 1, 3000, "close on adapter loss");
    expect(s.transport.unavailable).toMatch(/poweredOff/);
    s.noble.setState("poweredOn");
    await waitFor(() => s.links[1], 3000, "link after the adapter returns");
    expect(closes).toBe(1);
    await s.transport.stop();
    expect(s.radio.idle).toBe(true);
  });

  it("a missing noble module or adapter is a message naming the fix, not a crash", async () => {
    const missing = Object.assign(new Error("Cannot find package '@abandonware/noble' imported from x"), { code: "ERR_MODULE_NOT_FOUND" });
    expect(explainNobleError(missing)).toMatch(/npm install @abandonware\/noble/);
    expect(explainNobleError(new Error("EAFNOSUPPORT, Address family not supported by protocol"))).toMatch(/no Bluetooth support.*adapter/);
    expect(explainNobleError(new Error("EPERM, Operation not permitted"))).toMatch(/setcap cap_net_raw/);
    const logs: string[] = [];
    const t = new BleTransport({ ...VARDE_BLE, noble: () => { throw missing; }, log: (m) => logs.push(m) });
    await expect(t.start(() => {})).resolves.toBeUndefined();
    expect(t.unavailable).toMatch(/npm install/);
    expect(logs).toEqual([t.unavailable]);
    await t.stop();
  });

  it("takes its UUIDs from a BLE board file, and refuses a serial board", () => {
    expect(bleTransportForBoard("alarm-nrf52").name).toBe("ble:6e6b0001566172646521a1a2a3a4a5a6");
    expect(() => bleTransportForBoard("alarm-esp32")).toThrow(/alarm-esp32.toml: \[data\] transport = "serial" has no BLE service.*alarm-nrf52/);
  });

  it("the real @abandonware/noble on this machine: loads or explains why not", async () => {
    const t = new BleTransport({ ...VARDE_BLE, log: () => {} });
    await t.start(() => {});
    // This container has no Bluetooth: noble throws EAFNOSUPPORT on load. With an adapter, the state is reported.
    if (t.unavailable) expect(t.unavailable).toMatch(/^BLE (transport unavailable|adapter is)/);
    await t.stop();
  });
});
