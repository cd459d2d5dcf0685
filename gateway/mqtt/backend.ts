// The MQTT side of the gateway: connection (TLS, client certs, user/password, MQTT 5 or 3.1.1),
// birth/last-will with a birth sequence, retained availability, the outbox drain, the backend's
// application acks and the request/response commands. Topics come only from topics.ts.
//
// Outbox drain: events are published in outbox order (row id), QoS 1, never retained, at most
// [mqtt] inflight at a time. An event leaves the outbox when
//   backend_ack = "application": an EventAck listing its event id arrives on varde/v1/<gw>/ack
//                 (republished after ack_timeout_s without one — consumers dedup by event id);
//   backend_ack = "puback":      the broker's PUBACK arrives (for backends that cannot ack; the broker
//                 then holds responsibility, which is weaker: a consumer that is down loses it unless it
//                 has a persistent session).
// Every event in flight has a timer: without its PUBACK (and, in application mode, its EventAck)
// within ack_timeout_s it is published again. After a reconnect the drain restarts from the oldest
// event and skips those still in flight (the client resends its unacked QoS 1 publishes itself), so
// nothing is forgotten and duplicates stay few; consumers deduplicate by event id anyway.
//
// Birth sequence (bd_seq): incremented and persisted before every connect attempt; the last will
// (online = false) and the birth (online = true) published right after CONNACK carry the same value.
import * as fs from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { GatewayConfig } from "../config.ts";
import type { Outbox, StoredEvent } from "../outbox.ts";
import type { Availability, BackendLink, Gateway } from "../gateway.ts";
import type { Metrics } from "../metrics.ts";
import { COMMANDS, TOPICS, filter, parseTopic, topic, type BackendEvent, type CommandName, type PayloadOf, type TopicName } from "./topics.ts";
import { contentType, decodePayload, encodePayload } from "./payload.ts";
import { decodeEnvelope } from "../wire.ts";
import { nationalCodes } from "../codes.ts";
import type { Logger } from "pino";

const VERSION = "0.1.0";
const KIND: Record<string, number> = { alarm: 1, dispenser: 2 };

export class Backend implements BackendLink {
  client: MqttClient | null = null;
  bdSeq = 0;
  private inflight = new Map<string, { id: number; timer: NodeJS.Timeout | null }>();
  private cursor = 0;
  private draining = false;
  private stopped = false;

  constructor(readonly cfg: GatewayConfig, readonly url: string, readonly gw: Gateway, readonly outbox: Outbox, readonly metrics: Metrics, readonly logger: Logger) {}

  get connected(): boolean {
    return !!this.client?.connected;
  }
  private get gid(): string {
    return this.cfg.gatewayId;
  }
  /** Encodes the payload of topic `name`; the object is type-checked against topics.ts. */
  private enc<N extends TopicName>(name: N, obj: Partial<PayloadOf<N>>): Buffer {
    return encodePayload(this.cfg.mqtt.payloadFormat, TOPICS[name].payload, obj as Record<string, any>);
  }

  private nextBdSeq(): number {
    this.bdSeq = Number(this.outbox.getMeta("bdSeq") ?? 0) + 1;
    this.outbox.setMeta("bdSeq", String(this.bdSeq));
    return this.bdSeq;
  }
  private will(): NonNullable<IClientOptions["will"]> {
    return { topic: topic("state", { gateway: this.gid }), payload: this.enc("state", { online: false, bdSeq: this.bdSeq, time: Math.floor(this.gw.now() / 1000), version: VERSION }), qos: 1, retain: true };
  }

  start(): void {
    const m = this.cfg.mqtt;
    const read = (p: string | undefined) => (p ? fs.readFileSync(p) : undefined);
    this.nextBdSeq();
    const opts: IClientOptions = {
      clientId: m.clientId,
      protocolVersion: m.protocolVersion,
      username: m.username,
      password: m.password,
      ca: read(m.ca),
      cert: read(m.cert),
      key: read(m.key),
      rejectUnauthorized: m.rejectUnauthorized,
      keepalive: m.keepaliveS,
      reconnectPeriod: m.reconnectMs,
      connectTimeout: 10_000,
      // A persistent session: commands (e.g. a responder's ack-alarm) published while the gateway is
      // offline or restarting are queued by the broker and delivered when it is back.
      clean: false,
      ...(m.protocolVersion === 5 ? { properties: { sessionExpiryInterval: m.sessionExpiryS } } : {}),
      will: this.will(),
    };
    const client = mqtt.connect(this.url, opts);
    this.client = client;
    client.on("reconnect", () => {
      this.nextBdSeq();
      client.options.will = this.will();
      this.metrics.inc("varde_mqtt_reconnects_total");
    });
    client.on("connect", () => this.onConnect());
    client.on("close", () => {
      this.metrics.set("varde_mqtt_connected", 0);
      if (!this.stopped) this.gw.emit({ kind: "mqtt-down", text: `broker ${this.url} unreachable; events wait in the outbox (${this.outbox.depth()})` });
    });
    let lastError = "";
    client.on("error", (e) => {
      // once per distinct error, with what to check: a broker that stays away must not flood the log
      if (e.message === lastError) return;
      lastError = e.message;
      this.logger.warn({ err: e.message }, `mqtt ${this.url}: ${e.message}${mqttHint(e)}`);
    });
    client.on("connect", () => (lastError = ""));
    client.on("message", (t, payload, packet) => this.onMessage(t, payload, packet));
  }

  private onConnect(): void {
    const c = this.client!;
    this.metrics.inc("varde_mqtt_connects_total");
    this.metrics.set("varde_mqtt_connected", 1);
    this.gw.emit({ kind: "mqtt-up", text: `connected to broker ${this.url} (birth ${this.bdSeq}); ${this.outbox.depth()} events to send` });
    c.subscribe([filter("command", this.gid), filter("ack", this.gid)], { qos: 1 }, (err) => {
      if (err) this.logger.error({ err: err.message }, "mqtt subscribe failed");
    });
    this.rebirth();
    // Restart the drain from the oldest event, skipping those still in flight: the MQTT client
    // resends its own unacknowledged QoS 1 publishes on the resumed session, and every in-flight
    // event has a timer that republishes it if no ack comes (so none can be forgotten).
    this.cursor = 0;
    this.drain();
  }

  /** Birth: retained gateway state and every known device's availability. */
  rebirth(): void {
    const c = this.client;
    if (!c?.connected) return;
    const online = [...this.gw.devices.values()].filter((d) => d.online).length;
    c.publish(topic("state", { gateway: this.gid }), this.enc("state", { online: true, bdSeq: this.bdSeq, time: Math.floor(this.gw.now() / 1000), version: VERSION, devicesOnline: online, outboxDepth: this.outbox.depth(), outboxFull: this.outbox.full }), this.pubOpts("state", "GatewayState"));
    for (const d of this.gw.devices.values()) if (d.availability) this.publishAvailability(d.id, d.availability);
  }

  private pubOpts(name: keyof typeof TOPICS, typeName: string) {
    const t = TOPICS[name];
    const o: mqtt.IClientPublishOptions = { qos: t.qos, retain: t.retain };
    if (this.cfg.mqtt.protocolVersion === 5) o.properties = { contentType: contentType(this.cfg.mqtt.payloadFormat, typeName) };
    return o;
  }

  publishAvailability(device: number, a: Availability): void {
    if (!this.client?.connected) return; // republished on connect
    this.client.publish(topic("availability", { gateway: this.gid, device }), this.enc("availability", a), this.pubOpts("availability", "DeviceAvailability"));
  }

  notify(): void {
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.client?.connected && this.inflight.size < this.cfg.mqtt.inflight) {
        const rows = this.outbox.pending(this.cfg.mqtt.inflight - this.inflight.size, this.cursor);
        if (rows.length === 0) break;
        for (const ev of rows) {
          this.cursor = ev.id;
          if (!this.inflight.has(ev.eventId)) this.publishEvent(ev);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** The BackendEvent for a stored event. */
  backendEvent(ev: StoredEvent): BackendEvent {
    const env = decodeEnvelope(ev.payload);
    const entry = this.gw.registry.byId.get(ev.device);
    const now = Math.floor(this.gw.now() / 1000);
    const kind = entry ? KIND[entry.kind] : 0;
    return {
      eventId: ev.eventId,
      gateway: this.gid,
      device: ev.device,
      kind,
      type: ev.type,
      time: ev.time,
      received: ev.received,
      late: !!env.late,
      historical: ev.historical || now - ev.received > this.cfg.outbox.historicalAfterS,
      codes: nationalCodes(ev.type, env, kind),
      envelope: env,
      label: entry?.label ?? "",
      test: !!env.alarm?.test,
      scheduled: scheduledTime(ev.type, env),
    };
  }

  private publishEvent(ev: StoredEvent): void {
    const c = this.client!;
    const msg = this.backendEvent(ev);
    const entry: { id: number; timer: NodeJS.Timeout | null } = { id: ev.id, timer: null };
    // No PUBACK (or, in application mode, no EventAck after the PUBACK) within ack_timeout_s:
    // forget the attempt and publish again; when offline, the drain on the next connect does it.
    const arm = () => {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        if (this.inflight.get(ev.eventId) !== entry) return;
        this.inflight.delete(ev.eventId);
        this.logger.warn({ eventId: ev.eventId }, `no ${this.cfg.mqtt.backendAck === "puback" ? "PUBACK" : "application ack"} for ${ev.eventId} within ${this.cfg.mqtt.ackTimeoutS} s; publishing again`);
        const again = this.outbox.pending(1, ev.id - 1)[0];
        if (again && again.eventId === ev.eventId && this.client?.connected) this.publishEvent(again);
      }, this.cfg.mqtt.ackTimeoutS * 1000);
    };
    this.inflight.set(ev.eventId, entry);
    arm();
    this.metrics.inc("varde_events_published_total");
    c.publish(topic("event", { gateway: this.gid, device: ev.device, type: ev.type }), this.enc("event", msg), this.pubOpts("event", "BackendEvent"), (err) => {
      if (err) return; // the client gave up on it (stopping): the timer or the next start republishes
      if (this.inflight.get(ev.eventId) !== entry) return; // superseded by a republish
      if (this.cfg.mqtt.backendAck === "puback") {
        this.done([ev.eventId]);
        return;
      }
      arm(); // the broker has it; now wait for the backend's application ack
    });
  }

  private done(ids: string[]): void {
    for (const id of ids) {
      const f = this.inflight.get(id);
      if (f?.timer) clearTimeout(f.timer);
      this.inflight.delete(id);
    }
    const removed = this.outbox.removeEvents(ids);
    const n = removed.length;
    const now = this.gw.now() / 1000;
    for (const r of removed) this.metrics.observe("varde_event_delivery_seconds", Math.max(0, now - r.received), { type: r.type });
    if (n > 0) {
      this.metrics.inc("varde_events_out_total", undefined, n);
      this.gw.emit({ kind: "delivered", text: `backend has ${ids.length === 1 ? `event ${ids[0]}` : `${n} events`}; removed from the outbox (${this.outbox.depth()} left)`, eventIds: ids });
    }
    this.drain();
  }

  private onMessage(t: string, payload: Buffer, packet: mqtt.IPublishPacket): void {
    const p = parseTopic(t);
    if (!p || p.params.gateway !== this.gid) return;
    if (p.name === "ack") {
      try {
        const ack = decodePayload("EventAck", new Uint8Array(payload));
        this.done(ack.eventIds ?? []);
      } catch (e) {
        this.logger.warn({ topic: t }, `bad EventAck: ${(e as Error).message}`);
      }
      return;
    }
    if (p.name === "command") this.onCommand(p.params.command, payload, packet);
  }

  private respond(command: string, req: { correlationId?: string; responseTopic?: string; correlationData?: Buffer }, res: Record<string, any>): void {
    if (!this.client?.connected) return;
    const opts = this.pubOpts("response", "CommandResponse");
    if (req.correlationData && this.cfg.mqtt.protocolVersion === 5) opts.properties = { ...opts.properties, correlationData: req.correlationData };
    const to = req.responseTopic || topic("response", { gateway: this.gid, command: /^[a-z-]+$/.test(command) ? command : "unknown" });
    this.client.publish(to, this.enc("response", { correlationId: req.correlationId ?? "", ...res }), opts);
  }

  private onCommand(command: string, payload: Buffer, packet: mqtt.IPublishPacket): void {
    const props = packet.properties ?? {};
    const meta = { responseTopic: props.responseTopic, correlationData: props.correlationData as Buffer | undefined, correlationId: "" };
    let req: any;
    try {
      req = decodePayload("CommandRequest", new Uint8Array(payload));
    } catch (e) {
      return this.respond(command, meta, { ok: false, error: `payload is not a CommandRequest (protobuf or JSON): ${(e as Error).message}` });
    }
    meta.correlationId = req.correlationId || (meta.correlationData ? meta.correlationData.toString("utf8") : "");
    this.metrics.inc("varde_commands_total", { command: command in COMMANDS ? command : "unknown" });
    const res = this.execute(command as CommandName, req, meta);
    this.respond(command, meta, res);
  }

  private pendingReplies = new Map<string, { command: string; meta: { correlationId: string; responseTopic?: string; correlationData?: Buffer } }>();

  private execute(command: CommandName, req: any, meta: { correlationId: string; responseTopic?: string; correlationData?: Buffer }): Record<string, any> {
    if (!(command in COMMANDS)) return { ok: false, error: `unknown command "${command}"; known: ${Object.keys(COMMANDS).join(", ")}` };
    if (command === "status") return { ok: true, state: "done", json: JSON.stringify(this.gw.status()) };
    if (command === "rebirth") {
      this.rebirth();
      return { ok: true, state: "done" };
    }
    const device = req.device ?? 0;
    if (!this.gw.registry.byId.has(device)) return { ok: false, error: `device ${device} is not in the registry (${this.gw.registry.path}); provision it with \`varde provision\` and restart the gateway` };
    let body: Record<string, any>;
    switch (command) {
      case "ack-alarm":
        if (!req.alarmSeq) return { ok: false, error: "ack-alarm needs alarm_seq (the seq of the device's alarm, from its event_id device:boot:seq)" };
        body = { alarmAck: { alarmSeq: req.alarmSeq, responder: (req.responder ?? "").slice(0, 16) } };
        break;
      case "set-schedule":
        if (!req.schedule) return { ok: false, error: "set-schedule needs schedule" };
        body = { schedule: req.schedule };
        break;
      case "set-heartbeat":
        // A Config replaces the device's whole config (0 = board default), so the other fields come
        // from the last config sent to this device.
        if (!req.heartbeatS) return { ok: false, error: "set-heartbeat needs heartbeat_s > 0" };
        body = { config: this.gw.rememberConfig(device, { ...this.gw.lastConfig(device), heartbeatS: req.heartbeatS, version: this.gw.nextConfigVersion(device) }) };
        break;
      case "set-config":
        if (!req.config) return { ok: false, error: "set-config needs config" };
        body = { config: this.gw.rememberConfig(device, { ...req.config, version: req.config.version || this.gw.nextConfigVersion(device) }) };
        break;
      case "device-command":
        if (!req.command) return { ok: false, error: "device-command needs command" };
        body = { command: req.command };
        break;
      default:
        return { ok: false, error: `unknown command "${command}"` };
    }
    const corr = meta.correlationId || `auto-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    // stored as "<command> <correlation id>" so a delivery after a gateway restart is still answered
    const { seq } = this.gw.queueDownlink(device, body, `${command} ${corr}`);
    this.pendingReplies.set(corr, { command, meta: { ...meta, correlationId: corr } });
    return { ok: true, state: "queued", downlinkSeq: seq };
  }

  downlinkDelivered(stored: string, _device: number, seq: number): void {
    const sp = stored.indexOf(" ");
    const command = stored.slice(0, sp);
    const correlation = stored.slice(sp + 1);
    const p = this.pendingReplies.get(correlation);
    this.pendingReplies.delete(correlation);
    // After a gateway restart the MQTT 5 properties are gone; the default response topic still works.
    this.respond(command, p?.meta ?? { correlationId: correlation }, { ok: true, state: "delivered", downlinkSeq: seq });
  }

  /** Graceful stop: publish offline state (same bd_seq as the will) and disconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.inflight.values()) if (f.timer) clearTimeout(f.timer);
    const c = this.client;
    if (!c) return;
    if (c.connected) {
      await new Promise<void>((r) => c.publish(topic("state", { gateway: this.gid }), this.enc("state", { online: false, bdSeq: this.bdSeq, time: Math.floor(this.gw.now() / 1000), version: VERSION }), { qos: 1, retain: true }, () => r()));
    }
    // not connected: a forced end (a graceful one would wait for a broker that is not there)
    await new Promise<void>((r) => c.end(!c.connected, {}, () => r()));
  }
}

/** What a person should check for common connection errors. */
export function mqttHint(e: Error & { code?: string | number }): string {
  const m = `${e.code ?? ""} ${e.message}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(m)) return " — is the broker running and [mqtt] url right? Events wait in the outbox meanwhile";
  if (/certificate|self[- ]signed|CERT_|unable to verify|altnames/i.test(m)) return " — check [mqtt] ca (the CA that signed the broker's certificate) and that the url's host name is in the certificate";
  if (/Not authorized|Bad username|bad user name|password/i.test(m)) return " — check [mqtt] username/password, or the client certificate [mqtt] cert/key";
  return "";
}

/**
 * A dose event's scheduled time: the device sends only the delay (DoseEvent.delay_s = Envelope.time -
 * scheduled) so a framed dose fits one BLE notification; the backend gets the time itself. 0 otherwise.
 */
export function scheduledTime(type: string, env: any): number {
  if (type !== "dose" || !env.dose) return 0;
  const t = (env.time ?? 0) - (env.dose.delayS ?? 0);
  return t > 0 ? t : 0;
}
