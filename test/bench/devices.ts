// The bench's device sessions: many authenticated TCP sessions in one process, each doing the real
// handshake with the gateway (Hello → DeviceInfo sealed with its key → TimeSync) and then sending alarm
// frames that were sealed BEFORE the measurement (so the device side's protobuf and HMAC work is not in
// the figures). Frames from the gateway are decoded without checking their MAC (the bench trusts the
// gateway it measures; the gateway checks every device frame). Send and ack times are
// process.hrtime.bigint() — CLOCK_MONOTONIC, comparable with the subscriber process's.
import * as net from "node:net";
import { FrameParser } from "../../protocol/framing.ts";
import { MAC_LEN } from "../../protocol/mac.ts";
import { lookupType } from "../../protocol/schema.ts";
import { sealEnvelope } from "../../gateway/wire.ts";

const Envelope = lookupType("Envelope");

export class BenchDevice {
  readonly key: Uint8Array;
  readonly boot: number;
  seq = 1;
  socket: net.Socket | null = null;
  ready = false;
  /** false: frames from the gateway are dropped unread */
  listening = true;
  /** seq → hrtime of sending */
  readonly sentAt = new Map<number, bigint>();
  /** called with (seq, ack hrtime) for every ack */
  onAck: (seq: number, at: bigint) => void = () => undefined;
  private parser = new FrameParser((b) => this.onBody(b));
  private readyWaiters: Array<() => void> = [];
  private queue: Uint8Array[] = [];

  constructor(readonly id: number, keyHex: string) {
    this.key = new Uint8Array(Buffer.from(keyHex, "hex"));
    this.boot = (0x5000_0000 + id) >>> 0;
  }

  /** Dials the gateway; resolves once the handshake is complete (TimeSync received). */
  connect(port: number): Promise<void> {
    const s = net.connect({ host: "127.0.0.1", port });
    s.setNoDelay(true);
    this.socket = s;
    s.on("data", (b: Buffer) => {
      if (this.listening) this.parser.push(b);
    });
    s.on("error", () => s.destroy());
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Seals the next `n` alarm frames now (before a measurement). */
  prepare(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.seq + this.queue.length;
      this.queue.push(sealEnvelope(this.key, { device: this.id, boot: this.boot, seq, time: 1_796_000_000, alarm: {} }));
    }
  }

  get prepared(): number {
    return this.queue.length;
  }

  /** Sends the next prepared alarm; returns its event id, or null when none is prepared. */
  sendNext(): string | null {
    const f = this.queue.shift();
    if (!f || !this.socket) return null;
    const seq = this.seq++;
    if (this.listening) this.sentAt.set(seq, process.hrtime.bigint());
    this.socket.write(f);
    return `${this.id}:${this.boot}:${seq}`;
  }

  private onBody(body: Uint8Array): void {
    const env = Envelope.decode(body.subarray(0, body.length - MAC_LEN)) as any;
    if (env.hello) {
      this.socket!.write(sealEnvelope(this.key, { device: this.id, boot: this.boot, time: 1_796_000_000, info: { nonce: env.hello.nonce, kind: 1, firmware: "bench", board: "bench", seq: this.seq } }));
      return;
    }
    if (env.timeSync && !this.ready) {
      this.ready = true;
      for (const w of this.readyWaiters.splice(0)) w();
    }
    if (env.ack) this.onAck(env.ack, process.hrtime.bigint());
  }

  /**
   * Throughput runs: acks are not looked at. When the acks of `frames` frames fit the kernel's receive
   * buffer easily (about 40 bytes each; true for many sessions, a few KB each), the socket is not read at
   * all, so this process does not spend a read per ack on the cores the gateway is measured on; a few
   * sessions with many frames each keep reading (a full receive window would stall the gateway's writes)
   * and drop what they read. Sending is unaffected; the device is closed after the run.
   */
  deaf(frames: number): void {
    this.listening = false;
    if (frames * 48 <= 32 * 1024) this.socket?.pause();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

/** Connects every device at once; resolves with the ms from the first dial to the last completed handshake. */
export async function connectAll(devs: BenchDevice[], port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all(devs.map((d) => d.connect(port)));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
