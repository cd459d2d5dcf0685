// The simulated air between fake BLE centrals (fake-noble.ts) and simulated peripherals (peripheral.ts):
// advertising and scanning, connection set-up with MTU negotiation, pairing, and the packet flow of each
// connection, with seeded faults.
//
// Timing model (all delays through an injectable scheduler, so a virtual clock can drive it):
// * Advertising: every `advIntervalMs` each advertising peripheral is seen by every scanning central.
// * Connect: waits until the peripheral advertises, then takes `connectDelayMs`.
// * A connection runs connection events every `connectionIntervalMs`; each event carries at most
//   `packetsPerEvent` packets (notifications, writes, the CCCD write of a subscribe). A write with
//   response completes in the event that carries it, so a central that waits for each response sends at
//   most one write per event, as on real links. Packets are delivered in order, both directions.
// * Sizes: the ATT MTU is min(central's, peripheral's); a notification or write carries at most MTU-3
//   bytes. Larger ones are rejected (a real stack fails them too), so callers must chunk.
// Faults (probabilities per packet, drawn from a PRNG seeded by `seed`): notification dropped or one bit
// flipped, write corrupted, connection lost (supervision timeout, both sides see reason 0x08).
import { seededRng, type Rng } from "./rng.ts";
import { normUuid } from "./bytes.ts";
import {
  SimBlePeripheral,
  REASON_CONNECTION_TIMEOUT,
  REASON_LOCAL_TERMINATED,
  REASON_REMOTE_TERMINATED,
  type GattChar,
  type PeripheralLink,
} from "./peripheral.ts";

export interface BleScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's own timers: the radio runs in real time. */
export const realtimeScheduler: BleScheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface BleFaults {
  /** probability a notification is lost */
  notifyDrop: number;
  /** probability a notification arrives with one bit flipped */
  notifyCorrupt: number;
  /** probability a write arrives with one bit flipped */
  writeCorrupt: number;
  /** probability, per packet, that the connection is lost */
  disconnectPerPacket: number;
}

export interface BleRadioOptions {
  seed?: number;
  scheduler?: BleScheduler;
  advIntervalMs?: number;
  connectDelayMs?: number;
  connectionIntervalMs?: number;
  packetsPerEvent?: number;
  faults?: Partial<BleFaults>;
}

/** The central's side, implemented by FakeNoble. */
export interface CentralPort {
  readonly address: string;
  /** largest ATT MTU the central asks for (noble on Linux: 256) */
  readonly maxAttMtu: number;
  /** "justworks": pairs without user input when a characteristic needs encryption (as noble's HCI stack does) */
  readonly pairing: "justworks" | "none";
  /** passkey the central can enter for MITM-protected pairing, or null */
  readonly passkey: string | null;
  advertisement(p: SimBlePeripheral): void;
}

/** What a connection tells the central side. */
export interface CentralHandler {
  data(service: string, char: string, bytes: Uint8Array): void;
  disconnect(reason: number): void;
}

export interface RadioStats {
  notifications: number;
  notificationsDropped: number;
  notificationsCorrupted: number;
  /** lost because the peripheral's TX queue was full (SimBlePeripheral txQueue) */
  notificationsOverflowed: number;
  writes: number;
  writesCorrupted: number;
  connections: number;
  linkLosses: number;
}

export class BleError extends Error {
  constructor(message: string, readonly attCode?: number) {
    super(message);
    this.name = "BleError";
  }
}

interface PendingConnect {
  central: CentralPort;
  peripheral: SimBlePeripheral;
  handler: CentralHandler;
  resolve(c: BleConnection): void;
  reject(e: Error): void;
  timer: unknown;
}

export class BleRadio {
  readonly scheduler: BleScheduler;
  readonly rng: Rng;
  readonly advIntervalMs: number;
  readonly connectDelayMs: number;
  readonly connectionIntervalMs: number;
  readonly packetsPerEvent: number;
  faults: BleFaults;
  readonly stats: RadioStats = { notifications: 0, notificationsDropped: 0, notificationsCorrupted: 0, notificationsOverflowed: 0, writes: 0, writesCorrupted: 0, connections: 0, linkLosses: 0 };
  readonly peripherals = new Set<SimBlePeripheral>();
  readonly connections = new Set<BleConnection>();
  private scanners = new Set<CentralPort>();
  private pending = new Set<PendingConnect>();
  private advTimer: unknown = null;

  constructor(opts: BleRadioOptions = {}) {
    this.scheduler = opts.scheduler ?? realtimeScheduler;
    this.rng = seededRng(opts.seed ?? 1);
    this.advIntervalMs = opts.advIntervalMs ?? 100;
    this.connectDelayMs = opts.connectDelayMs ?? 30;
    this.connectionIntervalMs = opts.connectionIntervalMs ?? 7.5;
    this.packetsPerEvent = opts.packetsPerEvent ?? 4;
    this.faults = { notifyDrop: 0, notifyCorrupt: 0, writeCorrupt: 0, disconnectPerPacket: 0, ...opts.faults };
  }

  addPeripheral(p: SimBlePeripheral): void {
    this.peripherals.add(p);
  }

  removePeripheral(p: SimBlePeripheral): void {
    if (p.connection) p.connection.close(REASON_CONNECTION_TIMEOUT, true);
    this.peripherals.delete(p);
  }

  startScan(central: CentralPort): void {
    this.scanners.add(central);
    this.armAir();
  }

  stopScan(central: CentralPort): void {
    this.scanners.delete(central);
  }

  isScanning(central: CentralPort): boolean {
    return this.scanners.has(central);
  }

  /** Nothing scheduled and nothing connected: lets tests prove that stop() released everything. */
  get idle(): boolean {
    return this.scanners.size === 0 && this.pending.size === 0 && this.connections.size === 0;
  }

  /**
   * Connects when the peripheral next advertises (like an LE Create Connection, it waits without a
   * timeout until cancelled). Returns a cancel function and a promise.
   */
  connect(central: CentralPort, peripheral: SimBlePeripheral, handler: CentralHandler): { promise: Promise<BleConnection>; cancel(): void } {
    let pc!: PendingConnect;
    const promise = new Promise<BleConnection>((resolve, reject) => {
      pc = { central, peripheral, handler, resolve, reject, timer: null };
    });
    this.pending.add(pc);
    this.armAir();
    return {
      promise,
      cancel: () => {
        if (!this.pending.has(pc)) return;
        this.pending.delete(pc);
        if (pc.timer !== null) this.scheduler.clearTimeout(pc.timer);
        pc.reject(new BleError("connection canceled"));
      },
    };
  }

  /** Drops the connection of the peripheral with this address, as if it went out of range. */
  dropConnection(address: string): boolean {
    for (const c of this.connections) {
      if (c.peripheral.address === address && c.open) {
        c.close(REASON_CONNECTION_TIMEOUT, false);
        return true;
      }
    }
    return false;
  }

  /** Drops every connection (e.g. the central's adapter was reset). */
  dropAll(): void {
    for (const c of [...this.connections]) c.close(REASON_CONNECTION_TIMEOUT, false);
  }

  private armAir(): void {
    if (this.advTimer !== null) return;
    if (this.scanners.size === 0 && this.pending.size === 0) return;
    this.advTimer = this.scheduler.setTimeout(() => {
      this.advTimer = null;
      this.airTick();
      this.armAir();
    }, this.advIntervalMs);
  }

  private airTick(): void {
    for (const p of this.peripherals) {
      if (!p.isAdvertising()) continue;
      for (const s of [...this.scanners]) if (this.scanners.has(s)) s.advertisement(p);
    }
    for (const pc of [...this.pending]) {
      if (pc.timer !== null || !pc.peripheral.isAdvertising()) continue;
      pc.timer = this.scheduler.setTimeout(() => {
        pc.timer = null;
        if (!this.pending.has(pc)) return;
        if (!pc.peripheral.isAdvertising()) return; // taken or gone meanwhile: wait for the next advertisement
        this.pending.delete(pc);
        const c = new BleConnection(this, pc.central, pc.peripheral, pc.handler);
        this.connections.add(c);
        this.stats.connections++;
        pc.peripheral.connection = c;
        // Espruino reports the peer as "aa:bb:cc:dd:ee:ff public" (or "random")
        const addr = pc.central.address.includes(" ") ? pc.central.address : pc.central.address + " public";
        pc.peripheral.host?.connect(addr);
        pc.resolve(c);
      }, this.connectDelayMs);
    }
  }

  /** one bit flipped at a random position */
  corrupt(bytes: Uint8Array): Uint8Array {
    const out = bytes.slice();
    if (out.length === 0) return out;
    const i = Math.floor(this.rng() * out.length);
    out[i] ^= 1 << Math.floor(this.rng() * 8);
    return out;
  }

  chance(p: number): boolean {
    return p > 0 && this.rng() < p;
  }

  forget(c: BleConnection): void {
    this.connections.delete(c);
  }
}

type Packet = () => void;

/** One central–peripheral link. */
export class BleConnection implements PeripheralLink {
  readonly attMtu: number;
  encrypted = false;
  mitm = false;
  open = true;
  readonly subscriptions = new Set<string>();
  /** notifications waiting for a connection event (the SoftDevice's TX queue) */
  private pendingNotifies = 0;
  private queue: Packet[] = [];
  private timer: unknown = null;
  private failers = new Set<(e: Error) => void>();

  constructor(
    readonly radio: BleRadio,
    readonly central: CentralPort,
    readonly peripheral: SimBlePeripheral,
    readonly handler: CentralHandler,
  ) {
    this.attMtu = Math.max(23, Math.min(central.maxAttMtu, peripheral.attMtu));
  }

  get centralAddress(): string {
    return this.central.address;
  }

  /** Largest notification or write payload on this link. */
  get payloadSize(): number {
    return this.attMtu - 3;
  }

  // ----- peripheral side -----

  notify(service: string, char: string, bytes: Uint8Array): boolean {
    const key = normUuid(service) + "/" + normUuid(char);
    if (!this.open || !this.subscriptions.has(key)) return false;
    if (bytes.length > this.payloadSize) {
      throw new BleError(`notification of ${bytes.length} bytes exceeds this connection's ${this.payloadSize}-byte payload (ATT MTU ${this.attMtu}); send it in chunks`);
    }
    if (this.pendingNotifies >= this.peripheral.txQueue) {
      this.radio.stats.notificationsOverflowed++;
      return false;
    }
    this.pendingNotifies++;
    const copy = bytes.slice();
    this.send(() => {
      this.pendingNotifies--;
      this.radio.stats.notifications++;
      if (this.radio.chance(this.radio.faults.notifyDrop)) {
        this.radio.stats.notificationsDropped++;
        return;
      }
      let data: Uint8Array = copy;
      if (this.radio.chance(this.radio.faults.notifyCorrupt)) {
        this.radio.stats.notificationsCorrupted++;
        data = this.radio.corrupt(copy);
      }
      this.handler.data(normUuid(service), normUuid(char), data);
    });
    return true;
  }

  // ----- central side -----

  /** Writes one value; resolves when the peripheral has it (with response) or when it is sent (without). */
  write(service: string, char: string, bytes: Uint8Array, withoutResponse: boolean): Promise<void> {
    const c = this.lookup(service, char);
    if (!c.writable) return Promise.reject(new BleError(`characteristic ${c.uuid} is not writable (ATT 0x03 write not permitted)`, 0x03));
    if (bytes.length > this.payloadSize) {
      return Promise.reject(new BleError(`write of ${bytes.length} bytes exceeds the ${this.payloadSize}-byte payload of ATT MTU ${this.attMtu}; send it in chunks`));
    }
    if (bytes.length > c.maxLen) {
      return Promise.reject(new BleError(`write of ${bytes.length} bytes exceeds characteristic ${c.uuid} maxLen ${c.maxLen} (ATT 0x0d invalid attribute value length)`, 0x0d));
    }
    const copy = bytes.slice();
    return this.request(c.write, (done) => {
      this.radio.stats.writes++;
      let data: Uint8Array = copy;
      if (this.radio.chance(this.radio.faults.writeCorrupt)) {
        this.radio.stats.writesCorrupted++;
        data = this.radio.corrupt(copy);
      }
      c.value = data;
      this.peripheral.host?.write(normUuid(service), c.uuid, data);
      done();
    }, withoutResponse);
  }

  /** Enables or disables notifications (a CCCD write, under the value's read permission). */
  subscribe(service: string, char: string, on: boolean): Promise<void> {
    const c = this.lookup(service, char);
    if (!c.notify && !c.indicate) return Promise.reject(new BleError(`characteristic ${c.uuid} does not notify`));
    const key = normUuid(service) + "/" + c.uuid;
    return this.request(c.read, (done) => {
      if (on) this.subscriptions.add(key);
      else this.subscriptions.delete(key);
      done();
    }, false);
  }

  /** The central or the peripheral ends the link; both sides are told, pending requests fail. */
  close(reason: number, fromPeripheral: boolean): void {
    if (!this.open) return;
    this.open = false;
    if (this.timer !== null) this.radio.scheduler.clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.radio.forget(this);
    if (reason === REASON_CONNECTION_TIMEOUT) this.radio.stats.linkLosses++;
    const err = new BleError("disconnected");
    for (const f of [...this.failers]) f(err);
    this.failers.clear();
    const host = this.peripheral.host;
    this.peripheral.linkEnded();
    const forPeripheral = reason === REASON_CONNECTION_TIMEOUT ? reason : fromPeripheral ? REASON_LOCAL_TERMINATED : REASON_REMOTE_TERMINATED;
    const forCentral = reason === REASON_CONNECTION_TIMEOUT ? reason : fromPeripheral ? REASON_REMOTE_TERMINATED : REASON_LOCAL_TERMINATED;
    host?.disconnect(forPeripheral);
    this.handler.disconnect(forCentral);
  }

  private lookup(service: string, char: string): GattChar {
    const c = this.peripheral.findChar(service, char);
    if (!c) throw new BleError(`no characteristic ${normUuid(char)} in service ${normUuid(service)} on ${this.peripheral.address}`);
    return c;
  }

  /**
   * Runs an ATT request as one packet after the link security it needs is in place: an unencrypted link
   * is paired first (Just Works, or with the central's passkey when MITM protection is required).
   */
  private request(need: { encrypted: boolean; mitm: boolean }, op: (done: () => void) => void, withoutResponse: boolean): Promise<void> {
    if (!this.open) return Promise.reject(new BleError("disconnected"));
    const mitmNeeded = need.mitm || (need.encrypted && this.peripheral.security.mitm && this.peripheral.security.passkey !== null);
    return new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        this.failers.delete(fail);
        reject(e);
      };
      this.failers.add(fail);
      const finish = () => {
        this.failers.delete(fail);
        resolve();
      };
      const run = () => {
        op(withoutResponse ? () => {} : finish);
      };
      if (need.encrypted && (!this.encrypted || (mitmNeeded && !this.mitm))) {
        if (this.central.pairing === "none") {
          fail(new BleError("insufficient encryption (ATT 0x0f): the characteristic needs an encrypted link and the central does not pair", 0x0f));
          return;
        }
        if (mitmNeeded && this.central.passkey !== this.peripheral.security.passkey) {
          fail(new BleError("insufficient authentication (ATT 0x05): MITM pairing needs the device's passkey", 0x05));
          return;
        }
        this.send(() => {
          this.encrypted = true;
          this.mitm = mitmNeeded;
          this.peripheral.host?.security({ auth_status: 0, bonded: this.peripheral.security.bond, mitm_protected: mitmNeeded });
        });
      }
      this.send(run);
      if (withoutResponse) finish();
    });
  }

  private send(p: Packet): void {
    this.queue.push(p);
    this.arm();
  }

  private arm(): void {
    if (this.timer !== null || !this.open || this.queue.length === 0) return;
    this.timer = this.radio.scheduler.setTimeout(() => {
      this.timer = null;
      this.connectionEvent();
      this.arm();
    }, this.radio.connectionIntervalMs);
  }

  private connectionEvent(): void {
    const batch = this.queue.splice(0, this.radio.packetsPerEvent);
    for (let i = 0; i < batch.length; i++) {
      if (!this.open) return;
      if (this.radio.chance(this.radio.faults.disconnectPerPacket)) {
        this.close(REASON_CONNECTION_TIMEOUT, false);
        return;
      }
      batch[i]();
    }
  }
}
