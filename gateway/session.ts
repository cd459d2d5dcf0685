// One session per link. The handshake, per docs/architecture.md and protocol/varde.proto:
//   gateway → Hello{nonce, gateway_time}   sealed with the ALL-ZERO key (the device may be unknown yet)
//   device  → DeviceInfo{nonce echoed, ...} sealed with the device key: proves the key and freshness
//   gateway → TimeSync                      sealed with the device key (again every time_sync_s)
// A lost Hello or DeviceInfo: Hello is re-sent with a new nonce after hello_retry_ms, doubling up to
// hello_retry_max_ms, until a DeviceInfo with the current nonce arrives. A DeviceInfo with a stale
// nonce, or a frame showing the device rebooted (new boot id), starts a fresh handshake.
//
// Every frame after the framing layer is decoded once (wire.ts splitBody): its envelope names the
// device; unknown device → rejected; MAC checked with that device's key → rejected when wrong. What an
// authenticated frame means (reliable event, ack of a downlink, telemetry) is decided by the Gateway
// (gateway.ts), told whether the frame is FRESH: it came on a link whose handshake this device completed
// (nonce echoed under its key) in its current boot. Only fresh frames count as a sign of life; a frame
// captured earlier and replayed from another connection is authenticated but not fresh.
//
// Frames lost below authentication — bad length, bad CRC, truncated (FrameParser.bad) — and noise bytes
// between frames (debug text on a serial port) are reported to the host after every chunk, so they are
// counted and logged (rate-limited) instead of vanishing.
import * as crypto from "node:crypto";
import { FrameParser } from "../protocol/framing.ts";
import type { Link } from "./transports/transport.ts";
import { ackFrame, macMatches, sealEnvelope, splitBody, ZERO_KEY } from "./wire.ts";
import type { Registry } from "./registry.ts";
import type { GatewayClock } from "./clock.ts";

/**
 * Why a frame was not taken (metric label varde_frames_rejected_total{reason}). A reliable frame seen
 * before (retransmission or replay) is not a rejection: it is acked again and counted in
 * varde_duplicates_total.
 */
export type RejectReason = "framing" | "malformed" | "unknown_device" | "bad_mac" | "stale_nonce" | "no_session" | "outbox_full" | "storage_fault";

export interface SessionHost {
  registry: Registry;
  boot: number;
  cfg: { helloRetryMs: number; helloRetryMaxMs: number; timeSyncS: number };
  /** the timers of the handshake retry and the periodic time sync, wall time for Hello/TimeSync, monotonic for the rate limit */
  clock: GatewayClock;
  onReject(s: Session, reason: RejectReason, device: number, count?: number): void;
  /** noise bytes between frames (debug text): counted, not an error */
  onNoise(s: Session, bytes: number): void;
  onHandshake(s: Session, device: number, info: any, env: any): void;
  /** An authenticated frame; `fresh` = on this device's handshaken link in its current boot. */
  onFrame(s: Session, device: number, env: any, payload: Uint8Array, fresh: boolean): void;
  onClose(s: Session): void;
  log(level: "debug" | "info" | "warn", msg: string, extra?: object): void;
}

export class Session {
  device = 0;
  deviceBoot = 0;
  up = false;
  nonce = 0;
  closed = false;
  private helloTimer: unknown = null;
  private helloDelay: number;
  private lastHello = -Infinity; // monotonic ms
  private syncTimer: unknown = null;
  readonly parser: FrameParser;
  private bad = 0;
  private noise = 0;

  constructor(readonly link: Link, readonly host: SessionHost) {
    this.helloDelay = host.cfg.helloRetryMs;
    this.parser = new FrameParser((body) => this.onBody(body));
  }

  start(): void {
    this.link.on("data", (b) => this.onData(b));
    this.link.on("close", () => this.close());
    this.sendHello();
  }

  private onData(b: Uint8Array): void {
    this.parser.push(b);
    const p = this.parser;
    if (p.bad !== this.bad) {
      this.host.onReject(this, "framing", this.device, p.bad - this.bad);
      this.bad = p.bad;
    }
    if (p.noise !== this.noise) {
      this.host.onNoise(this, p.noise - this.noise);
      this.noise = p.noise;
    }
  }

  /** Starts (or restarts) the handshake with a fresh nonce. */
  sendHello(): void {
    if (this.closed) return;
    this.up = false;
    if (this.helloTimer) this.host.clock.clearTimeout(this.helloTimer);
    this.nonce = crypto.randomBytes(4).readUInt32BE(0) || 1;
    this.lastHello = this.host.clock.monotonic();
    const t = Math.floor(this.host.clock.now() / 1000);
    this.write(sealEnvelope(ZERO_KEY, { device: 0, boot: this.host.boot, time: t, hello: { nonce: this.nonce, gatewayTime: t } }));
    this.helloTimer = this.host.clock.setTimeout(() => {
      this.helloTimer = null;
      this.helloDelay = Math.min(this.helloDelay * 2, this.host.cfg.helloRetryMaxMs);
      this.host.log("debug", `${this.link.name}: no DeviceInfo yet; Hello again`);
      this.sendHello();
    }, this.helloDelay);
  }

  /** Handshake again now, with the backoff reset (e.g. the registry just learned a new device). */
  restartHandshake(): void {
    this.helloDelay = this.host.cfg.helloRetryMs;
    this.sendHello();
  }

  /** Sends an envelope sealed with the bound device's key. */
  send(env: Record<string, any>): void {
    const entry = this.host.registry.byId.get(env.device);
    if (!entry || this.closed) return;
    this.write(sealEnvelope(entry.keyBytes, env));
  }

  /** Acks the device's reliable frame `seq` (the event is durable). */
  sendAck(device: number, seq: number): void {
    const entry = this.host.registry.byId.get(device);
    if (!entry || this.closed) return;
    this.write(ackFrame(entry.keyBytes, device, this.host.boot, seq, Math.floor(this.host.clock.now() / 1000)));
  }

  sendTimeSync(): void {
    if (!this.device) return;
    const ms = this.host.clock.now();
    this.send({ device: this.device, boot: this.host.boot, time: Math.floor(ms / 1000), timeSync: { unix: Math.floor(ms / 1000), millis: ms % 1000 } });
  }

  private write(frame: Uint8Array): void {
    this.link.post(frame, this.writeFailed);
  }
  private readonly writeFailed = (e: Error) => this.host.log("debug", `${this.link.name}: write failed: ${e.message}`);

  private helloDue(): boolean {
    return this.host.clock.monotonic() - this.lastHello >= this.host.cfg.helloRetryMs;
  }

  private onBody(body: Uint8Array): void {
    const f = splitBody(body);
    if (!f) return this.host.onReject(this, "malformed", 0);
    const env = f.env;
    const id = env.device ?? 0;
    const entry = this.host.registry.byId.get(id);
    if (!entry) return this.host.onReject(this, "unknown_device", id);
    if (!macMatches(entry.keyBytes, f)) return this.host.onReject(this, "bad_mac", id);
    if (env.info) {
      if ((env.info.nonce ?? 0) !== this.nonce || this.nonce === 0) {
        this.host.onReject(this, "stale_nonce", id);
        // The device wants a session (it rebooted or missed our Hello): offer a fresh one, rate-limited.
        if (this.helloDue()) this.sendHello();
        return;
      }
      if (this.helloTimer) this.host.clock.clearTimeout(this.helloTimer);
      this.helloTimer = null;
      this.helloDelay = this.host.cfg.helloRetryMs;
      this.nonce = 0; // one DeviceInfo per Hello: a replayed DeviceInfo cannot complete another handshake
      this.up = true;
      this.device = id;
      this.deviceBoot = env.boot ?? 0;
      this.host.onHandshake(this, id, env.info, env);
      this.sendTimeSync();
      if (this.syncTimer) this.host.clock.clearInterval(this.syncTimer);
      this.syncTimer = this.host.clock.setInterval(() => this.sendTimeSync(), this.host.cfg.timeSyncS * 1000);
      return;
    }
    const fresh = this.up && id === this.device && (env.boot ?? 0) === this.deviceBoot;
    // A fresh (not late) frame from a new boot id: the device rebooted behind a link that stayed up.
    // Late replays keep the boot id they were made under, so they do not count.
    if (this.up && id === this.device && !env.late && (env.boot ?? 0) !== this.deviceBoot && this.helloDue()) {
      this.host.log("info", `${this.link.name}: device ${id} rebooted (boot ${this.deviceBoot} → ${env.boot ?? 0}); new handshake`);
      this.host.onFrame(this, id, env, f.payload, false);
      this.sendHello();
      return;
    }
    if (!this.device) this.device = id; // acks of its reliable frames go back on this link
    this.host.onFrame(this, id, env, f.payload, fresh);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    if (this.helloTimer) this.host.clock.clearTimeout(this.helloTimer);
    if (this.syncTimer) this.host.clock.clearInterval(this.syncTimer);
    this.parser.reset();
    this.link.close();
    this.host.onClose(this);
  }
}
