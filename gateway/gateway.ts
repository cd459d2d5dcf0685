// The gateway core: sessions from all transports, per-device state (availability, heartbeat
// supervision, downlink delivery) and the path of a device event into the outbox.
//
// Rules it enforces (DESIGN.md "Gateway"):
//  * A reliable device frame (seq != 0) is acked (Envelope.ack = seq) only after its event is
//    committed to the outbox; a retransmission (seq <= highest stored) is acked again, not stored.
//    When the outbox is full and nothing droppable is left, the frame is NOT acked: the event stays in
//    the device's flash outbox and is retransmitted later.
//  * Best-effort frames (seq = 0) are accepted only on a link whose handshake completed (the nonce
//    makes them fresh); reliable frames are accepted at any time (the replay check covers them).
//  * Downlink is queued durably per device with a per-device seq and delivered in order, one in flight,
//    retried with backoff until the device acks it (or reports it applied via DeviceInfo.last_downlink).
//  * Supervision: a device is lost after missed_heartbeats × its heartbeat interval without any
//    authenticated frame; it is back at its next frame. Both change the retained availability and
//    produce a device_lost / device_back event.
import { EventEmitter } from "node:events";
import * as crypto from "node:crypto";
import type { Registry } from "./registry.ts";
import type { Outbox, Priority, SubmitResult } from "./outbox.ts";
import { Session, type RejectReason, type SessionHost } from "./session.ts";
import type { Link } from "./transports/transport.ts";
import { bodyName, decodeEnvelope, encodeEnvelope } from "./wire.ts";
import type { GatewayConfig } from "./config.ts";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "pino";
import { realClock, type GatewayClock } from "./clock.ts";
import { describeEvent } from "./describe.ts";

/** A readable line for people (the demo prints these) plus structured fields. */
export interface BusEvent {
  kind: string;
  text: string;
  device?: number;
  [k: string]: unknown;
}

export interface Availability {
  online: boolean;
  time: number;
  reason: string;
  lastSeen: number;
  firmware: string;
  board: string;
}

interface DeviceState {
  id: number;
  session: Session | null;
  online: boolean | null; // null = not known since start
  lastSeen: number; // ms
  heartbeatS: number;
  firmware: string;
  board: string;
  inflight: { seq: number; timer: unknown; delay: number } | null;
  availability: Availability | null;
}

const TYPE_OF: Record<string, string> = {
  alarm: "alarm", dose: "dose", fault: "fault", battery: "battery", supply: "supply", heartbeat: "heartbeat",
  scheduleAck: "schedule_ack", configAck: "config_ack", status: "status",
};

export interface BackendLink {
  readonly connected: boolean;
  /** new events are in the outbox */
  notify(): void;
  publishAvailability(device: number, a: Availability): void;
  /** a queued downlink with a correlation id reached the device */
  downlinkDelivered(correlation: string, device: number, seq: number, kind: string): void;
}

export class Gateway implements SessionHost {
  readonly boot = crypto.randomBytes(4).readUInt32BE(0) || 1;
  readonly bus = new EventEmitter();
  readonly devices = new Map<number, DeviceState>();
  readonly sessions = new Set<Session>();
  backend: BackendLink | null = null;
  private superviseTimer: unknown = null;
  private gwSeq = 0;
  private readonly startedAt: number;
  get cfg() {
    return this.config.session;
  }

  /** `clock` (gateway/clock.ts): every timestamp and timer of the core; the wall clock by default. */
  constructor(readonly config: GatewayConfig, public registry: Registry, readonly outbox: Outbox, readonly metrics: Metrics, readonly logger: Logger, readonly clock: GatewayClock = realClock) {
    this.startedAt = clock.now();
    for (const d of registry.devices) this.state(d.id);
  }

  now(): number {
    return this.clock.now();
  }

  emit(e: BusEvent): void {
    this.bus.emit("event", e);
  }

  log(level: "debug" | "info" | "warn", msg: string, extra: object = {}): void {
    this.logger[level](extra, msg);
  }

  private state(id: number): DeviceState {
    let s = this.devices.get(id);
    if (!s) {
      const saved = this.outbox.getMeta(`avail:${id}`);
      const a: Availability | null = saved ? JSON.parse(saved) : null;
      s = { id, session: null, online: a ? a.online : null, lastSeen: this.startedAt, heartbeatS: this.cfg.heartbeatS, firmware: a?.firmware ?? "", board: a?.board ?? "", inflight: null, availability: a };
      this.devices.set(id, s);
    }
    return s;
  }

  /** A new registry (the file changed: a device was provisioned): new devices are accepted at once. */
  setRegistry(reg: Registry): void {
    const added = reg.devices.filter((d) => !this.registry.byId.has(d.id)).map((d) => d.id);
    this.registry = reg;
    for (const d of reg.devices) this.state(d.id);
    if (added.length) {
      this.emit({ kind: "registry", text: `registry reloaded: device(s) ${added.join(", ")} provisioned` });
      for (const s of this.sessions) if (!s.up) s.restartHandshake(); // a waiting link may be one of them
    }
  }

  start(): void {
    this.superviseTimer = this.clock.setInterval(() => this.supervise(), this.superviseEveryMs());
  }

  /** A transport brought a link up. */
  addLink(link: Link): void {
    const s = new Session(link, this);
    this.sessions.add(s);
    this.metrics.inc("varde_links_opened_total");
    this.emit({ kind: "link", text: `link ${link.name} up; handshake started` });
    s.start();
  }

  onClose(s: Session): void {
    this.sessions.delete(s);
    this.emit({ kind: "link-closed", text: `link ${s.link.name} closed`, device: s.device || undefined });
    if (s.device) {
      const d = this.state(s.device);
      if (d.session === s) {
        d.session = null;
        if (d.inflight) this.clock.clearTimeout(d.inflight.timer);
        d.inflight = null;
      }
    }
  }

  onReject(s: Session, reason: RejectReason, device: number): void {
    this.metrics.inc("varde_frames_rejected_total", { reason });
    // security-relevant rejections are warnings; the others are expected in normal operation (a
    // full outbox is reported once by the outbox itself)
    const warn = reason === "unknown_device" || reason === "bad_mac" || reason === "malformed";
    this.log(warn ? "warn" : "debug", `${s.link.name}: frame rejected (${reason})`, { device, reason });
    this.emit({ kind: "rejected", text: `rejected a frame on ${s.link.name} from device ${device}: ${reason}`, device, reason });
  }

  onHandshake(s: Session, device: number, info: any): void {
    const d = this.state(device);
    d.session = s; // the newest handshake wins (a device reachable over two links is served on the latest)
    d.firmware = info.firmware ?? "";
    d.board = info.board ?? "";
    this.metrics.inc("varde_handshakes_total");
    this.emit({ kind: "handshake", text: `device ${device} (${this.registry.byId.get(device)?.label || "no label"}) session up on ${s.link.name}: firmware ${d.firmware || "?"}, ${info.outboxDepth ?? 0} events waiting in its outbox`, device });
    this.seen(device, "session");
    const next = info.seq ?? 0;
    if (next > 0 && next <= this.outbox.seen(device)) {
      this.log("warn", `device ${device} restarted its seq at ${next} (highest stored ${this.outbox.seen(device)}): re-flashed or flash lost; accepting its new events`, { device });
      this.metrics.inc("varde_device_seq_resets_total");
      this.emit({ kind: "seq-reset", text: `device ${device} lost its seq (now ${next}); its new events are accepted`, device });
      this.outbox.resetSeen(device, next);
    }
    if ((info.lastDownlink ?? 0) > 0) this.downlinkAcked(device, info.lastDownlink);
    if (d.inflight) {
      this.clock.clearTimeout(d.inflight.timer);
      d.inflight = null;
    }
    this.pump(device);
  }

  onFrame(s: Session, device: number, env: any, payload: Uint8Array): void {
    const d = this.state(device);
    if (!d.session || d.session.closed) d.session = s;
    this.metrics.inc("varde_frames_in_total");
    this.seen(device, "frame");
    if ((env.ack ?? 0) !== 0) this.downlinkAcked(device, env.ack);
    const body = bodyName(env);
    const type = TYPE_OF[body];
    if (body === "heartbeat" && env.heartbeat.intervalS) d.heartbeatS = env.heartbeat.intervalS;
    if (!type) return; // a bare ack, or a body the gateway does not take from devices
    const seq = env.seq ?? 0;
    if (seq === 0 && !(s.up && s.device === device)) {
      this.onReject(s, "no_session", device); // best-effort frame outside a handshaken session: cannot prove freshness
      return;
    }
    const boot = env.boot ?? 0;
    const priority: Priority = type === "heartbeat" || (type === "battery" && !env.battery.low) ? 0 : 1;
    const eventId = seq !== 0 ? `${device}:${boot}:${seq}` : `${device}:${boot}:0-${crypto.randomBytes(4).toString("hex")}`;
    const received = Math.floor(this.now() / 1000);
    const historical = !(this.backend?.connected ?? false);
    this.outbox
      .submit({ eventId, device, boot, seq, type, priority, time: env.time ?? received, received, historical, payload: new Uint8Array(payload) })
      .then((r: SubmitResult) => {
        if (r === "full") {
          this.onReject(s, "outbox_full", device);
          return;
        }
        if (seq !== 0) s.send({ device, boot: this.boot, ack: seq, time: Math.floor(this.now() / 1000) });
        if (r === "duplicate") {
          this.metrics.inc("varde_duplicates_total");
          this.emit({ kind: "duplicate", text: `device ${device} resent event ${eventId} (already stored); acked again`, device, eventId });
          return;
        }
        this.metrics.inc("varde_events_in_total", { type });
        if (type !== "heartbeat") this.emit({ kind: "stored", text: `device ${device} ${describeEvent(type, env)} → stored as ${eventId}${seq ? ", acked to the device" : ""}`, device, eventId, type });
        this.backend?.notify();
      })
      .catch((e: Error) => this.log("warn", `outbox: ${e.message}`));
  }

  /** Any authenticated frame: the device is alive. */
  private seen(device: number, reason: string): void {
    const d = this.state(device);
    d.lastSeen = this.now();
    if (d.online !== true) {
      const wasLost = d.online === false;
      this.setAvailability(d, true, reason);
      if (wasLost) this.gatewayEvent(device, "device_back", `device ${device} is back`);
    }
  }

  private setAvailability(d: DeviceState, online: boolean, reason: string): void {
    d.online = online;
    const a: Availability = { online, time: Math.floor(this.now() / 1000), reason, lastSeen: Math.floor(d.lastSeen / 1000), firmware: d.firmware, board: d.board };
    d.availability = a;
    this.outbox.setMeta(`avail:${d.id}`, JSON.stringify(a));
    this.metrics.set("varde_devices_online", [...this.devices.values()].filter((x) => x.online).length);
    this.emit({ kind: online ? "online" : "offline", text: `device ${d.id} ${online ? "online" : "OFFLINE"} (${reason})`, device: d.id });
    this.backend?.publishAvailability(d.id, a);
  }

  /** An event the gateway itself raises about a device (lost / back). */
  private gatewayEvent(device: number, type: string, text: string): void {
    const now = Math.floor(this.now() / 1000);
    const eventId = `${device}:g${this.boot}:${++this.gwSeq}`;
    const payload = encodeEnvelope({ device, time: now });
    this.outbox
      .submit({ eventId, device, boot: 0, seq: 0, type, priority: 1, time: now, received: now, historical: !(this.backend?.connected ?? false), payload })
      .then(() => {
        this.emit({ kind: type, text: `${text} → event ${eventId}`, device, eventId });
        this.backend?.notify();
      })
      .catch((e: Error) => this.log("warn", `outbox: ${e.message}`));
  }

  /**
   * Supervision tick: a quarter of the configured heartbeat, clamped to 50 ms .. 1 s. A device is therefore
   * reported lost at most one tick after heartbeat_s × missed_heartbeats of silence.
   */
  superviseEveryMs(): number {
    return Math.max(50, Math.min(1000, (this.cfg.heartbeatS * 1000) / 4));
  }

  private supervise(): void {
    const now = this.now();
    for (const d of this.devices.values()) {
      if (d.online === false) continue;
      if (!this.registry.byId.has(d.id)) continue;
      if (now - d.lastSeen > d.heartbeatS * this.cfg.missedHeartbeats * 1000) {
        this.setAvailability(d, false, "heartbeat_missed");
        this.gatewayEvent(d.id, "device_lost", `device ${d.id} missed ${this.cfg.missedHeartbeats} heartbeats (${d.heartbeatS} s each)`);
      }
    }
  }

  // ---- downlink ----

  /** Queues a downlink body (e.g. {alarmAck: {...}}) for the device; delivered in order when it is reachable. */
  queueDownlink(device: number, body: Record<string, any>, correlation = ""): { seq: number } {
    const kind = Object.keys(body)[0];
    const row = this.outbox.queueDownlink(device, kind, encodeEnvelope(body), correlation);
    this.metrics.inc("varde_downlink_queued_total", { kind });
    this.emit({ kind: "downlink-queued", text: `${kind} queued for device ${device} as downlink ${row.seq}`, device, seq: row.seq });
    this.pump(device);
    return { seq: row.seq };
  }

  private pump(device: number): void {
    const d = this.state(device);
    if (!d.session || !d.session.up || d.session.closed || d.inflight) return;
    const row = this.outbox.nextDownlink(device);
    if (!row) return;
    const send = () => {
      const env = { ...decodeEnvelope(row.body), device, boot: this.boot, seq: row.seq, time: Math.floor(this.now() / 1000) };
      d.session?.send(env);
    };
    const retry = (delay: number) => {
      const timer = this.clock.setTimeout(() => {
        if (!d.inflight || d.inflight.seq !== row.seq) return;
        if (!d.session || d.session.closed) {
          d.inflight = null;
          return;
        }
        send();
        this.metrics.inc("varde_downlink_retries_total");
        retry(Math.min(delay * 2, this.cfg.downlinkRetryMaxMs));
      }, delay);
      d.inflight = { seq: row.seq, timer, delay };
    };
    send();
    retry(this.cfg.downlinkRetryMs);
  }

  private downlinkAcked(device: number, seq: number): void {
    const d = this.state(device);
    const rows = this.outbox.ackDownlink(device, seq);
    if (d.inflight && d.inflight.seq <= seq) {
      this.clock.clearTimeout(d.inflight.timer);
      d.inflight = null;
    }
    for (const r of rows) {
      this.metrics.inc("varde_downlink_delivered_total", { kind: r.kind });
      this.emit({ kind: "downlink-delivered", text: `device ${device} acknowledged downlink ${r.seq} (${r.kind})`, device, seq: r.seq });
      if (r.correlation) this.backend?.downlinkDelivered(r.correlation, device, r.seq, r.kind);
    }
    this.pump(device);
  }

  /** Config version per device grows with each Config the gateway sends. */
  nextConfigVersion(device: number): number {
    const k = `cfgver:${device}`;
    const v = Number(this.outbox.getMeta(k) ?? 0) + 1;
    this.outbox.setMeta(k, String(v));
    return v;
  }

  /** The last Config queued for the device (without its version), {} when none. */
  lastConfig(device: number): Record<string, any> {
    const c = JSON.parse(this.outbox.getMeta(`cfg:${device}`) ?? "{}");
    delete c.version;
    return c;
  }
  rememberConfig(device: number, config: Record<string, any>): Record<string, any> {
    this.outbox.setMeta(`cfg:${device}`, JSON.stringify(config));
    return config;
  }

  availabilityOf(device: number): Availability | null {
    return this.devices.get(device)?.availability ?? null;
  }

  status() {
    return {
      boot: this.boot,
      uptimeS: Math.floor((this.now() - this.startedAt) / 1000),
      outbox: { depth: this.outbox.depth(), bytes: this.outbox.sizeBytes(), full: this.outbox.full, downlink: this.outbox.downlinkDepth() },
      links: [...this.sessions].map((s) => ({ name: s.link.name, device: s.device || null, up: s.up })),
      devices: [...this.devices.values()].map((d) => ({
        id: d.id,
        label: this.registry.byId.get(d.id)?.label ?? "",
        kind: this.registry.byId.get(d.id)?.kind ?? "",
        online: d.online,
        lastSeen: new Date(d.lastSeen).toISOString(),
        heartbeatS: d.heartbeatS,
        firmware: d.firmware,
        link: d.session && !d.session.closed ? d.session.link.name : null,
        downlinkQueued: this.outbox.downlinkDepth(d.id),
      })),
    };
  }

  stop(): void {
    if (this.superviseTimer) this.clock.clearInterval(this.superviseTimer);
    this.superviseTimer = null;
    for (const d of this.devices.values()) if (d.inflight) this.clock.clearTimeout(d.inflight.timer);
    for (const s of [...this.sessions]) s.close();
  }
}
