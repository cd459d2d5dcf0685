// The simulated Espruino BLE API and radio, driven from a fake central, in virtual time (a tiny
// discrete-event scheduler here, so the tests take milliseconds and are deterministic).
import { describe, expect, it } from "vitest";
import { BleRadio, FakeNoble, SimBlePeripheral, createEspruinoBle, NUS_SERVICE, NUS_RX, NUS_TX, type BleScheduler, type FakePeripheral } from "./index.ts";

const SVC = "6e6b0001-5661-7264-6521-a1a2a3a4a5a6";
const TO = "6e6b0002-5661-7264-6521-a1a2a3a4a5a6";
const FROM = "6e6b0003-5661-7264-6521-a1a2a3a4a5a6";
const n = (u: string) => u.replace(/-/g, "");

/** Discrete-event scheduler: run() executes timers in time order (FIFO for equal times). */
class VirtualTime implements BleScheduler {
  now = 0;
  private q: { at: number; id: number; fn: () => void }[] = [];
  private id = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.now + ms, id: ++this.id, fn };
    this.q.push(t);
    return t;
  }
  clearTimeout(h: unknown): void {
    this.q = this.q.filter((t) => t !== h);
  }
  /** Advances time, letting promise callbacks settle between events. */
  async run(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.q.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.q[0];
      if (!t || t.at > end) break;
      this.q.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

function world(opts: { seed?: number; faults?: Record<string, number>; attMtu?: number; centralMtu?: number; txQueue?: number } = {}) {
  const time = new VirtualTime();
  const radio = new BleRadio({ scheduler: time, seed: opts.seed ?? 1, faults: opts.faults });
  const central = new FakeNoble(radio, { maxAttMtu: opts.centralMtu ?? 256 });
  const periph = new SimBlePeripheral({ name: "Puck.js a1b2", attMtu: opts.attMtu ?? 53, txQueue: opts.txQueue });
  radio.addPeripheral(periph);
  const events: unknown[][] = [];
  const errors: unknown[] = [];
  const ble = createEspruinoBle(periph, {
    // Espruino runs callbacks from its idle loop, never inside the call that caused them.
    event: (fn, self, args) => time.setTimeout(() => {
      try {
        fn.apply(self, args);
      } catch (e) {
        errors.push(e);
      }
    }, 0),
    arrayBuffer: (b) => b.slice().buffer,
    alive: () => true,
  });
  const NRF = ble.NRF as Record<string, (...a: any[]) => any>;
  const Bluetooth = ble.Bluetooth as Record<string, (...a: any[]) => any>;
  NRF.on("connect", (a: string) => events.push(["connect", a]));
  NRF.on("disconnect", (r: number) => events.push(["disconnect", r]));
  NRF.on("security", (s: unknown) => events.push(["security", s]));
  return { time, radio, central, periph, NRF, Bluetooth, events, errors };
}

function varde(NRF: Record<string, (...a: any[]) => any>, writes: Uint8Array[], opts: { uart?: boolean; encrypted?: boolean } = {}) {
  const sec = opts.encrypted === false ? undefined : { read: { encrypted: true }, write: { encrypted: true } };
  NRF.setServices(
    {
      [SVC]: {
        [TO]: { writable: true, maxLen: 50, value: [0], security: sec, onWrite: (evt: { data: ArrayBuffer }) => writes.push(new Uint8Array(evt.data)) },
        [FROM]: { readable: true, notify: true, maxLen: 50, value: [0], security: sec },
      },
    },
    { uart: opts.uart ?? false, advertise: [SVC] },
  );
}

async function connect(w: ReturnType<typeof world>, service = n(SVC)): Promise<FakePeripheral> {
  let found: FakePeripheral | null = null;
  w.central.on("discover", (p: FakePeripheral) => (found = p));
  await w.central.startScanningAsync([service], false);
  await w.time.run(150);
  if (!found) throw new Error("not discovered");
  await w.central.stopScanningAsync();
  const p = found as FakePeripheral;
  const c = p.connectAsync();
  await w.time.run(100);
  await c;
  return p;
}

describe("simulated Espruino BLE (NRF/Bluetooth) and the fake central", () => {
  it("advertises the Varde service, negotiates MTU 53 (50-byte notifications), pairs, and carries writes and notifications", async () => {
    const w = world();
    const writes: Uint8Array[] = [];
    varde(w.NRF, writes);
    const p = await connect(w);
    expect(p.mtu).toBe(53);
    expect(p.advertisement.serviceUuids).toEqual([n(SVC)]);
    const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(TO), n(FROM)]);
    await w.time.run(50);
    const { characteristics } = await d;
    const to = characteristics.find((c) => c.uuid === n(TO))!;
    const from = characteristics.find((c) => c.uuid === n(FROM))!;
    const got: Buffer[] = [];
    from.on("data", (b: Buffer, isNotification: boolean) => {
      expect(isNotification).toBe(true);
      got.push(b);
    });
    const sub = from.subscribeAsync();
    await w.time.run(20);
    await sub;
    expect(w.NRF.getSecurityStatus()).toMatchObject({ connected: true, encrypted: true });
    const wr = to.writeAsync(Buffer.from([1, 2, 3]), false);
    await w.time.run(20);
    await wr;
    w.NRF.updateServices({ [SVC]: { [FROM]: { value: new Uint8Array(50).fill(7), notify: true } } });
    await w.time.run(20);
    expect(writes.map((b) => [...b])).toEqual([[1, 2, 3]]);
    expect(got.map((b) => b.length)).toEqual([50]);
    expect(w.events.map((e) => e[0])).toEqual(["connect", "security"]);
    // too big for one notification, or for maxLen: the firmware must chunk
    expect(() => w.NRF.updateServices({ [SVC]: { [FROM]: { value: new Uint8Array(51), notify: true } } })).toThrow(/longer than maxLen 50/);
    await expect(to.writeAsync(Buffer.alloc(51), false)).rejects.toThrow(/exceeds characteristic .* maxLen 50|exceeds the 50-byte/);
    expect(() => w.NRF.updateServices({ [SVC]: { "6e6b0009-5661-7264-6521-a1a2a3a4a5a6": { value: [1], notify: true } } })).toThrow(/unable to find characteristic/);
  });

  it("a BLE 4.0 central gets 20-byte notifications; a 50-byte one is refused", async () => {
    const w = world({ centralMtu: 23 });
    varde(w.NRF, [], { encrypted: false });
    const p = await connect(w);
    expect(p.mtu).toBe(23);
    const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(FROM)]);
    await w.time.run(50);
    const from = (await d).characteristics[0];
    const s = from.subscribeAsync();
    await w.time.run(20);
    await s;
    expect(() => w.NRF.updateServices({ [SVC]: { [FROM]: { value: new Uint8Array(21), notify: true } } })).toThrow(/20-byte payload \(ATT MTU 23\)/);
  });

  it("Nordic UART (the REPL) is there by default, and gone with uart:false", async () => {
    const w = world();
    const p = await connect(w, NUS_SERVICE); // Espruino advertises the Nordic UART UUID by default
    const d = p.discoverSomeServicesAndCharacteristicsAsync([], []);
    await w.time.run(50);
    const { characteristics } = await d;
    expect(characteristics.map((c) => c.uuid).sort()).toEqual([NUS_RX, NUS_TX]);
    const rx = characteristics.find((c) => c.uuid === NUS_RX)!;
    const tx = characteristics.find((c) => c.uuid === NUS_TX)!;
    const text: string[] = [];
    w.Bluetooth.on("data", (s: string) => text.push(s));
    const out: Buffer[] = [];
    tx.on("data", (b: Buffer) => out.push(b));
    const s = tx.subscribeAsync();
    await w.time.run(20);
    await s;
    const wr = rx.writeAsync(Buffer.from("1+1\n"), false);
    await w.time.run(20);
    await wr;
    w.Bluetooth.write("x".repeat(120));
    await w.time.run(50);
    expect(text).toEqual(["1+1\n"]);
    expect(out.map((b) => b.length)).toEqual([50, 50, 20]);

    const w2 = world();
    varde(w2.NRF, [], { uart: false });
    const p2 = await connect(w2);
    const d2 = p2.discoverSomeServicesAndCharacteristicsAsync([], []);
    await w2.time.run(50);
    expect((await d2).services.map((s) => s.uuid)).toEqual([n(SVC)]);
  });

  it("setServices while connected waits for the link to end; NRF.disconnect tells both sides", async () => {
    const w = world();
    varde(w.NRF, []);
    const p = await connect(w);
    let centralReason: unknown = null;
    p.once("disconnect", (r: unknown) => (centralReason = r));
    w.NRF.setServices({ "abcd": { "abce": { readable: true, value: [1] } } }, { uart: false, advertise: ["abcd"] });
    expect([...w.periph.services.keys()]).toEqual([n(SVC)]);
    w.NRF.disconnect();
    await w.time.run(10);
    expect([...w.periph.services.keys()]).toEqual(["abcd"]);
    expect(centralReason).toBe(0x13); // remote user terminated
    expect(w.events.at(-1)).toEqual(["disconnect", 0x16]); // local host terminated
    expect(w.periph.isAdvertising()).toBe(true);
  });

  it("faults are seeded: the same seed drops and corrupts the same notifications, and link loss is seen by both sides", async () => {
    async function run(seed: number) {
      const w = world({ seed, faults: { notifyDrop: 0.1, notifyCorrupt: 0.1 } });
      varde(w.NRF, [], { encrypted: false });
      const p = await connect(w);
      const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(FROM)]);
      await w.time.run(50);
      const from = (await d).characteristics[0];
      const got: string[] = [];
      from.on("data", (b: Buffer) => got.push(b.toString("hex")));
      const s = from.subscribeAsync();
      await w.time.run(20);
      await s;
      for (let i = 0; i < 200; i++) w.NRF.updateServices({ [SVC]: { [FROM]: { value: [i, i, i, i], notify: true } } });
      await w.time.run(1000);
      return { got, stats: { ...w.radio.stats } };
    }
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.got).toEqual(b.got);
    expect(a.got).not.toEqual(c.got);
    expect(a.stats.notificationsDropped).toBeGreaterThan(5);
    expect(a.stats.notificationsCorrupted).toBeGreaterThan(5);
    expect(a.got.length).toBe(200 - a.stats.notificationsDropped);

    const w = world({ seed: 5 });
    varde(w.NRF, [], { encrypted: false });
    const p = await connect(w);
    let lost: unknown = null;
    p.once("disconnect", (r: unknown) => (lost = r));
    w.radio.faults.disconnectPerPacket = 1;
    const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(FROM)]);
    await w.time.run(50);
    const from = (await d).characteristics[0];
    const s = from.subscribeAsync();
    const failed = expect(s).rejects.toThrow(/disconnected/);
    await w.time.run(20);
    await failed;
    expect(lost).toBe(0x08);
    expect(w.events.at(-1)).toEqual(["disconnect", 0x08]);
    expect(w.radio.stats.linkLosses).toBe(1);
  });

  it("a full SoftDevice TX queue loses notifications silently, as Espruino ignores NRF_ERROR_RESOURCES", async () => {
    const w = world({ txQueue: 2 });
    varde(w.NRF, [], { encrypted: false });
    const p = await connect(w);
    const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(FROM)]);
    await w.time.run(50);
    const from = (await d).characteristics[0];
    const got: number[] = [];
    from.on("data", (b: Buffer) => got.push(b[0]));
    const s = from.subscribeAsync();
    await w.time.run(20);
    await s;
    for (let i = 1; i <= 5; i++) w.NRF.updateServices({ [SVC]: { [FROM]: { value: [i], notify: true } } });
    await w.time.run(20);
    w.NRF.updateServices({ [SVC]: { [FROM]: { value: [6], notify: true } } }); // the queue has drained
    await w.time.run(20);
    expect(got).toEqual([1, 2, 6]);
    expect(w.radio.stats.notificationsOverflowed).toBe(3);
  });

  it("power-off drops the link and forgets the GATT table; the address stays", async () => {
    const w = world();
    varde(w.NRF, []);
    const p = await connect(w);
    const addr = w.periph.address;
    let lost = false;
    p.once("disconnect", () => (lost = true));
    w.periph.powerOff();
    await w.time.run(10);
    expect(lost).toBe(true);
    expect(w.periph.isAdvertising()).toBe(false);
    expect(w.periph.services.size).toBe(0);
    expect(w.periph.address).toBe(addr);
  });
});
