// One fixture per transport for the shared contract suite (contract.test.ts): the gateway-side
// Transport under test plus the device end ("peer") that the test drives.
//   serial: a real pseudo-terminal pair made by socat; the transport opens one end with serialport,
//           the peer the other. "Peer drops" = socat killed (both ttys vanish, as a USB device unplugged).
//   tcp:    the device listens (like an Espruino WiFi console); TcpConnectTransport dials it.
//           "Peer drops" = the device closes the socket.
//   ble:    the fake noble central and a simulated nRF52 peripheral (Espruino NRF API).
//           "Peer drops" = the device calls NRF.disconnect().
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, existsSync, readdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { SerialPort } from "serialport";
import type { Transport } from "../../gateway/transports/transport.ts";
import { SerialTransport } from "../../gateway/transports/serial.ts";
import { TcpConnectTransport } from "../../gateway/transports/tcp.ts";
import { BleTransport } from "../../gateway/transports/ble.ts";
import { BleRadio, FakeNoble } from "../../simulator/ble/index.ts";
import { BlePeerDevice, VARDE_BLE } from "./ble-peer.ts";
import { sleep, until } from "../support/wait.ts";

export interface Peer {
  /** bytes from the device to the gateway */
  write(bytes: Uint8Array): Promise<void>;
  /** every byte the device received, in order */
  received: number[];
  /** the device ends the link */
  drop(): Promise<void>;
  /** the device is reachable again (after drop) */
  restore(): Promise<void>;
  /** true when the device side currently has a live connection */
  connected(): boolean;
}

export interface Fixture {
  kind: string;
  transport: Transport;
  peer: Peer;
  /** throws when the transport still holds anything (fd, socket, radio link, scan, listener) after stop() */
  assertReleased(): Promise<void>;
  dispose(): Promise<void>;
}



// ---------------------------------------------------------------- serial over a pty pair

class SocatPair {
  proc: ChildProcess | null = null;
  constructor(readonly gwPath: string, readonly devPath: string) {}
  async start(): Promise<void> {
    this.proc = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${this.gwPath}`, `pty,raw,echo=0,link=${this.devPath}`], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc.stderr?.resume();
    await until(() => existsSync(this.gwPath) && existsSync(this.devPath), 5000, `socat to create ${this.gwPath}`);
  }
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once("exit", () => r());
      p.kill("SIGTERM");
    });
    await until(() => !existsSync(this.gwPath), 2000, "socat links to vanish");
  }
}

export async function serialFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "varde-pty-"));
  const pair = new SocatPair(join(dir, "gw"), join(dir, "dev"));
  await pair.start();
  const gwTty = realpathSync(pair.gwPath);
  let port: SerialPort | null = null;
  const received: number[] = [];
  const openPeer = async () => {
    const p = new SerialPort({ path: pair.devPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => p.open((e) => (e ? rej(e) : res())));
    p.on("data", (b: Buffer) => {
      for (const x of b) received.push(x);
    });
    p.on("error", () => undefined);
    port = p;
  };
  await openPeer();
  const transport = new SerialTransport({ path: pair.gwPath, reconnectMs: 30 });
  const closePeer = async () => {
    const p = port;
    port = null;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  };
  return {
    kind: "serial",
    transport,
    peer: {
      received,
      async write(bytes) {
        const p = port;
        if (!p) throw new Error("serial peer closed");
        await new Promise<void>((res, rej) => p.write(Buffer.from(bytes), (e) => (e ? rej(e) : p.drain((d) => (d ? rej(d) : res())))));
      },
      async drop() {
        await closePeer();
        await pair.stop();
      },
      async restore() {
        await pair.start();
        await openPeer();
      },
      connected: () => port !== null,
    },
    async assertReleased() {
      // No file descriptor of this process may still point at the gateway end of the pty.
      await sleep(Number(process.env.SERIAL_RELEASE_GRACE_MS ?? 0));
      const held = readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === gwTty;
        } catch {
          return false;
        }
      });
      if (held.length > 0) {
        throw new Error(`serial: ${held.length} fd(s) still open on ${gwTty} when stop() resolved; transport.ts says stop() resolves when every link is closed, so SerialTransport.stop() must await the port's close callback`);
      }
    },
    async dispose() {
      await closePeer();
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- TCP: the device listens

export async function tcpFixture(): Promise<Fixture> {
  const received: number[] = [];
  let sock: net.Socket | null = null;
  const sockets = new Set<net.Socket>();
  let accepting = true;
  const server = net.createServer((s) => {
    if (!accepting) return void s.destroy();
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    s.on("data", (b: Buffer) => {
      for (const x of b) received.push(x);
    });
    sock = s;
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const transport = new TcpConnectTransport({ host: "127.0.0.1", port, reconnectMs: 30 });
  return {
    kind: "tcp",
    transport,
    peer: {
      received,
      async write(bytes) {
        const s = sock;
        if (!s || s.destroyed) throw new Error("tcp peer not connected");
        await new Promise<void>((res, rej) => s.write(bytes, (e) => (e ? rej(e) : res())));
      },
      async drop() {
        accepting = false;
        sock?.destroy();
        sock = null;
      },
      async restore() {
        accepting = true;
      },
      connected: () => sock !== null && !sock.destroyed,
    },
    async assertReleased() {
      await sleep(100); // longer than reconnectMs: a transport that still redials would show up
      if (sockets.size > 0) throw new Error(`tcp: ${sockets.size} connection(s) still open after stop()`);
    },
    async dispose() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------- BLE: fake central, simulated nRF52

export async function bleFixture(seed = 11): Promise<Fixture> {
  const radio = new BleRadio({ seed, advIntervalMs: 5, connectDelayMs: 2, connectionIntervalMs: 1, packetsPerEvent: 6 });
  const noble = new FakeNoble(radio);
  const dev = new BlePeerDevice(radio, { attMtu: 53 });
  const received: number[] = [];
  dev.on("data", (b: Uint8Array) => {
    for (const x of b) received.push(x);
  });
  dev.powerOn();
  const transport = new BleTransport({ ...VARDE_BLE, noble, backoffMinMs: 20, backoffMaxMs: 100 });
  return {
    kind: "ble",
    transport,
    peer: {
      received,
      async write(bytes) {
        dev.write(bytes);
      },
      async drop() {
        dev.disconnect();
        await until(() => !dev.connected, 1000, "BLE link down");
      },
      async restore() {
        // The device advertises again by itself after a disconnect.
      },
      connected: () => dev.connected,
    },
    async assertReleased() {
      await sleep(50);
      if (!radio.idle) throw new Error("ble: the fake central still scans, connects or holds a connection after stop()");
      const l = noble.listenerCount("discover") + noble.listenerCount("stateChange");
      if (l > 0) throw new Error(`ble: ${l} noble listener(s) left after stop()`);
    },
    async dispose() {
      dev.powerOff();
    },
  };
}

export const FIXTURES: Record<string, () => Promise<Fixture>> = {
  serial: serialFixture,
  tcp: tcpFixture,
  ble: () => bleFixture(),
};
