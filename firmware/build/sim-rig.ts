// Test support (Node): runs a real firmware bundle in the simulator's SimDevice with a provisioned
// identity, wired to a FakeGateway over the board's data port: an in-memory serial link for serial
// boards, or the simulated BLE radio + fake noble central for BLE boards (NRF/Bluetooth globals from
// simulator/ble's bleProvider). Used by the firmware's simulator tests.
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../../simulator/index.ts";
import { BleRadio, SimBlePeripheral, FakeNoble, bleProvider, clockScheduler, type FakeCharacteristic } from "../../simulator/ble/index.ts";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { FakeGateway } from "./fake-gateway.ts";

export interface SimRigOptions {
  board: string;
  code: string;
  id?: number;
  /** 64 hex chars */
  key?: string;
  seed?: number;
  /** the gateway double acks reliable frames */
  autoAck?: boolean;
  clock?: VirtualClock;
  /** BLE: whether the fake central pairs (encrypts the link) when a characteristic needs it */
  pairing?: "justworks" | "none";
  /** BLE: notifications the SoftDevice holds (one more is lost silently); unlimited when omitted */
  txQueue?: number;
}

export class SimRig {
  board: Board;
  clock: VirtualClock;
  dev: SimDevice;
  gw: FakeGateway;
  key: Uint8Array;
  /** BLE only */
  radio: BleRadio | null = null;
  central: FakeNoble | null = null;
  periph: SimBlePeripheral | null = null;
  private toDevice: FakeCharacteristic | null = null;
  /** the central's handle on the device while connected (BLE only) */
  blePeer: any = null;
  private gatewayOn = true;
  /** sends bytes to the device over the board's data port */
  send: (bytes: Uint8Array) => void = () => {};

  constructor(opts: SimRigOptions) {
    this.board = loadBoard(opts.board);
    this.clock = opts.clock ?? new VirtualClock({ seed: opts.seed ?? 1 });
    const keyHex = opts.key ?? "ab".repeat(32);
    this.key = new Uint8Array(Buffer.from(keyHex, "hex"));
    this.gw = new FakeGateway(this.key, opts.autoAck ?? true);
    const fromDevice = (b: Uint8Array) => {
      if (!this.gatewayOn) return;
      this.gw.feed([b]);
      for (const f of this.gw.replies.splice(0)) this.send(f);
    };
    if (this.board.data.transport === "ble") {
      this.radio = new BleRadio({ scheduler: clockScheduler(this.clock), seed: opts.seed ?? 1 });
      this.periph = SimBlePeripheral.forBoard(this.board, { txQueue: opts.txQueue });
      this.radio.addPeripheral(this.periph);
      this.central = new FakeNoble(this.radio, { maxAttMtu: 256, pairing: opts.pairing ?? "justworks" });
      this.dev = new SimDevice({ board: this.board, clock: this.clock, providers: [bleProvider(this.periph)], memoryRefreshMs: 0 });
      this.onBle = fromDevice;
    } else {
      const [devEnd, gwEnd] = createMemoryLinkPair(this.clock);
      this.dev = new SimDevice({ board: this.board, clock: this.clock, link: devEnd, memoryRefreshMs: 0 });
      gwEnd.onData(fromDevice);
      this.send = (b) => gwEnd.write(b);
    }
    this.dev.flash.write("varde.id", new Uint8Array(Buffer.from(JSON.stringify({ id: opts.id ?? 7, key: keyHex, kind: this.board.kind }))));
    this.dev.install(opts.code);
  }

  private onBle: (b: Uint8Array) => void = () => {};

  /** Connects the fake central: scan by the Varde service, connect (pairs), subscribe. Runs the clock. */
  async connectBle(maxMs = 30000): Promise<void> {
    const central = this.central!;
    const data = this.board.data;
    const svc = data.service!.replace(/-/g, "");
    const found = new Promise<any>((resolve) => central.once("discover", resolve));
    await central.startScanningAsync([svc], false);
    const p = await this.until(found, maxMs);
    await central.stopScanningAsync();
    await this.until(p.connectAsync(), maxMs);
    this.blePeer = p;
    const r: any = await this.until(
      p.discoverSomeServicesAndCharacteristicsAsync([svc], [data.to_device!.replace(/-/g, ""), data.from_device!.replace(/-/g, "")]),
      maxMs,
    );
    const chars = r.characteristics as FakeCharacteristic[];
    const from = chars.find((c: any) => c.uuid === data.from_device!.replace(/-/g, ""))!;
    this.toDevice = chars.find((c: any) => c.uuid === data.to_device!.replace(/-/g, ""))!;
    from.on("data", (b: Buffer) => this.onBle(new Uint8Array(b)));
    await this.until(from.subscribeAsync(), maxMs);
    this.send = (b) => {
      const n = data.mtu_payload ?? 20;
      for (let i = 0; i < b.length; i += n) void this.toDevice!.writeAsync(Buffer.from(b.subarray(i, i + n)), false).catch(() => {});
    };
  }

  /** The central drops the BLE connection (as a gateway restart or radio loss would). */
  async disconnectBle(): Promise<void> {
    const p = this.blePeer;
    this.blePeer = null;
    if (p) await this.until(p.disconnectAsync(), 10000);
  }

  /** Runs the virtual clock until the promise settles (or maxMs of virtual time pass). */
  async until<T>(p: Promise<T>, maxMs: number): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    p.then(
      (v) => {
        done = true;
        value = v;
      },
      (e) => {
        done = true;
        failed = true;
        error = e;
      },
    );
    for (let t = 0; t < maxMs && !done; t += 10) {
      this.clock.runFor(10);
      await new Promise((r) => setImmediate(r));
    }
    if (!done) throw new Error(`sim rig: nothing happened within ${maxMs} ms of virtual time`);
    if (failed) throw error;
    return value as T;
  }

  /** Lets virtual time pass, yielding to Node so promise-based BLE callbacks run. */
  async run(ms: number): Promise<void> {
    const step = this.radio ? 20 : ms;
    for (let t = 0; t < ms; t += step) {
      this.clock.runFor(Math.min(step, ms - t));
      if (this.radio) await new Promise((r) => setImmediate(r));
    }
  }

  setGateway(on: boolean): void {
    this.gatewayOn = on;
  }

  /** Current LED levels [red, green, blue]. */
  leds(): boolean[] {
    return [this.dev.led("led_red").on, this.dev.led("led_green").on, this.dev.led("led_blue").on];
  }

  /** process.memory() inside the device (the simulator's JsVar estimate). */
  memory(): { free: number; usage: number; total: number } {
    return JSON.parse(this.dev.evaluate("JSON.stringify(process.memory())") as string);
  }
}
