// A fake BLE central with the part of @abandonware/noble's API that gateway/transports/ble.ts uses
// (see NobleLike there), linked to simulated peripherals through a BleRadio. Behaviour copied from noble:
// * UUIDs are lowercase hex without dashes; one Peripheral object per address for the central's life.
// * startScanningAsync(uuids, allowDuplicates): "discover" for peripherals advertising one of the uuids;
//   without allowDuplicates each address is reported once per scan.
// * connectAsync() waits until the device advertises (no timeout: callers use cancelConnect()).
// * peripheral.mtu is the negotiated ATT MTU after connect; "disconnect" is emitted on any link loss.
// * characteristic "data" events carry (Buffer, isNotification).
// * disconnectAsync() resolves on the next "disconnect" event only (never, without a connection).
// Unlike noble, requests pending on a link that drops are rejected at once (noble may leave them
// hanging; ble.ts guards with timeouts anyway).
import { EventEmitter } from "node:events";
import { normUuid } from "./bytes.ts";
import { BleError, type BleConnection, type BleRadio, type CentralPort } from "./radio.ts";
import { NUS_SERVICE, type SimBlePeripheral } from "./peripheral.ts";

export interface FakeNobleOptions {
  /** the central's own address */
  address?: string;
  /** ATT MTU the central requests; noble on Linux asks for 256 */
  maxAttMtu?: number;
  pairing?: "justworks" | "none";
  passkey?: string | null;
  /** adapter state at start; "poweredOff" models a disabled adapter */
  state?: "poweredOn" | "poweredOff" | "unauthorized" | "unsupported";
}

export class FakeNoble extends EventEmitter implements CentralPort {
  readonly address: string;
  readonly maxAttMtu: number;
  readonly pairing: "justworks" | "none";
  readonly passkey: string | null;
  state: string;
  private known = new Map<string, FakePeripheral>();
  private seen = new Set<string>();
  private scanUuids: string[] = [];
  private allowDuplicates = false;

  constructor(readonly radio: BleRadio, opts: FakeNobleOptions = {}) {
    super();
    this.address = opts.address ?? "00:1a:7d:da:71:01";
    this.maxAttMtu = opts.maxAttMtu ?? 256;
    this.pairing = opts.pairing ?? "justworks";
    this.passkey = opts.passkey ?? null;
    this.state = opts.state ?? "poweredOn";
  }

  /** Test hook: the adapter changes state (e.g. rfkill), as noble reports it. */
  setState(state: "poweredOn" | "poweredOff"): void {
    if (state === this.state) return;
    this.state = state;
    if (state !== "poweredOn") {
      this.radio.stopScan(this);
      for (const p of this.known.values()) p.adapterLost();
    }
    this.emit("stateChange", state);
  }

  async startScanningAsync(serviceUuids: string[] = [], allowDuplicates = false): Promise<void> {
    if (this.state !== "poweredOn") throw new Error(`Could not start scanning, state is ${this.state} (not poweredOn)`);
    this.scanUuids = serviceUuids.map(normUuid);
    this.allowDuplicates = allowDuplicates;
    this.seen.clear();
    this.radio.startScan(this);
    this.emit("scanStart");
  }

  async stopScanningAsync(): Promise<void> {
    if (!this.radio.isScanning(this)) return;
    this.radio.stopScan(this);
    this.emit("scanStop");
  }

  /** Called by the radio for each advertisement heard. */
  advertisement(p: SimBlePeripheral): void {
    const uuids = p.advertisedUuids.map(normUuid);
    // Espruino puts the Nordic UART UUID in its scan response while the UART is enabled.
    if (p.uart && !uuids.includes(NUS_SERVICE)) uuids.push(NUS_SERVICE);
    if (this.scanUuids.length > 0 && !this.scanUuids.some((u) => uuids.includes(u))) return;
    if (!this.allowDuplicates && this.seen.has(p.address)) return;
    this.seen.add(p.address);
    let fp = this.known.get(p.address);
    if (!fp) {
      fp = new FakePeripheral(this, p);
      this.known.set(p.address, fp);
    }
    fp.advertisement = { localName: p.name, serviceUuids: uuids, serviceData: [], manufacturerData: undefined, txPowerLevel: undefined };
    fp.rssi = -60 - Math.floor(this.radio.rng() * 20);
    this.emit("discover", fp);
  }

  /** Peripherals this central has heard, by address (for tests). */
  peripheral(address: string): FakePeripheral | undefined {
    return this.known.get(address);
  }
}

export interface FakeAdvertisement {
  localName: string;
  serviceUuids: string[];
  serviceData: { uuid: string; data: Buffer }[];
  manufacturerData: Buffer | undefined;
  txPowerLevel: number | undefined;
}

export class FakePeripheral extends EventEmitter {
  readonly id: string;
  readonly uuid: string;
  readonly address: string;
  readonly addressType: string;
  connectable = true;
  advertisement: FakeAdvertisement = { localName: "", serviceUuids: [], serviceData: [], manufacturerData: undefined, txPowerLevel: undefined };
  rssi = -70;
  mtu: number | null = null;
  state: "disconnected" | "connecting" | "connected" | "disconnecting" = "disconnected";
  private conn: BleConnection | null = null;
  private cancel: (() => void) | null = null;
  private chars = new Map<string, FakeCharacteristic>();

  constructor(readonly central: FakeNoble, readonly sim: SimBlePeripheral) {
    super();
    const [addr, type] = sim.address.split(" ");
    this.address = addr;
    this.addressType = type ?? "public";
    this.id = addr.replace(/:/g, "");
    this.uuid = this.id;
  }

  async connectAsync(): Promise<void> {
    if (this.central.state !== "poweredOn") throw new Error(`cannot connect: adapter state is ${this.central.state}`);
    if (this.state === "connected") return;
    if (this.state === "connecting") throw new Error(`already connecting to ${this.address}`);
    this.state = "connecting";
    const req = this.central.radio.connect(this.central, this.sim, {
      data: (service, char, bytes) => {
        const c = this.chars.get(service + "/" + char);
        if (c) c.emit("data", Buffer.from(bytes), true);
      },
      disconnect: (reason) => {
        this.conn = null;
        this.mtu = null;
        this.state = "disconnected";
        this.chars.clear();
        this.emit("disconnect", reason);
      },
    });
    this.cancel = req.cancel;
    try {
      this.conn = await req.promise;
    } catch (e) {
      this.state = "disconnected";
      throw e;
    } finally {
      this.cancel = null;
    }
    this.mtu = this.conn.attMtu;
    this.state = "connected";
    this.emit("connect");
  }

  /** Aborts a pending connectAsync() (it rejects with "connection canceled"). */
  cancelConnect(): void {
    if (this.cancel) this.cancel();
  }

  /**
   * Like noble: resolves on the next "disconnect" event, so without a connection it never resolves
   * (callers must not wait on it unguarded); a pending connect is not cancelled by it.
   */
  disconnectAsync(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.once("disconnect", () => resolve());
      if (!this.conn) return;
      this.state = "disconnecting";
      this.conn.close(0x16, false);
    });
  }

  async discoverSomeServicesAndCharacteristicsAsync(serviceUuids: string[], charUuids: string[]): Promise<{ services: FakeService[]; characteristics: FakeCharacteristic[] }> {
    const conn = this.requireConn();
    const wantS = serviceUuids.map(normUuid);
    const wantC = charUuids.map(normUuid);
    const services: FakeService[] = [];
    const characteristics: FakeCharacteristic[] = [];
    for (const s of conn.peripheral.gatt().values()) {
      if (wantS.length > 0 && !wantS.includes(s.uuid)) continue;
      const fs = new FakeService(s.uuid);
      services.push(fs);
      for (const c of s.chars.values()) {
        if (wantC.length > 0 && !wantC.includes(c.uuid)) continue;
        const props: string[] = [];
        if (c.readable) props.push("read");
        if (c.writable) props.push("write", "writeWithoutResponse");
        if (c.notify) props.push("notify");
        if (c.indicate) props.push("indicate");
        const fc = new FakeCharacteristic(this, s.uuid, c.uuid, props);
        this.chars.set(s.uuid + "/" + c.uuid, fc);
        fs.characteristics.push(fc);
        characteristics.push(fc);
      }
    }
    // Discovery costs a few round trips on a real link.
    await new Promise<void>((resolve) => this.central.radio.scheduler.setTimeout(resolve, this.central.radio.connectionIntervalMs * 4));
    if (this.conn !== conn) throw new BleError("disconnected during service discovery");
    return { services, characteristics };
  }

  requireConn(): BleConnection {
    if (!this.conn || !this.conn.open) throw new BleError(`peripheral ${this.address} is not connected`);
    return this.conn;
  }

  adapterLost(): void {
    if (this.cancel) this.cancel();
    if (this.conn) this.conn.close(0x08, false);
  }
}

export class FakeService {
  characteristics: FakeCharacteristic[] = [];
  constructor(readonly uuid: string) {}
}

export class FakeCharacteristic extends EventEmitter {
  constructor(
    private readonly owner: FakePeripheral,
    readonly serviceUuid: string,
    readonly uuid: string,
    readonly properties: string[],
  ) {
    super();
  }

  async subscribeAsync(): Promise<void> {
    await this.owner.requireConn().subscribe(this.serviceUuid, this.uuid, true);
  }

  async writeAsync(data: Buffer | Uint8Array, withoutResponse: boolean): Promise<void> {
    await this.owner.requireConn().write(this.serviceUuid, this.uuid, new Uint8Array(data), withoutResponse);
  }
}
