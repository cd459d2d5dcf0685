// A device end of a BLE link written in Node against the simulated Espruino NRF API, as the firmware
// would use it: the Varde service with a write characteristic (to the device) and a notify
// characteristic (from the device), Nordic UART off, encryption required. Used by the transport
// contract suite where the peer must be driven byte by byte; the end-to-end test runs the real bundle.
import { EventEmitter } from "node:events";
import { SimBlePeripheral, createEspruinoBle, type BleRadio, type EspruinoBleGlobals } from "../../simulator/ble/index.ts";

export const VARDE_BLE = {
  service: "6e6b0001-5661-7264-6521-a1a2a3a4a5a6",
  toDevice: "6e6b0002-5661-7264-6521-a1a2a3a4a5a6",
  fromDevice: "6e6b0003-5661-7264-6521-a1a2a3a4a5a6",
};

export interface BlePeerOptions {
  name?: string;
  /** 53 = nRF52832 Espruino (50-byte notifications) */
  attMtu?: number;
  encrypted?: boolean;
}

export class BlePeerDevice extends EventEmitter {
  readonly peripheral: SimBlePeripheral;
  private ble: EspruinoBleGlobals | null = null;
  private on_ = false;
  /** errors thrown by device-side callbacks */
  errors: unknown[] = [];

  constructor(readonly radio: BleRadio, readonly opts: BlePeerOptions = {}) {
    super();
    this.peripheral = new SimBlePeripheral({ name: opts.name ?? "Varde-peer", attMtu: opts.attMtu ?? 53 });
    radio.addPeripheral(this.peripheral);
  }

  get connected(): boolean {
    return this.peripheral.connection !== null;
  }

  powerOn(): void {
    this.on_ = true;
    const ble = createEspruinoBle(this.peripheral, {
      event: (fn, thisArg, args) =>
        setImmediate(() => {
          if (!this.on_) return;
          try {
            fn.apply(thisArg, args);
          } catch (e) {
            this.errors.push(e);
          }
        }),
      arrayBuffer: (bytes) => bytes.slice().buffer,
      alive: () => this.on_,
    });
    this.ble = ble;
    const NRF = ble.NRF as Record<string, (...a: unknown[]) => unknown>;
    const sec = this.opts.encrypted === false ? {} : { read: { encrypted: true }, write: { encrypted: true } };
    NRF.setServices(
      {
        [VARDE_BLE.service]: {
          [VARDE_BLE.toDevice]: { writable: true, maxLen: 50, value: [0], security: sec, onWrite: (evt: { data: ArrayBuffer }) => this.emit("data", new Uint8Array(evt.data)) },
          [VARDE_BLE.fromDevice]: { readable: true, notify: true, maxLen: 50, value: [0], security: sec },
        },
      },
      { uart: false, advertise: [VARDE_BLE.service] },
    );
    NRF.setSecurity({});
    NRF.on("connect", () => this.emit("connect"));
    NRF.on("disconnect", (reason: unknown) => this.emit("disconnect", reason));
  }

  powerOff(): void {
    this.on_ = false;
    this.ble = null;
    this.peripheral.powerOff();
  }

  /** Sends bytes as notifications of at most the link's payload size, like the firmware does. */
  write(bytes: Uint8Array): void {
    const c = this.peripheral.connection;
    if (!this.ble || !c) throw new Error("BLE peer: not connected");
    const NRF = this.ble.NRF as Record<string, (...a: unknown[]) => unknown>;
    const n = Math.min(50, c.attMtu - 3);
    for (let i = 0; i < bytes.length; i += n) {
      NRF.updateServices({ [VARDE_BLE.service]: { [VARDE_BLE.fromDevice]: { value: bytes.slice(i, i + n), notify: true } } });
    }
  }

  /** The device ends the link (NRF.disconnect()). */
  disconnect(): void {
    (this.ble?.NRF as Record<string, () => void> | undefined)?.disconnect();
  }
}
