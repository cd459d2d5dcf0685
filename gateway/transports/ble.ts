// BLE transport: the gateway is the BLE central, each Varde device (hardware/alarm-nrf52.toml) a
// peripheral with one service carrying the framed byte stream: the gateway writes to the `toDevice`
// characteristic and subscribes to notifications of `fromDevice`. One Link per connected device.
//
// * @abandonware/noble is optional and throws on load when no adapter is usable, so it is loaded lazily,
//   inside try/catch, on start(). Missing module / adapter / permission -> one clear log line naming the
//   fix, `unavailable` set, the gateway keeps running its other transports. Tests inject a noble
//   (simulator/ble FakeNoble) through `noble`.
// * Scan by the service UUID (duplicates allowed, so a device seen again after its backoff is retried),
//   connect one device at a time with the scan paused (an HCI controller handles one pending LE
//   connection, and many refuse to connect while scanning), discover the two
//   characteristics, subscribe, then hand the Link to the session. Every step has a timeout.
// * Stream: notifications are passed on in arrival order as "data"; a frame may span notifications, the
//   session's FrameParser reassembles it. Writes are split into chunks of the negotiated MTU-3 bytes and
//   written in order with response (one write at a time, so chunks of two write() calls never interleave).
// * Loss: the Link closes; the device is retried on its next advertisement after a backoff that doubles
//   per failed attempt (backoffMinMs..backoffMaxMs) and resets once a link stayed up `stableMs`.
import { BaseLink, type Link, type Transport } from "./transport.ts";
import { loadBoard } from "../../hardware/boards.ts";

/** The part of noble's API this transport uses (noble 1.9.2-26; also implemented by simulator/ble/fake-noble.ts). */
export interface NobleLike {
  readonly state: string;
  on(event: "stateChange", cb: (state: string) => void): unknown;
  on(event: "discover", cb: (p: NoblePeripheralLike) => void): unknown;
  removeListener(event: string, cb: (...args: any[]) => void): unknown;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

export interface NoblePeripheralLike {
  readonly id: string;
  readonly address: string;
  readonly advertisement: { localName?: string; serviceUuids?: string[] };
  readonly mtu: number | null;
  readonly state: string;
  connectAsync(): Promise<void>;
  cancelConnect(): void;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(serviceUuids: string[], charUuids: string[]): Promise<{ characteristics: NobleCharacteristicLike[] }>;
  once(event: "disconnect", cb: (reason?: unknown) => void): unknown;
  removeListener(event: string, cb: (...args: any[]) => void): unknown;
}

export interface NobleCharacteristicLike {
  readonly uuid: string;
  readonly properties: string[];
  subscribeAsync(): Promise<void>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  on(event: "data", cb: (data: Buffer, isNotification: boolean) => void): unknown;
  removeListener(event: string, cb: (...args: any[]) => void): unknown;
}

export interface BleTransportOptions {
  /** Varde service and characteristic UUIDs (hardware/alarm-nrf52.toml [data]); any spelling */
  service: string;
  toDevice: string;
  fromDevice: string;
  /** only connect to these addresses ("aa:bb:cc:dd:ee:ff"); empty or absent = every device with the service */
  addresses?: string[];
  /** a noble instance, or a loader; default: import("@abandonware/noble") */
  noble?: NobleLike | (() => Promise<NobleLike> | NobleLike);
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** a link that stayed up this long resets the backoff */
  stableMs?: number;
  connectTimeoutMs?: number;
  setupTimeoutMs?: number;
  writeTimeoutMs?: number;
  writeWithoutResponse?: boolean;
  /**
   * Pause scanning while a connection is set up (default true). Many HCI controllers refuse an LE
   * connection while scanning ("Command Disallowed", noble/noble#165, #658, abandonware/noble#254), and
   * some stop scanning after a connect (noble/noble#223), so the scan is restarted afterwards.
   */
  pauseScanToConnect?: boolean;
  /** time source for timeouts and backoff; default Node's clock (tests pass a virtual clock) */
  timers?: Timers;
  log?: (msg: string) => void;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Canonical noble spelling: lowercase hex, no dashes. */
export function nobleUuid(u: string): string {
  const s = u.toLowerCase().replace(/-/g, "").replace(/^0x/, "");
  if (!/^[0-9a-f]{4}$|^[0-9a-f]{32}$/.test(s)) throw new Error(`BLE transport: "${u}" is not a 16-bit or 128-bit UUID`);
  return s;
}

/**
 * Loads @abandonware/noble, turning its load-time failures into a message a person can act on.
 * Returns the module or a string explaining why BLE is unavailable.
 */
export async function loadNoble(): Promise<NobleLike | string> {
  const pkg = "@abandonware/noble";
  try {
    const mod = (await import(pkg)) as { default?: NobleLike } & NobleLike;
    return mod.default ?? mod;
  } catch (e) {
    return explainNobleError(e);
  }
}

export function explainNobleError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? String(e);
  if (err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "MODULE_NOT_FOUND" || /Cannot find (module|package) '@abandonware\/noble'/.test(msg)) {
    return "BLE transport unavailable: the optional package @abandonware/noble is not installed. Install it with `npm install @abandonware/noble` (Linux needs libbluetooth-dev, libudev-dev and build tools), or remove the BLE [[transport]] from gateway.toml.";
  }
  if (/EAFNOSUPPORT|Address family not supported/i.test(msg)) {
    return `BLE transport unavailable: no Bluetooth support on this machine (${msg}). Plug in or enable a Bluetooth adapter (check \`bluetoothctl show\` / \`rfkill list\`), or remove the BLE [[transport]] from gateway.toml.`;
  }
  if (/EPERM|EACCES|permission|not permitted/i.test(msg)) {
    return `BLE transport unavailable: no permission to use the Bluetooth adapter (${msg}). Run the gateway with CAP_NET_RAW: \`sudo setcap cap_net_raw+eip $(readlink -f $(which node))\`, or as the varde service user with AmbientCapabilities=CAP_NET_RAW (deploy/varde-gateway.service).`;
  }
  if (/ENODEV|No such device|EBUSY|busy/i.test(msg)) {
    return `BLE transport unavailable: the Bluetooth adapter cannot be opened (${msg}). Check it is present and up (\`bluetoothctl power on\`), and that no other program holds it; noble may need \`sudo systemctl stop bluetooth\` or NOBLE_HCI_DEVICE_ID=<n> for a second adapter.`;
  }
  return `BLE transport unavailable: loading @abandonware/noble failed (${msg}). Check the Bluetooth adapter and the noble installation, or remove the BLE [[transport]] from gateway.toml.`;
}

/** One connected device. Chunks writes to the link's payload size; buffers data until the session listens. */
export class BleLink extends BaseLink {
  private chain: Promise<void> = Promise.resolve();
  private early: Uint8Array[] | null = [];

  constructor(
    name: string,
    readonly address: string,
    private readonly peripheral: NoblePeripheralLike,
    private readonly toDevice: NobleCharacteristicLike,
    /** bytes per write: negotiated ATT MTU - 3 */
    readonly chunkSize: number,
    private readonly opts: { writeTimeoutMs: number; withoutResponse: boolean; timers: Timers },
  ) {
    super(name);
  }

  /** Notification payload from the device. */
  incoming(bytes: Uint8Array): void {
    if (this.early) this.early.push(bytes);
    else this.emitData(bytes);
  }

  /** The session has its listeners: deliver what arrived during set-up, then stream. */
  release(): void {
    const held = this.early ?? [];
    this.early = null;
    for (const b of held) this.emitData(b);
  }

  rawWrite(bytes: Uint8Array): Promise<void> {
    const copy = bytes.slice();
    const run = async () => {
      for (let i = 0; i < copy.length; i += this.chunkSize) {
        if (this.closed) throw new Error(`${this.name}: link closed during write`);
        const chunk = Buffer.from(copy.subarray(i, i + this.chunkSize));
        try {
          await withTimeout(this.opts.timers, this.toDevice.writeAsync(chunk, this.opts.withoutResponse), this.opts.writeTimeoutMs, `${this.name}: write`);
        } catch (e) {
          // A write that fails or hangs means the link is unusable; drop it so the device is reconnected.
          this.close();
          throw e;
        }
      }
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  rawClose(): void {
    this.peripheral.disconnectAsync().catch(() => undefined);
  }
}

interface DeviceEntry {
  peripheral: NoblePeripheralLike;
  state: "idle" | "connecting" | "connected";
  link: BleLink | null;
  failures: number;
  notBefore: number;
  connectedAt: number;
}

export class BleTransport implements Transport {
  readonly name: string;
  /** why BLE cannot run here (module/adapter), or null */
  unavailable: string | null = null;
  /** adapter state as last reported by noble */
  adapterState = "unknown";
  /** counters for metrics: links handed to the gateway, failed set-ups, links lost after coming up */
  readonly stats = { links: 0, setupFailures: 0, linksLost: 0 };
  private noble: NobleLike | null = null;
  private onLink: ((link: Link) => void) | null = null;
  private stopped = true;
  private devices = new Map<string, DeviceEntry>();
  private connecting = false;
  private scanning = false;
  private scanAnnounced = false;
  private readonly service: string;
  private readonly toUuid: string;
  private readonly fromUuid: string;
  private readonly allow: Set<string> | null;
  private readonly o: Required<Omit<BleTransportOptions, "noble" | "addresses" | "log" | "service" | "toDevice" | "fromDevice" | "timers">>;
  private readonly t: Timers;
  /** settles when the connection attempt in progress ends */
  private connectDone: Promise<void> = Promise.resolve();
  private readonly onState = (s: string) => this.stateChanged(s);
  private readonly onDiscover = (p: NoblePeripheralLike) => this.discovered(p);

  constructor(readonly opts: BleTransportOptions) {
    this.service = nobleUuid(opts.service);
    this.toUuid = nobleUuid(opts.toDevice);
    this.fromUuid = nobleUuid(opts.fromDevice);
    this.allow = opts.addresses && opts.addresses.length > 0 ? new Set(opts.addresses.map((a) => a.toLowerCase())) : null;
    this.o = {
      backoffMinMs: opts.backoffMinMs ?? 1000,
      backoffMaxMs: opts.backoffMaxMs ?? 60_000,
      stableMs: opts.stableMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 15_000,
      setupTimeoutMs: opts.setupTimeoutMs ?? 10_000,
      writeTimeoutMs: opts.writeTimeoutMs ?? 5_000,
      writeWithoutResponse: opts.writeWithoutResponse ?? false,
      pauseScanToConnect: opts.pauseScanToConnect ?? true,
    };
    this.name = `ble:${this.service}`;
    this.t = opts.timers ?? realTimers;
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  async start(onLink: (link: Link) => void): Promise<void> {
    this.onLink = onLink;
    this.stopped = false;
    let noble: NobleLike | string;
    try {
      const given = this.opts.noble;
      noble = given === undefined ? await loadNoble() : typeof given === "function" ? await given() : given;
    } catch (e) {
      noble = explainNobleError(e);
    }
    if (typeof noble === "string") {
      this.unavailable = noble;
      this.log(noble);
      return;
    }
    this.noble = noble;
    noble.on("stateChange", this.onState);
    noble.on("discover", this.onDiscover);
    let state: string;
    try {
      state = noble.state;
    } catch (e) {
      this.unavailable = explainNobleError(e);
      this.log(this.unavailable);
      return;
    }
    this.stateChanged(state);
  }

  private stateChanged(state: string): void {
    this.adapterState = state;
    if (this.stopped) return;
    if (state === "poweredOn") {
      this.unavailable = null;
      this.startScan();
    } else {
      this.scanning = false;
      this.scanAnnounced = false;
      // The adapter went away: every link is dead, whether or not noble reports each disconnect.
      for (const e of this.devices.values()) {
        if (e.link) {
          const link = e.link;
          e.link = null;
          link.markClosed();
          this.stats.linksLost++;
          this.log(`${link.name}: lost with the adapter (${state})`);
        }
        if (e.state === "connected") e.state = "idle";
      }
      if (state !== "unknown" && state !== "resetting") {
        this.unavailable = `BLE adapter is ${state}: ${state === "unauthorized" ? "grant the gateway Bluetooth permission (CAP_NET_RAW)" : state === "unsupported" ? "the adapter does not support Bluetooth Low Energy; use a BLE 4.0+ adapter" : "power it on (`bluetoothctl power on`, `rfkill unblock bluetooth`)"}; waiting for it`;
        this.log(this.unavailable);
      }
    }
  }

  private startScan(): void {
    if (!this.noble || this.scanning || this.stopped) return;
    this.scanning = true;
    this.noble.startScanningAsync([this.service], true).then(
      () => {
        if (!this.scanAnnounced) this.log(`${this.name}: scanning for devices`);
        this.scanAnnounced = true;
      },
      (e: Error) => {
        this.scanning = false;
        this.scanAnnounced = false;
        this.log(`${this.name}: cannot scan (${e.message}); will retry when the adapter reports poweredOn`);
      },
    );
  }

  private discovered(p: NoblePeripheralLike): void {
    if (this.stopped) return;
    const address = p.address.toLowerCase();
    if (this.allow && !this.allow.has(address)) return;
    const uuids = (p.advertisement?.serviceUuids ?? []).map((u) => u.toLowerCase().replace(/-/g, ""));
    if (uuids.length > 0 && !uuids.includes(this.service)) return;
    let e = this.devices.get(p.id);
    if (!e) {
      e = { peripheral: p, state: "idle", link: null, failures: 0, notBefore: 0, connectedAt: 0 };
      this.devices.set(p.id, e);
    }
    e.peripheral = p;
    if (e.state !== "idle" || this.t.now() < e.notBefore || this.connecting) return;
    this.connectDone = this.connect(e);
  }

  private async connect(e: DeviceEntry): Promise<void> {
    const p = e.peripheral;
    const address = p.address.toLowerCase();
    const name = `ble:${address}`;
    e.state = "connecting";
    this.connecting = true;
    let link: BleLink | null = null;
    let from: NobleCharacteristicLike | null = null;
    let lost = false;
    const onData = (data: Buffer) => link?.incoming(new Uint8Array(data.buffer, data.byteOffset, data.length));
    const onDisconnect = () => {
      lost = true;
      from?.removeListener("data", onData);
      if (e.link) {
        const up = this.t.now() - e.connectedAt;
        if (up >= this.o.stableMs) e.failures = 0;
        e.link.markClosed();
        e.link = null;
        this.stats.linksLost++;
        this.log(`${name}: disconnected after ${Math.round(up / 1000)} s`);
        this.backoff(e);
      }
    };
    try {
      if (this.o.pauseScanToConnect && this.scanning && this.noble) {
        this.scanning = false;
        await this.noble.stopScanningAsync().catch(() => undefined);
      }
      await withTimeout(this.t, p.connectAsync(), this.o.connectTimeoutMs, `${name}: connect`, () => p.cancelConnect());
      p.once("disconnect", onDisconnect);
      if (this.stopped) throw new Error("transport stopped");
      const { characteristics } = await withTimeout(this.t, p.discoverSomeServicesAndCharacteristicsAsync([this.service], [this.toUuid, this.fromUuid]), this.o.setupTimeoutMs, `${name}: service discovery`);
      const to = characteristics.find((c) => c.uuid === this.toUuid);
      from = characteristics.find((c) => c.uuid === this.fromUuid) ?? null;
      if (!to || !from) {
        throw new Error(`${name} advertises the Varde service but lacks characteristic ${!to ? this.toUuid : this.fromUuid}; its firmware does not match hardware/alarm-nrf52.toml [data]`);
      }
      const chunk = (p.mtu ?? 23) - 3;
      link = new BleLink(name, address, p, to, chunk, { writeTimeoutMs: this.o.writeTimeoutMs, withoutResponse: this.o.writeWithoutResponse, timers: this.t });
      from.on("data", onData);
      await withTimeout(this.t, from.subscribeAsync(), this.o.setupTimeoutMs, `${name}: subscribe`);
      if (lost) throw new Error("link lost during set-up");
      if (this.stopped) throw new Error("transport stopped");
      e.link = link;
      e.state = "connected";
      e.connectedAt = this.t.now();
      this.stats.links++;
      this.log(`${name}: connected (ATT MTU ${p.mtu ?? 23}, ${chunk}-byte chunks)`);
      this.onLink?.(link);
      link.release();
    } catch (err) {
      from?.removeListener("data", onData);
      p.removeListener("disconnect", onDisconnect);
      if (!this.stopped) {
        this.stats.setupFailures++;
        this.log(`${name}: ${(err as Error).message}`);
      }
      if (p.state === "connected") await settle(this.t, p.disconnectAsync(), this.o.setupTimeoutMs);
      e.link = null;
      this.backoff(e);
    } finally {
      this.connecting = false;
      if (!this.stopped && this.adapterState === "poweredOn") this.startScan();
    }
  }

  private backoff(e: DeviceEntry): void {
    e.state = "idle";
    const delay = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * Math.pow(2, e.failures));
    e.failures++;
    e.notBefore = this.t.now() + delay;
  }

  /** Devices currently connected (addresses). */
  connected(): string[] {
    return [...this.devices.values()].filter((e) => e.state === "connected").map((e) => e.peripheral.address.toLowerCase());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const noble = this.noble;
    if (!noble) return;
    noble.removeListener("stateChange", this.onState);
    noble.removeListener("discover", this.onDiscover);
    if (this.scanning) await noble.stopScanningAsync().catch(() => undefined);
    this.scanning = false;
    const waits: Promise<unknown>[] = [];
    for (const e of this.devices.values()) {
      if (e.state === "connecting") e.peripheral.cancelConnect();
      if (e.link) {
        const link = e.link;
        waits.push(new Promise<void>((r) => (link.closed ? r() : link.once("close", () => r()))));
        waits.push(settle(this.t, e.peripheral.disconnectAsync(), this.o.setupTimeoutMs));
      }
    }
    await Promise.all(waits);
    // A connect in progress finishes (cancelled) before stop resolves, so nothing is left behind.
    await this.connectDone;
    this.devices.clear();
    this.noble = null;
  }
}

/**
 * A BLE transport for the devices of one board (hardware/<board>.toml [data]: service, to_device,
 * from_device), e.g. for gateway.toml `[[transport]] type = "ble", board = "alarm-nrf52"`.
 */
export function bleTransportForBoard(boardId: string, opts: Omit<BleTransportOptions, "service" | "toDevice" | "fromDevice"> = {}): BleTransport {
  const b = loadBoard(boardId);
  const d = b.data;
  if (d.transport !== "ble" || !d.service || !d.to_device || !d.from_device) {
    throw new Error(`${b.file}: [data] transport = "${d.transport}" has no BLE service; a BLE [[transport]] needs a BLE board such as "alarm-nrf52"`);
  }
  return new BleTransport({ service: d.service, toDevice: d.to_device, fromDevice: d.from_device, ...opts });
}

/**
 * Waits for p at most `ms`, ignoring its outcome. noble's disconnectAsync() resolves only on a
 * "disconnect" event, which never comes for a link that is already gone.
 */
function settle(t: Timers, p: Promise<unknown>, ms: number): Promise<void> {
  return withTimeout(t, p, ms, "").then(
    () => undefined,
    () => undefined,
  );
}

/** Rejects after `ms` (calling onTimeout first); the timer never outlives the promise. */
function withTimeout<T>(timers: Timers, p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = timers.setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        timers.clearTimeout(t);
        resolve(v);
      },
      (err) => {
        timers.clearTimeout(t);
        reject(err);
      },
    );
  });
}
