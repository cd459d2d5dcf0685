// The gateway core: sessions from all transports, the device table (devices.ts: availability and
// heartbeat supervision), the path of a device event into the store, and downlink delivery.
//
// Rules it enforces (DESIGN.md "Gateway"):
//  * A reliable device frame (seq != 0) is acked (Envelope.ack = seq) only after its event is
//    durable in the store; a retransmission (seq <= highest stored) is acked again, not stored.
//    When the outbox is full and nothing droppable is left, or the disk refuses writes (full,
//    read-only), the frame is NOT acked: the event stays in the device's flash outbox and is
//    retransmitted later.
//  * The backend is told about an accepted event at once (it may publish while the disk syncs); the
//    device's ack waits for the disk. A crash in between costs a duplicate publish, never an event.
//  * Best-effort frames (seq = 0) are accepted only when fresh (on the device's handshaken link);
//    reliable frames are accepted from any link (the replay check covers them).
//  * Only fresh frames and handshakes are signs of life (devices.ts).
//  * Downlink is queued durably per device with a per-device seq, sent only once durable, delivered in
//    order, one in flight, retried with backoff until the device acks it (or reports it applied via
//    DeviceInfo.last_downlink).
import { EventEmitter } from "node:events";
import * as crypto from "node:crypto";
import type { Registry } from "./registry.ts";
import type { Availability, DownlinkRow, Priority, Store } from "./store/store.ts";
import { Session, type RejectReason, type SessionHost } from "./session.ts";
import type { Link } from "./transports/transport.ts";
import { bodyName, decodeEnvelope, encodeEnvelope } from "./wire.ts";
import type { GatewayConfig } from "./config.ts";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "pino";
import { realClock, type GatewayClock } from "./clock.ts";
import { describeEvent } from "./describe.ts";
import { DeviceTable, type DeviceState } from "./devices.ts";
import { RejectLog } from "./reject-log.ts";

export type { Availability };

/** A readable line for people (the demo prints these) plus structured fields. */
export interface BusEvent {
  kind: string;
  text: string;
  device?: number;
  [k: string]: unknown;
}

const TYPE_OF: Record<string, string> = {
  alarm: "alarm", dose: "dose", fault: "fault", battery: "battery", supply: "supply", heartbeat: "heartbeat",
  scheduleAck: "schedule_ack", configAck: "config_ack", status: "status",
};

/** What the core needs from the MQTT side (mqtt/backend.ts). */
export interface BackendPort {
  readonly connected: boolean;
  /** new events are in the store */
  notify(): void;
  publishAvailability(device: number, a: Availability): void;
  /** a queued downlink reached the device */
  downlinkDelivered(row: DownlinkRow): void;
}

const SECURITY: ReadonlySet<RejectReason> = new Set(["unknown_device", "bad_mac", "malformed", "framing"]);

export class Gateway implements SessionHost {
  readonly boot = crypto.randomBytes(4).readUInt32BE(0) || 1;
  readonly bus = new EventEmitter();
  readonly devices: DeviceTable;
  readonly sessions = new Set<Session>();
  backend: BackendPort | null = null;
  private superviseTimer: unknown = null;
  private gwSeq = 0;
  private readonly startedMono: number;
  private readonly rejects: RejectLog;
  get cfg() {
    return this.config.session;
  }

  /** `clock` (gateway/clock.ts): every timestamp and timer of the core; the system clock by default. */
  constructor(readonly config: GatewayConfig, public registry: Registry, readonly store: Store, readonly metrics: Metrics, readonly logger: Logger, readonly clock: GatewayClock = realClock) {
    this.startedMono = clock.monotonic();
    this.devices = new DeviceTable({
      clock,
      heartbeatS: config.session.heartbeatS,
      missedHeartbeats: config.session.missedHeartbeats,
      saved: (id) => store.device(id)?.availability ?? null,
      supervised: (id) => this.registry.byId.has(id),
      changed: (d, online, reason, wasLost) => this.availabilityChanged(d, online, reason, wasLost),
    });
    for (const d of registry.devices) this.devices.get(d.id);
    this.rejects = new RejectLog(clock, (line, fields) => this.logger.warn(fields, line), { windowMs: config.log.rejectsEveryS * 1000 });
  }

  now(): number {
    return this.clock.now();
  }

  emit(e: BusEvent): void {
    this.bus.emit("event", e);
  }

  /** Someone reads the readable lines (varde gateway without --quiet, the demo): build them only then. */
  get listening(): boolean {
    return this.bus.listenerCount("event") > 0;
  }

  log(level: "debug" | "info" | "warn", msg: string, extra: object = {}): void {
    this.logger[level](extra, msg);
  }

  /** A new registry (the file changed: a device was provisioned): new devices are accepted at once. */
  setRegistry(reg: Registry): void {
    const added = reg.devices.filter((d) => !this.registry.byId.has(d.id)).map((d) => d.id);
    this.registry = reg;
    for (const d of reg.devices) this.devices.get(d.id);
    if (added.length) {
      this.emit({ kind: "registry", text: `registry reloaded: device(s) ${added.join(", ")} provisioned` });
      for (const s of this.sessions) if (!s.up) s.restartHandshake(); // a waiting link may be one of them
    }
  }

  start(): void {
    this.superviseTimer = this.clock.setInterval(() => this.devices.supervise(), this.devices.tickMs());
  }

  /** Supervision tick length (ms). */
  superviseEveryMs(): number {
    return this.devices.tickMs();
  }

  /** A transport brought a link up. */
  addLink(link: Link): void {
    const s = new Session(link, this);
    this.sessions.add(s);
    this.metrics.inc("varde_links_opened_total");
    if (this.listening) this.emit({ kind: "link", text: `link ${link.name} up; handshake started` });
    s.start();
  }

  onClose(s: Session): void {
    this.sessions.delete(s);
    if (this.listening) this.emit({ kind: "link-closed", text: `link ${s.link.name} closed`, device: s.device || undefined });
    if (s.device) {
      const d = this.devices.get(s.device);
      if (d.session === s) {
        d.session = null;
        if (d.inflight) this.clock.clearTimeout(d.inflight.timer);
        d.inflight = null;
      }
    }
  }

  onReject(s: Session, reason: RejectReason, device: number, count = 1): void {
    this.metrics.inc("varde_frames_rejected_total", { reason }, count);
    // security-relevant rejections are warnings, rate-limited with a summary (reject-log.ts); the
    // others are expected in normal operation (a full outbox or a disk fault is reported by the store)
    const text = reason === "framing" ? `${s.link.name}: ${count} frame(s) lost to framing (bad length, CRC or truncated)` : `${s.link.name}: frame rejected (${reason})${device ? ` from device ${device}` : ""}`;
    if (!SECURITY.has(reason)) {
      this.log("debug", text, { device, reason });
      return;
    }
    if (this.rejects.note(reason, s.link.name, text, { device, reason, link: s.link.name }, count))
      this.emit({ kind: "rejected", text: `rejected ${count > 1 ? `${count} frames` : "a frame"} on ${s.link.name}${device ? ` from device ${device}` : ""}: ${reason}`, device, reason });
  }

  onNoise(s: Session, bytes: number): void {
    this.metrics.inc("varde_link_noise_bytes_total", undefined, bytes);
    this.log("debug", `${s.link.name}: ${bytes} byte(s) outside frames (debug text or line noise)`);
  }

  onHandshake(s: Session, device: number, info: any): void {
    const d = this.devices.get(device);
    d.session = s; // the newest handshake wins (a device reachable over two links is served on the latest)
    d.firmware = info.firmware ?? "";
    d.board = info.board ?? "";
    this.metrics.inc("varde_handshakes_total");
    if (this.listening) this.emit({ kind: "handshake", text: `device ${device} (${this.registry.byId.get(device)?.label || "no label"}) session up on ${s.link.name}: firmware ${d.firmware || "?"}, ${info.outboxDepth ?? 0} events waiting in its outbox`, device });
    this.devices.alive(device, "session");
    const next = info.seq ?? 0;
    if (next > 0 && next <= this.store.seen(device)) {
      this.log("warn", `device ${device} restarted its seq at ${next} (highest stored ${this.store.seen(device)}): re-flashed or flash lost; accepting its new events`, { device });
      this.metrics.inc("varde_device_seq_resets_total");
      this.emit({ kind: "seq-reset", text: `device ${device} lost its seq (now ${next}); its new events are accepted`, device });
      this.store.resetSeen(device, next);
    }
    if ((info.lastDownlink ?? 0) > 0) this.downlinkAcked(device, info.lastDownlink);
    if (d.inflight) {
      this.clock.clearTimeout(d.inflight.timer);
      d.inflight = null;
    }
    this.pump(device);
  }

  onFrame(s: Session, device: number, env: any, payload: Uint8Array, fresh: boolean): void {
    this.metrics.inc("varde_frames_in_total");
    const body = bodyName(env);
    if (fresh) {
      const d = this.devices.alive(device, "frame");
      if (body === "heartbeat" && env.heartbeat.intervalS) d.heartbeatS = env.heartbeat.intervalS;
    }
    if ((env.ack ?? 0) !== 0) this.downlinkAcked(device, env.ack);
    const type = TYPE_OF[body];
    if (!type) return; // a bare ack, or a body the gateway does not take from devices
    const seq = env.seq ?? 0;
    if (seq === 0 && !fresh) {
      this.onReject(s, "no_session", device); // best-effort frame outside a handshaken session: cannot prove freshness
      return;
    }
    const boot = env.boot ?? 0;
    const priority: Priority = type === "heartbeat" || (type === "battery" && !env.battery.low) ? 0 : 1;
    const eventId = seq !== 0 ? `${device}:${boot}:${seq}` : `${device}:${boot}:0-${crypto.randomBytes(4).toString("hex")}`;
    const received = Math.floor(this.now() / 1000);
    const historical = !(this.backend?.connected ?? false);
    this.backend?.notify(); // published while the disk syncs (scheduled before the store's batch: published first)
    this.store.accept({ eventId, device, boot, seq, type, priority, time: env.time ?? received, received, historical, payload, env, acceptedAt: this.clock.monotonic() }, (e, r) => {
      if (e) return this.onReject(s, "storage_fault", device);
      if (r === "full") return this.onReject(s, "outbox_full", device);
      if (seq !== 0) s.sendAck(device, seq);
      // an event the store could not keep in memory (spilled: a backlog, or the first moments after a
      // start) is readable by the drain only once its batch committed: pump again now that it has
      if (r === "stored" && this.store.spilled) this.backend?.notify();
      if (r === "duplicate") {
        this.metrics.inc("varde_duplicates_total");
        if (this.listening) this.emit({ kind: "duplicate", text: `device ${device} resent event ${eventId} (already stored); acked again`, device, eventId });
        return;
      }
      this.metrics.inc("varde_events_in_total", { type });
      if (type !== "heartbeat" && this.listening) this.emit({ kind: "stored", text: `device ${device} ${describeEvent(type, env)} → stored as ${eventId}${seq ? ", acked to the device" : ""}`, device, eventId, type });
    });
  }

  private availabilityChanged(d: DeviceState, online: boolean, reason: string, wasLost: boolean): void {
    const a = d.availability!;
    this.store.setAvailability(d.id, a);
    if (this.listening) this.emit({ kind: online ? "online" : "offline", text: `device ${d.id} ${online ? "online" : "OFFLINE"} (${reason})`, device: d.id });
    this.backend?.publishAvailability(d.id, a);
    if (!online) this.gatewayEvent(d.id, "device_lost", `device ${d.id} missed ${this.cfg.missedHeartbeats} heartbeats (${d.heartbeatS} s each)`);
    else if (wasLost) this.gatewayEvent(d.id, "device_back", `device ${d.id} is back`);
  }

  /** An event the gateway itself raises about a device (lost / back). */
  private gatewayEvent(device: number, type: string, text: string): void {
    const now = Math.floor(this.now() / 1000);
    const eventId = `${device}:g${this.boot}:${++this.gwSeq}`;
    const env = { device, time: now };
    const stored = this.store.submit({ eventId, device, boot: 0, seq: 0, type, priority: 1, time: now, received: now, historical: !(this.backend?.connected ?? false), payload: encodeEnvelope(env), env: decodeEnvelope(encodeEnvelope(env)), acceptedAt: this.clock.monotonic() });
    this.backend?.notify();
    stored.then(
      (r) => {
        if (r === "stored") this.emit({ kind: type, text: `${text} → event ${eventId}`, device, eventId });
        else this.log("warn", `${text}: event ${eventId} not stored (outbox ${r})`, { device });
      },
      (e: Error) => this.log("warn", `${text}: event ${eventId} not stored: ${e.message}`, { device }),
    );
  }

  // ---- downlink ----

  /**
   * Queues a downlink body (e.g. {alarmAck: {...}}) for the device; resolves with its seq once it is
   * durable, and it is then delivered in order when the device is reachable. `config`: a Config body's
   * version and content, remembered as the device's last config.
   */
  async queueDownlink(device: number, body: Record<string, any>, correlation = "", config?: { version: number; config: Record<string, any> }): Promise<{ seq: number }> {
    const kind = Object.keys(body)[0];
    const row = await this.store.queueDownlink(device, kind, encodeEnvelope(body), correlation, config);
    this.metrics.inc("varde_downlink_queued_total", { kind });
    this.emit({ kind: "downlink-queued", text: `${kind} queued for device ${device} as downlink ${row.seq}`, device, seq: row.seq });
    this.pump(device);
    return { seq: row.seq };
  }

  private pump(device: number): void {
    const d = this.devices.get(device);
    if (!d.session || !d.session.up || d.session.closed || d.inflight) return;
    const row = this.store.nextDownlink(device);
    if (!row || row.pending) return; // not durable yet: queueDownlink pumps again when it is
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
      d.inflight = { seq: row.seq, timer };
    };
    send();
    retry(this.cfg.downlinkRetryMs);
  }

  private downlinkAcked(device: number, seq: number): void {
    const d = this.devices.get(device);
    const rows = this.store.ackDownlink(device, seq);
    if (d.inflight && d.inflight.seq <= seq) {
      this.clock.clearTimeout(d.inflight.timer);
      d.inflight = null;
    }
    for (const r of rows) {
      this.metrics.inc("varde_downlink_delivered_total", { kind: r.kind });
      this.emit({ kind: "downlink-delivered", text: `device ${device} acknowledged downlink ${r.seq} (${r.kind})`, device, seq: r.seq });
      if (r.correlation) this.backend?.downlinkDelivered(r);
    }
    this.pump(device);
  }

  availabilityOf(device: number): Availability | null {
    return this.devices.all.get(device)?.availability ?? null;
  }

  status() {
    const mem = process.memoryUsage();
    return {
      boot: this.boot,
      memory: { rssMB: Math.round(mem.rss / 1e5) / 10, heapUsedMB: Math.round(mem.heapUsed / 1e5) / 10, heapTotalMB: Math.round(mem.heapTotal / 1e5) / 10, externalMB: Math.round(mem.external / 1e5) / 10 },
      uptimeS: Math.floor((this.clock.monotonic() - this.startedMono) / 1000),
      outbox: { depth: this.store.depth(), bytes: this.store.sizeBytes(), full: this.store.full, fault: this.store.fault?.message ?? null, downlink: this.store.downlinkDepth() },
      links: [...this.sessions].map((s) => ({ name: s.link.name, device: s.device || null, up: s.up })),
      devices: [...this.devices.all.values()].map((d) => ({
        id: d.id,
        label: this.registry.byId.get(d.id)?.label ?? "",
        kind: this.registry.byId.get(d.id)?.kind ?? "",
        online: d.online,
        lastSeen: new Date(d.lastSeenWall).toISOString(),
        heartbeatS: d.heartbeatS,
        firmware: d.firmware,
        link: d.session && !d.session.closed ? d.session.link.name : null,
        downlinkQueued: this.store.downlinkDepth(d.id),
      })),
    };
  }

  stop(): void {
    if (this.superviseTimer) this.clock.clearInterval(this.superviseTimer);
    this.superviseTimer = null;
    this.rejects.stop();
    for (const d of this.devices.all.values()) if (d.inflight) this.clock.clearTimeout(d.inflight.timer);
    for (const s of [...this.sessions]) s.close();
  }
}
