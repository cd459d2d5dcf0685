// Espruino's BLE globals for a simulated nRF52 device: `NRF` and `Bluetooth` (the Nordic UART serial),
// mapped onto a SimBlePeripheral. Semantics follow Espruino 2v29 on nRF52 as documented:
// * NRF.setServices(services, {uart, advertise}) replaces the GATT table; while connected the change waits
//   for the link to end (Espruino queues a "BLE restart"). `uart: false` removes the Nordic UART service
//   (and with it the REPL over BLE). Characteristic options: value, maxLen (default: the initial value's
//   length, or 20 without a value), readable, writable, notify, indicate, description,
//   security {read|write: {encrypted, mitm}}, onWrite(evt) with evt.data an ArrayBuffer.
// * NRF.updateServices({svc: {char: {value, notify}}}) stores the value and, when a central has
//   subscribed, notifies it. A value longer than maxLen, or than the link's MTU-3 when notifying, throws
//   (the SoftDevice rejects it); an unknown service/characteristic throws.
// * NRF.on("connect", addr) / ("disconnect", reason) / ("security", status): delivered as device events.
// * NRF.setAdvertising(data, {name, connectable, ...}), NRF.setSecurity({mitm, passkey, bond, lesc,
//   encryptUart}), NRF.getSecurityStatus(), NRF.disconnect(), NRF.sleep(), NRF.wake(), NRF.getAddress(),
//   NRF.restart(cb); radio tuning calls (setTxPower, setConnectionInterval, setLowPowerConnection) are
//   accepted and have no simulated effect.
// * Bluetooth.write(data) notifies the Nordic UART TX characteristic in MTU-sized chunks when a central
//   is subscribed (else the bytes are dropped, as Espruino does with no connection); Bluetooth.on("data")
//   gets central writes as strings of byte-chars, like every Espruino serial object.
import { espruinoToBytes, normUuid } from "./bytes.ts";
import { NUS_RX, NUS_SERVICE, NUS_TX, SimBlePeripheral, type GattChar, type GattService, type PeripheralHost } from "./peripheral.ts";

/** What the simulator core provides to run firmware callbacks. */
export interface EspruinoBleHost {
  /** Runs a firmware callback as an Espruino event (later, from the idle loop); errors are the host's "Uncaught". */
  event(fn: (...args: unknown[]) => unknown, thisArg: unknown, args: unknown[]): void;
  /** An ArrayBuffer of the device's realm holding these bytes. */
  arrayBuffer(bytes: Uint8Array): ArrayBuffer;
  /** Whether the context that installed these globals is still running (false after power-off). */
  alive(): boolean;
  /** E.setConsole / Bluetooth.setConsole target change, when the core tracks it. */
  setConsole?(device: string): void;
  /** Battery voltage for NRF.getBattery(), when the board models one. */
  batteryVolts?(): number;
  /**
   * Keeps firmware values the BLE stack holds (listeners, the setServices description) where the
   * device's memory estimate sees them, as Espruino keeps them in hidden variables that cost JsVars.
   */
  hold?(name: string, items: unknown[]): void;
}

type Listener = (...args: unknown[]) => unknown;

/** Espruino's object events: several listeners per name, `on`, `removeListener`, `removeAllListeners`, `emit`. */
class Listeners {
  private map = new Map<string, Listener[]>();
  constructor(private readonly host: EspruinoBleHost, private readonly self: object, private readonly tag: string) {}
  private held(name: string): void {
    this.host.hold?.(this.tag + "#on" + name, this.map.get(name) ?? []);
  }
  on(name: string, fn: Listener): void {
    if (typeof fn !== "function") throw new Error(`${String(name)} listener must be a function`);
    const l = this.map.get(name) ?? [];
    l.push(fn);
    this.map.set(name, l);
    this.held(name);
  }
  removeListener(name: string, fn: Listener): void {
    const l = this.map.get(name);
    if (!l) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
    this.held(name);
  }
  removeAllListeners(name?: string): void {
    const names = name === undefined ? [...this.map.keys()] : [name];
    for (const n of names) {
      this.map.delete(n);
      this.held(n);
    }
  }
  count(name: string): number {
    return this.map.get(name)?.length ?? 0;
  }
  emit(name: string, args: unknown[]): void {
    if (!this.host.alive()) return;
    for (const fn of this.map.get(name) ?? []) this.host.event(fn, this.self, args);
  }
}

interface CharOptions {
  value?: unknown;
  maxLen?: number;
  readable?: boolean;
  writable?: boolean;
  notify?: boolean;
  indicate?: boolean;
  description?: string;
  security?: { read?: { encrypted?: boolean; mitm?: boolean }; write?: { encrypted?: boolean; mitm?: boolean } };
  onWrite?: Listener;
}

export interface EspruinoBleGlobals {
  NRF: Record<string, unknown>;
  Bluetooth: Record<string, unknown>;
}

/**
 * Builds NRF and Bluetooth for one power-on of a device and attaches them to `peripheral` (which is
 * powered on: fresh GATT table, advertising as Espruino does by default).
 */
export function createEspruinoBle(peripheral: SimBlePeripheral, host: EspruinoBleHost): EspruinoBleGlobals {
  peripheral.powerOn();
  const onWrite = new Map<string, Listener>();
  const NRF: Record<string, unknown> = {};
  const Bluetooth: Record<string, unknown> = {};
  const nrfEvents = new Listeners(host, NRF, "NRF");
  const btEvents = new Listeners(host, Bluetooth, "Bluetooth");

  const portHost: PeripheralHost = {
    connect: (addr) => nrfEvents.emit("connect", [addr]),
    disconnect: (reason) => nrfEvents.emit("disconnect", [reason]),
    security: (status) => nrfEvents.emit("security", [status]),
    write: (service, char, bytes) => {
      if (!host.alive()) return;
      if (service === NUS_SERVICE && char === NUS_RX) {
        btEvents.emit("data", [bytesToString(bytes)]);
        return;
      }
      const fn = onWrite.get(service + "/" + char);
      if (fn) host.event(fn, NRF, [{ data: host.arrayBuffer(bytes) }]);
    },
  };
  peripheral.host = portHost;

  function buildServices(data: unknown): { services: Map<string, GattService>; handlers: Map<string, Listener> } {
    if (!data || typeof data !== "object") throw new Error("NRF.setServices: first argument must be an object of services");
    const services = new Map<string, GattService>();
    const handlers = new Map<string, Listener>();
    for (const sKey of Object.keys(data as object)) {
      const sUuid = normUuid(sKey);
      const chars = new Map<string, GattChar>();
      const sDesc = (data as Record<string, unknown>)[sKey];
      if (!sDesc || typeof sDesc !== "object") throw new Error(`NRF.setServices: service ${sKey} must be an object of characteristics`);
      for (const cKey of Object.keys(sDesc as object)) {
        const cUuid = normUuid(cKey);
        const o = (sDesc as Record<string, CharOptions>)[cKey] ?? {};
        const value = o.value === undefined ? new Uint8Array(0) : espruinoToBytes(o.value, `NRF.setServices ${cKey}.value`);
        const maxLen = o.maxLen ?? (o.value === undefined ? 20 : value.length);
        if (!(maxLen >= 1 && maxLen <= 512)) throw new Error(`NRF.setServices ${cKey}.maxLen ${maxLen}: must be 1..512`);
        if (value.length > maxLen) throw new Error(`NRF.setServices ${cKey}: value of ${value.length} bytes is longer than maxLen ${maxLen}`);
        chars.set(cUuid, {
          uuid: cUuid,
          readable: !!o.readable,
          writable: !!o.writable,
          notify: !!o.notify,
          indicate: !!o.indicate,
          maxLen,
          value,
          read: { encrypted: !!o.security?.read?.encrypted, mitm: !!o.security?.read?.mitm },
          write: { encrypted: !!o.security?.write?.encrypted, mitm: !!o.security?.write?.mitm },
        });
        if (typeof o.onWrite === "function") handlers.set(sUuid + "/" + cUuid, o.onWrite);
      }
      services.set(sUuid, { uuid: sUuid, chars });
    }
    return { services, handlers };
  }

  NRF.setServices = (data: unknown, options?: { uart?: boolean; advertise?: string[] }) => {
    const built = buildServices(data);
    peripheral.setServices(built.services);
    host.hold?.("BLE_SVC_D", [data, options]);
    onWrite.clear();
    for (const [k, v] of built.handlers) onWrite.set(k, v);
    peripheral.uart = options?.uart !== false;
    peripheral.advertisedUuids = (options?.advertise ?? []).map(normUuid);
  };

  NRF.updateServices = (data: unknown) => {
    if (!data || typeof data !== "object") throw new Error("NRF.updateServices: argument must be an object of services");
    for (const sKey of Object.keys(data as object)) {
      const sDesc = (data as Record<string, Record<string, CharOptions & { notify?: boolean }>>)[sKey];
      for (const cKey of Object.keys(sDesc)) {
        const c = peripheral.services.get(normUuid(sKey))?.chars.get(normUuid(cKey));
        if (!c) throw new Error(`NRF.updateServices: unable to find characteristic ${cKey} in service ${sKey} (set it with NRF.setServices first)`);
        const o = sDesc[cKey] ?? {};
        if (o.value === undefined) continue;
        const bytes = espruinoToBytes(o.value, `NRF.updateServices ${cKey}.value`);
        if (bytes.length > c.maxLen) throw new Error(`NRF.updateServices ${cKey}: value of ${bytes.length} bytes is longer than maxLen ${c.maxLen}`);
        c.value = bytes;
        if ((o.notify || o.indicate) && peripheral.connection) {
          if (!c.notify && !c.indicate) throw new Error(`NRF.updateServices ${cKey}: characteristic was not declared with notify:true`);
          peripheral.connection.notify(sKey, cKey, bytes);
        }
      }
    }
  };

  NRF.setAdvertising = (_data: unknown, options?: { name?: string; connectable?: boolean; discoverable?: boolean }) => {
    if (options?.name !== undefined) peripheral.name = String(options.name);
    if (options?.connectable !== undefined) peripheral.connectable = !!options.connectable;
  };

  NRF.setSecurity = (opts: { mitm?: boolean; passkey?: string; bond?: boolean; lesc?: boolean; encryptUart?: boolean } = {}) => {
    if (opts.passkey !== undefined && !/^\d{6}$/.test(String(opts.passkey))) throw new Error(`NRF.setSecurity: passkey "${opts.passkey}" must be 6 digits`);
    peripheral.security = {
      mitm: !!opts.mitm,
      passkey: opts.passkey === undefined ? null : String(opts.passkey),
      bond: !!opts.bond,
      lesc: !!opts.lesc,
      encryptUart: !!opts.encryptUart,
    };
  };

  NRF.getSecurityStatus = () => {
    const c = peripheral.connection;
    return { connected: !!c, encrypted: !!c?.encrypted, mitm_protected: !!c?.mitm, bonded: !!c && peripheral.security.bond, connected_addr: c?.centralAddress };
  };

  NRF.disconnect = () => {
    if (peripheral.connection) peripheral.connection.close(0x16, true);
  };
  NRF.sleep = () => {
    peripheral.sleeping = true;
    if (peripheral.connection) peripheral.connection.close(0x16, true);
  };
  NRF.wake = () => {
    peripheral.sleeping = false;
  };
  NRF.restart = (cb?: Listener) => {
    if (typeof cb === "function") host.event(cb, NRF, []);
  };
  NRF.getAddress = () => peripheral.address;
  NRF.setTxPower = () => {};
  NRF.setConnectionInterval = () => {};
  NRF.setLowPowerConnection = () => {};
  NRF.getBattery = () => {
    if (!host.batteryVolts) throw new Error("NRF.getBattery: this simulated board has no battery model");
    return host.batteryVolts();
  };
  NRF.on = (name: string, fn: Listener) => nrfEvents.on(name, fn);
  NRF.removeListener = (name: string, fn: Listener) => nrfEvents.removeListener(name, fn);
  NRF.removeAllListeners = (name?: string) => nrfEvents.removeAllListeners(name);

  const btWrite = (data: unknown) => {
    const c = peripheral.connection;
    if (!peripheral.uart || !c) return;
    const bytes = espruinoToBytes(data, "Bluetooth.write");
    const n = c.attMtu - 3;
    for (let i = 0; i < bytes.length; i += n) c.notify(NUS_SERVICE, NUS_TX, bytes.subarray(i, i + n));
  };
  Bluetooth.write = (...args: unknown[]) => {
    for (const a of args) btWrite(a);
  };
  Bluetooth.print = (s: unknown) => btWrite(String(s));
  Bluetooth.println = (s: unknown) => btWrite(String(s) + "\r\n");
  Bluetooth.setConsole = () => host.setConsole?.("Bluetooth");
  Bluetooth.on = (name: string, fn: Listener) => btEvents.on(name, fn);
  Bluetooth.removeListener = (name: string, fn: Listener) => btEvents.removeListener(name, fn);
  Bluetooth.removeAllListeners = (name?: string) => btEvents.removeAllListeners(name);

  return { NRF, Bluetooth };
}

function bytesToString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
