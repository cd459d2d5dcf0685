// The GATT server and radio state of one simulated BLE peripheral (an nRF52 Espruino device). It knows
// nothing of Espruino's API (espruino-ble.ts maps NRF.* onto it) and nothing of noble (fake-noble.ts
// talks to it through the radio). It survives the device's power cycles: the address stays, the GATT
// table and the NRF listeners are rebuilt by the firmware after each boot, as on a real board.
import { normUuid } from "./bytes.ts";

/** Access rule of a characteristic value (Espruino's `security: {read: {...}, write: {...}}`). */
export interface AccessSecurity {
  encrypted: boolean;
  mitm: boolean;
}

export interface GattChar {
  uuid: string;
  readable: boolean;
  writable: boolean;
  notify: boolean;
  indicate: boolean;
  /** longest value in bytes; writes and updates beyond it are rejected */
  maxLen: number;
  value: Uint8Array;
  read: AccessSecurity;
  write: AccessSecurity;
}

export interface GattService {
  uuid: string;
  chars: Map<string, GattChar>;
}

/** Security settings from NRF.setSecurity. */
export interface PeripheralSecurity {
  mitm: boolean;
  passkey: string | null;
  bond: boolean;
  lesc: boolean;
  /** the Nordic UART service needs an encrypted link */
  encryptUart: boolean;
}

/** What the device side (the NRF globals) is told about; called from the radio's event delivery. */
export interface PeripheralHost {
  connect(centralAddress: string): void;
  disconnect(reason: number): void;
  security(status: { auth_status: number; bonded: boolean; mitm_protected: boolean }): void;
  write(service: string, char: string, bytes: Uint8Array): void;
}

/** The peripheral's view of its current connection (implemented by the radio). */
export interface PeripheralLink {
  readonly attMtu: number;
  readonly encrypted: boolean;
  readonly mitm: boolean;
  readonly centralAddress: string;
  /** queues a notification; false when the central has not subscribed or the TX queue is full (it is lost) */
  notify(service: string, char: string, bytes: Uint8Array): boolean;
  close(reason: number, fromPeripheral: boolean): void;
}

/** HCI reason codes Espruino passes to NRF.on("disconnect") */
export const REASON_REMOTE_TERMINATED = 0x13;
export const REASON_LOCAL_TERMINATED = 0x16;
export const REASON_CONNECTION_TIMEOUT = 0x08;

/** The Nordic UART service Espruino exposes by default (its REPL over BLE). */
export const NUS_SERVICE = "6e400001b5a3f393e0a9e50e24dcca9e";
export const NUS_RX = "6e400002b5a3f393e0a9e50e24dcca9e"; // central writes
export const NUS_TX = "6e400003b5a3f393e0a9e50e24dcca9e"; // peripheral notifies

export interface SimBlePeripheralOptions {
  /** BLE address, e.g. "c0:98:e5:49:00:01 random"; derived from `name` when omitted */
  address?: string;
  /** largest ATT MTU the peripheral accepts: 53 on an nRF52832 Espruino (50-byte notifications), 23 = BLE 4.0 default */
  attMtu?: number;
  /** advertised name before the firmware sets one (Espruino advertises "Puck.js xxxx") */
  name?: string;
  /**
   * Notifications the SoftDevice holds for sending (its HVN TX queue). One more while it is full is lost
   * without an error: Espruino's NRF.updateServices ignores NRF_ERROR_RESOURCES. S132 v5+ defaults to 1;
   * the size in Espruino's own SoftDevice set-up is not modelled, so the default is unlimited.
   */
  txQueue?: number;
}

export class SimBlePeripheral {
  readonly address: string;
  readonly attMtu: number;
  readonly txQueue: number;
  name: string;
  /** false while the device is powered off (no advertising, no connection) */
  powered = false;
  /** NRF.sleep(): radio off until NRF.wake() */
  sleeping = false;
  connectable = true;
  services = new Map<string, GattService>();
  /** services waiting for the link to go down (Espruino defers a GATT change while connected) */
  pendingServices: Map<string, GattService> | null = null;
  advertisedUuids: string[] = [];
  /** Espruino's default is the Nordic UART service with the REPL on it */
  uart = true;
  security: PeripheralSecurity = { mitm: false, passkey: null, bond: false, lesc: false, encryptUart: false };
  host: PeripheralHost | null = null;
  /** set by the radio while a central is connected */
  connection: PeripheralLink | null = null;

  /**
   * A peripheral for a board file (hardware/*.toml): its ATT MTU is the board's notification payload + 3
   * (53 on an nRF52832 Espruino), named like Espruino's default advertising name.
   */
  static forBoard(board: { id: string; data: { mtu_payload?: number } }, opts: { name?: string; address?: string; txQueue?: number } = {}): SimBlePeripheral {
    return new SimBlePeripheral({ attMtu: (board.data.mtu_payload ?? 20) + 3, name: opts.name ?? `Puck.js ${board.id}`, address: opts.address, txQueue: opts.txQueue });
  }

  constructor(opts: SimBlePeripheralOptions = {}) {
    this.name = opts.name ?? "Puck.js";
    this.attMtu = opts.attMtu ?? 23;
    this.txQueue = opts.txQueue ?? Infinity;
    this.address = opts.address ?? addressFromName(this.name);
  }

  /** Advertising is on while powered, awake, connectable and not connected (one link at a time, like Espruino). */
  isAdvertising(): boolean {
    return this.powered && !this.sleeping && this.connectable && this.connection === null;
  }

  /** GATT table as a central sees it, with the Nordic UART service when it is enabled. */
  gatt(): Map<string, GattService> {
    const all = new Map(this.services);
    if (this.uart) all.set(NUS_SERVICE, nusService(this.security.encryptUart));
    return all;
  }

  findChar(service: string, char: string): GattChar | null {
    const s = this.gatt().get(normUuid(service));
    return s ? s.chars.get(normUuid(char)) ?? null : null;
  }

  /** A new GATT table: applied at once, or when the current link ends (as Espruino's "BLE restart"). */
  setServices(services: Map<string, GattService>): void {
    if (this.connection) this.pendingServices = services;
    else this.services = services;
  }

  /** Called by the radio when the link ends. */
  linkEnded(): void {
    this.connection = null;
    if (this.pendingServices) {
      this.services = this.pendingServices;
      this.pendingServices = null;
    }
  }

  /** Power cycle: RAM state (GATT table, listeners, security) is gone; the address is not. */
  powerOff(): void {
    if (this.connection) this.connection.close(REASON_CONNECTION_TIMEOUT, true);
    this.powered = false;
    this.resetRam();
  }

  powerOn(): void {
    this.resetRam();
    this.powered = true;
  }

  private resetRam(): void {
    this.services = new Map();
    this.pendingServices = null;
    this.advertisedUuids = [];
    this.uart = true;
    this.sleeping = false;
    this.connectable = true;
    this.security = { mitm: false, passkey: null, bond: false, lesc: false, encryptUart: false };
    this.host = null;
  }
}

function nusService(encrypted: boolean): GattService {
  const sec = { encrypted, mitm: false };
  const chars = new Map<string, GattChar>();
  chars.set(NUS_RX, { uuid: NUS_RX, readable: false, writable: true, notify: false, indicate: false, maxLen: 244, value: new Uint8Array(0), read: sec, write: sec });
  chars.set(NUS_TX, { uuid: NUS_TX, readable: true, writable: false, notify: true, indicate: false, maxLen: 244, value: new Uint8Array(0), read: sec, write: sec });
  return { uuid: NUS_SERVICE, chars };
}

/** A stable random-static-looking address from a name, so runs are reproducible. */
function addressFromName(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  const b = [0xc0 | (h & 0x3f), (h >>> 8) & 0xff, (h >>> 16) & 0xff, (h >>> 24) & 0xff, name.length & 0xff, 0x01];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":") + " random";
}
