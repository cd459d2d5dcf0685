// A Node-side device for gateway tests: speaks the real device-link protocol (framing, MAC,
// protobuf Envelope) like the firmware does — answers Hello with DeviceInfo, applies TimeSync,
// keeps reliable events in an outbox retransmitted until acked (in order, forever), acks and dedups
// downlink by the gateway's seq. It is not the firmware: it exists so gateway tests do not depend on
// the simulator, and so tests can misbehave on purpose (bad MAC, replays, wrong nonce).
import * as net from "node:net";
import * as crypto from "node:crypto";
import { EventEmitter } from "node:events";
import { FrameParser } from "../../protocol/framing.ts";
import { BaseLink, type Link } from "../../gateway/transports/transport.ts";
import { bodyName, openFrame, sealFrame, ZERO_KEY } from "../../gateway/wire.ts";
import { until } from "./wait.ts";

export interface FakeDeviceOptions {
  id: number;
  /** 64 hex chars */
  key: string;
  kind?: "alarm" | "dispenser";
  boot?: number;
  /** next reliable seq (persisted across "reboots" by passing it back in) */
  seq?: number;
  /** retransmit interval for unacked reliable messages */
  retryMs?: number;
  firmware?: string;
  board?: string;
}

/** An in-memory byte pipe: `link` goes to the gateway (gw.addLink), the other end to a FakeDevice. */
export class MemoryLink extends BaseLink {
  peer: ((b: Uint8Array) => void) | null = null;
  async rawWrite(bytes: Uint8Array): Promise<void> {
    const p = this.peer;
    const copy = new Uint8Array(bytes);
    setImmediate(() => p?.(copy));
  }
  rawClose(): void {}
}

export class FakeDevice extends EventEmitter {
  readonly id: number;
  readonly key: Uint8Array;
  boot: number;
  seq: number;
  lastDownlink = 0;
  retryMs: number;
  /** unacked reliable messages, oldest first */
  outbox: Array<{ seq: number; env: Record<string, any> }> = [];
  /** every authenticated envelope received from the gateway */
  received: any[] = [];
  acked: number[] = [];
  alarmAcks: any[] = [];
  sessions = 0;
  timeSync: any = null;
  private out: ((b: Uint8Array) => void) | null = null;
  private parser = new FrameParser((b) => this.onBody(b));
  private timer: NodeJS.Timeout | null = null;
  private server: net.Server | null = null;
  private socket: net.Socket | null = null;
  /** when false, the device does not answer Hello (to test handshake retries) */
  answerHello = true;

  constructor(readonly opts: FakeDeviceOptions) {
    super();
    this.id = opts.id;
    this.key = new Uint8Array(Buffer.from(opts.key, "hex"));
    this.boot = opts.boot ?? crypto.randomBytes(4).readUInt32BE(0);
    this.seq = opts.seq ?? 1;
    this.retryMs = opts.retryMs ?? 200;
  }

  /** Connects to the gateway through an in-memory link; returns the gateway's end. */
  memoryLink(name = `mem:${this.opts.id}`): Link {
    const gwEnd = new MemoryLink(name);
    gwEnd.peer = (b) => this.feed(b);
    this.attach((b) => gwEnd.emitData(b));
    return gwEnd;
  }

  /** Listens on TCP like an Espruino WiFi console; the gateway's "tcp" transport dials it. */
  async listenTcp(port = 0): Promise<number> {
    this.server = net.createServer((s) => {
      this.socket?.destroy();
      this.socket = s;
      this.parser.reset();
      s.on("data", (b: Buffer) => this.feed(new Uint8Array(b)));
      s.on("error", () => s.destroy());
      this.attach((b) => s.write(b));
    });
    await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", () => r()));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Dials a gateway's "tcp-listen" transport (a device that connects in); resolves once connected. */
  async connectTcp(port: number, host = "127.0.0.1"): Promise<net.Socket> {
    const s = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("error", reject);
    });
    this.socket?.destroy();
    this.socket = s;
    this.parser.reset();
    s.setNoDelay(true);
    s.on("data", (b: Buffer) => this.feed(new Uint8Array(b)));
    s.on("error", () => s.destroy());
    this.attach((b) => {
      if (!s.destroyed) s.write(b);
    });
    return s;
  }

  /** Dials in again whenever the link is down (a gateway that restarts), checking every `everyMs`. */
  keepDialling(port: number, everyMs = 100): void {
    let dialling = false;
    this.redial = setInterval(() => {
      if (dialling || this.socket?.readyState === "open") return;
      dialling = true;
      this.connectTcp(port)
        .catch(() => undefined)
        .finally(() => (dialling = false));
    }, everyMs);
  }
  private redial: NodeJS.Timeout | null = null;

  /** Whether the TCP link to the gateway is up. */
  get linked(): boolean {
    return this.socket?.readyState === "open";
  }

  /** Every byte this device sent, in order (what an eavesdropper on the link would capture). */
  readonly sent: Uint8Array[] = [];

  attach(write: (b: Uint8Array) => void): void {
    this.out = write;
    this.startRetry();
  }

  feed(bytes: Uint8Array): void {
    this.parser.push(bytes);
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.out) return;
    this.sent.push(bytes);
    this.out(bytes);
  }

  send(env: Record<string, any>, key: Uint8Array = this.key): void {
    this.sendRaw(sealFrame(key, { device: this.id, boot: this.boot, ...env }));
  }

  private now(): number {
    return Math.floor(Date.now() / 1000);
  }

  /** Queues a reliable message (alarm, dose, fault, ...) and sends it; returns its seq. */
  reliable(body: Record<string, any>, time = this.now()): number {
    const seq = this.seq++;
    const env = { seq, time, ...body };
    this.outbox.push({ seq, env });
    this.send(env);
    return seq;
  }

  alarm(extra: Record<string, any> = {}): number {
    return this.reliable({ alarm: extra });
  }

  heartbeat(intervalS = 60): void {
    this.send({ time: this.now(), heartbeat: { batteryPct: 90, intervalS, outboxDepth: this.outbox.length } });
  }

  private startRetry(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const m of this.outbox.slice(0, 8)) this.send({ ...m.env, late: true });
    }, this.retryMs);
  }

  private onBody(body: Uint8Array): void {
    let env = openFrame(this.key, body);
    if (!env) {
      const hello = openFrame(ZERO_KEY, body);
      if (hello?.hello) env = hello;
      else return;
    }
    this.received.push(env);
    this.emit("envelope", env);
    if (env.hello) {
      if (!this.answerHello) return;
      this.send({
        time: this.now(),
        info: { nonce: env.hello.nonce, kind: this.opts.kind === "dispenser" ? 2 : 1, firmware: this.opts.firmware ?? "0.1.0-fake", board: this.opts.board ?? "fake", outboxDepth: this.outbox.length, lastDownlink: this.lastDownlink, seq: this.seq },
      });
      this.sessions++;
      return;
    }
    if (env.timeSync) this.timeSync = env.timeSync;
    if (env.ack) {
      this.outbox = this.outbox.filter((m) => m.seq !== env.ack);
      this.acked.push(env.ack);
      this.emit("ack", env.ack);
    }
    if (env.seq) {
      // downlink: apply once (dedup by gateway seq), always ack
      if (env.seq > this.lastDownlink) {
        this.lastDownlink = env.seq;
        const name = bodyName(env);
        if (name === "alarmAck") this.alarmAcks.push(env.alarmAck);
        this.emit("downlink", env);
      }
      this.send({ ack: env.seq, time: this.now() });
    }
  }

  /** Simulates a reboot: new boot id, outbox and seq kept (they live in flash). */
  reboot(): void {
    this.boot = crypto.randomBytes(4).readUInt32BE(0);
    this.parser.reset();
  }

  waitFor(pred: () => boolean, ms = 5000, what = "condition"): Promise<void> {
    return waitFor(pred, ms, `device ${this.id}: ${what}`);
  }

  async close(): Promise<void> {
    if (this.redial) clearInterval(this.redial);
    this.redial = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.out = null;
    this.socket?.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

export function waitFor(pred: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  return until(pred, ms, what, 10);
}
