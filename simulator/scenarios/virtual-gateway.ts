// A virtual gateway for scenarios: speaks the real device-link protocol (protocol/README.md,
// docs/architecture.md) with the gateway's own codec (protocol/schema.ts, protobufjs), on virtual time:
//  * session: Hello{nonce, gatewayTime} sealed with the all-zero key, retried until the device answers
//    with DeviceInfo echoing the nonce; then TimeSync (and again every `timeSyncEveryMs`);
//    a frame from an unknown boot id starts a new handshake (the device rebooted);
//  * uplink: every reliable frame (seq != 0) is stored, deduplicated by (boot, seq), then acked;
//  * downlink: reliable messages (Schedule, Command) get gateway seqs, are sent in order, retransmitted
//    until the device acks them; DeviceInfo.lastDownlink drops those already applied;
//  * offline: while `online` is false nothing goes either way (the home gateway is off).
// It records what a backend would get: `events` (first copies only) plus counters of duplicates.
import { FrameParser } from "../../protocol/framing.ts";
import { openFrame, sealFrame, ZERO_KEY } from "../../protocol/schema.ts";
import type { Clock, ClockTimer } from "../clock.ts";

export interface StoredEvent {
  /** the decoded Envelope (camelCase, defaults filled as schema.ts documents) */
  env: any;
  /** true time (ms) the gateway stored it */
  at: number;
}

export interface VirtualGatewayOptions {
  clock: Clock;
  key: Uint8Array;
  deviceId: number;
  /** bytes towards the device */
  write: (bytes: Uint8Array) => void;
  timeSyncEveryMs?: number;
  retryMs?: number;
}

export class VirtualGateway {
  readonly opts: VirtualGatewayOptions;
  readonly clock: Clock;
  online = true;
  /** reliable device events stored, first copy of each (boot, seq) */
  events: StoredEvent[] = [];
  /** reliable frames received again after being stored (retransmits whose ack was lost) */
  duplicates = 0;
  /** frames that failed the MAC or the framing */
  bad = 0;
  handshakes = 0;
  /** the last DeviceInfo (handshake answer) */
  lastInfo: any = null;
  private seen = new Set<string>();
  private boots = new Set<number>();
  private parser: FrameParser;
  private nonce = 0;
  private sessionBoot = 0;
  private sessionUp = false;
  private helloTimer: ClockTimer | undefined;
  private syncTimer: ClockTimer | undefined;
  private downTimer: ClockTimer | undefined;
  private downSeq = 0;
  private downlinks: Array<{ seq: number; env: any }> = [];

  constructor(opts: VirtualGatewayOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.parser = new FrameParser((body) => this.frame(body), () => {});
  }

  /** Starts the session (call once the device is wired). */
  start(): void {
    this.hello();
  }

  setOnline(on: boolean): void {
    if (on === this.online) return;
    this.online = on;
    this.parser.reset();
    this.sessionUp = false;
    if (on) this.hello();
  }

  /** Bytes from the device. */
  receive(bytes: Uint8Array): void {
    if (!this.online) return;
    this.parser.push(bytes);
  }

  /** Queues a reliable downlink (e.g. {schedule: {...}} or {command: {...}}). */
  downlink(env: any): number {
    const seq = ++this.downSeq;
    this.downlinks.push({ seq, env });
    if (this.downlinks.length === 1) this.pushDown();
    return seq;
  }

  /** Downlinks still waiting for the device's ack. */
  pendingDownlinks(): number {
    return this.downlinks.length;
  }

  private send(env: any, key = this.opts.key): void {
    if (!this.online) return;
    this.opts.write(sealFrame(key, { device: this.opts.deviceId, ...env }));
  }

  private unixNow(): { unix: number; millis: number } {
    const ms = this.clock.now();
    return { unix: Math.floor(ms / 1000), millis: Math.floor(ms % 1000) };
  }

  private hello(): void {
    this.clock.cancel(this.helloTimer);
    if (!this.online) return;
    this.nonce = 1 + Math.floor(this.clock.rng.next() * 0xfffffffe);
    const t = this.unixNow();
    this.opts.write(sealFrame(ZERO_KEY, { hello: { nonce: this.nonce, gatewayTime: t.unix } }));
    this.helloTimer = this.clock.schedule(this.opts.retryMs ?? 5000, () => this.hello());
  }

  private timeSync(): void {
    this.clock.cancel(this.syncTimer);
    if (this.online && this.sessionUp) this.send({ timeSync: this.unixNow() });
    this.syncTimer = this.clock.schedule(this.opts.timeSyncEveryMs ?? 3600_000, () => this.timeSync());
  }

  private pushDown(): void {
    this.clock.cancel(this.downTimer);
    this.downTimer = undefined;
    const head = this.downlinks[0];
    if (!head) return;
    if (this.online && this.sessionUp) this.send({ seq: head.seq, ...head.env });
    this.downTimer = this.clock.schedule(this.opts.retryMs ?? 5000, () => this.pushDown());
  }

  private frame(body: Uint8Array): void {
    const env = openFrame(this.opts.key, body);
    if (!env) {
      this.bad++;
      return;
    }
    if (env.info) {
      if (env.info.nonce !== this.nonce) return; // stale answer to an older Hello
      this.clock.cancel(this.helloTimer);
      this.helloTimer = undefined;
      this.sessionBoot = env.boot;
      this.boots.add(env.boot);
      this.sessionUp = true;
      this.handshakes++;
      this.lastInfo = env.info;
      while (this.downlinks.length && this.downlinks[0].seq <= env.info.lastDownlink) this.downlinks.shift();
      this.timeSync();
      this.pushDown();
      return;
    }
    // A boot id never seen, on a frame that is not a late replay, means the device rebooted: shake
    // hands again (it needs the time). Replays keep their original boot, so they are not a sign.
    if (!this.boots.has(env.boot) && !env.late && env.boot !== this.sessionBoot && !this.helloTimer) this.hello();
    this.boots.add(env.boot);
    if (env.ack && this.downlinks.length && this.downlinks[0].seq === env.ack) {
      this.downlinks.shift();
      this.pushDown();
    }
    if (env.seq) {
      const k = env.boot + ":" + env.seq;
      if (this.seen.has(k)) this.duplicates++;
      else {
        this.seen.add(k);
        this.events.push({ env, at: this.clock.now() });
      }
      this.send({ ack: env.seq });
    }
  }
}
