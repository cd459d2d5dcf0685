// The MQTT side of the gateway, composed from one module per job, each behind a narrow port:
//   connection.ts  broker connection, TLS, reconnect with backoff, last will and birth (bd_seq)
//   drain.ts       the outbox drain: publish in order, window, acks (PUBACK or EventAck) with timeouts
//   event-map.ts   a stored event → the contract's BackendEvent
//   commands.ts    requests → downlink or answers, response routing and the "delivered" correlation
// This file wires them to the gateway core (gateway.ts BackendPort) and routes incoming messages.
// Topics come only from topics.ts.
import type { IClientPublishOptions, IPublishPacket } from "mqtt";
import type { Logger } from "pino";
import type { GatewayConfig } from "../config.ts";
import type { Availability, DownlinkRow, Store, StoredEvent } from "../store/store.ts";
import type { BackendPort, Gateway } from "../gateway.ts";
import type { Metrics } from "../metrics.ts";
import { realClock } from "../clock.ts";
import { TOPICS, filter, parseTopic, topic, type PayloadOf, type TopicName } from "./topics.ts";
import { contentType, decodePayload, encodePayload } from "./payload.ts";
import { Connection } from "./connection.ts";
import { Drain } from "./drain.ts";
import { backendEvent } from "./event-map.ts";
import { encodeBackendEvent } from "./event-encode.ts";
import { Commands } from "./commands.ts";

export { explain, describeError } from "./hint.ts";
export { scheduledTime } from "./event-map.ts";

const VERSION = "0.1.0";

export class Backend implements BackendPort {
  readonly connection: Connection;
  readonly drain: Drain;
  readonly commands: Commands;
  private readonly pub: Record<string, IClientPublishOptions> = {};

  constructor(readonly cfg: GatewayConfig, readonly url: string, readonly gw: Gateway, readonly store: Store, readonly metrics: Metrics, readonly logger: Logger) {
    const gid = cfg.gatewayId;
    for (const [name, type] of [["state", "GatewayState"], ["availability", "DeviceAvailability"], ["event", "BackendEvent"], ["response", "CommandResponse"]] as const) {
      const t = TOPICS[name];
      const o: IClientPublishOptions = { qos: t.qos, retain: t.retain };
      if (cfg.mqtt.protocolVersion === 5) o.properties = { contentType: contentType(cfg.mqtt.payloadFormat, type) };
      this.pub[name] = o;
    }
    this.connection = new Connection(
      cfg.mqtt,
      url,
      {
        nextBdSeq: () => store.nextBdSeq(),
        stateTopic: topic("state", { gateway: gid }),
        filters: [filter("command", gid), filter("ack", gid)],
        state: (online, bdSeq) => this.statePayload(online, bdSeq),
      },
      metrics,
      logger,
      cfg.mqtt.protocolVersion === 5 ? contentType(cfg.mqtt.payloadFormat, "BackendEvent") : null,
    );
    this.drain = new Drain(
      {
        next: (n) => store.next(n),
        remove: (ids) => store.remove(ids),
        connected: () => this.connection.connected,
        publish: (ev, puback) => this.publishEvent(ev, puback),
      },
      { inflight: cfg.mqtt.inflight, backendAck: cfg.mqtt.backendAck, ackTimeoutS: cfg.mqtt.ackTimeoutS },
      realClock, // a round trip to a real broker: real (monotonic) time, also when the core runs on a virtual clock
      metrics,
      logger,
      (removed) => this.delivered(removed),
    );
    this.commands = new Commands(
      gid,
      cfg.mqtt.protocolVersion,
      {
        registryPath: () => gw.registry.path,
        hasDevice: (d) => gw.registry.byId.has(d),
        queueDownlink: (d, body, corr, config) => gw.queueDownlink(d, body, corr, config),
        commandDownlink: (d, corr) => store.commandDownlink(d, corr),
        nextConfigVersion: (d) => store.nextConfigVersion(d),
        lastConfig: (d) => store.lastConfig(d),
        status: () => gw.status(),
        rebirth: () => this.rebirth(),
      },
      (to, res, o) => this.respond(to, res, o.correlationData),
      realClock,
      cfg.mqtt.commandTimeoutS,
      metrics,
      logger,
    );
    this.connection.on("up", () => this.onUp());
    this.connection.on("down", (reason: string) => gw.emit({ kind: "mqtt-down", text: `broker ${url} lost (${reason}); events wait in the outbox (${store.depth()})` }));
    this.connection.on("failing", (line: string) => gw.emit({ kind: "mqtt-failing", text: `broker ${url}: ${line}` }));
    this.connection.on("message", (t: string, payload: Buffer, packet: IPublishPacket) => this.onMessage(t, payload, packet));
  }

  get connected(): boolean {
    return this.connection.connected;
  }
  get bdSeq(): number {
    return this.connection.bdSeq;
  }
  /** the MQTT.js client (tests watch its packets) */
  get client() {
    return this.connection.client;
  }

  /** Encodes the payload of topic `name`; the object is type-checked against topics.ts. */
  private enc<N extends TopicName>(name: N, obj: Partial<PayloadOf<N>>): Buffer {
    return encodePayload(this.cfg.mqtt.payloadFormat, TOPICS[name].payload, obj as Record<string, any>);
  }

  start(): void {
    this.connection.start();
  }

  private onUp(): void {
    this.gw.emit({ kind: "mqtt-up", text: `connected to broker ${this.url} (birth ${this.bdSeq}); ${this.store.depth()} events to send` });
    this.republishAvailability();
    this.drain.pump();
  }

  /** Birth again: retained gateway state and every known device's availability. */
  rebirth(): void {
    if (!this.connection.connected) return;
    this.connection.publish(topic("state", { gateway: this.cfg.gatewayId }), this.statePayload(true, this.bdSeq), this.pub.state);
    this.republishAvailability();
  }

  /** GatewayState: the birth (online) with counts, or the will / graceful stop (offline). A storage fault shows as outbox_full. */
  private statePayload(online: boolean, bdSeq: number): Buffer {
    const time = Math.floor(this.gw.now() / 1000);
    if (!online) return this.enc("state", { online: false, bdSeq, time, version: VERSION });
    return this.enc("state", { online: true, bdSeq, time, version: VERSION, devicesOnline: this.gw.devices.onlineCount(), outboxDepth: this.store.depth(), outboxFull: this.store.full || !!this.store.fault });
  }

  private republishAvailability(): void {
    for (const d of this.gw.devices.all.values()) if (d.availability) this.publishAvailability(d.id, d.availability);
  }

  publishAvailability(device: number, a: Availability): void {
    if (!this.connection.connected) return; // republished on connect
    this.connection.publish(topic("availability", { gateway: this.cfg.gatewayId, device }), this.enc("availability", a), this.pub.availability);
  }

  /**
   * New events in the outbox. Published once the current I/O phase is done, not here: every socket read
   * is its own callback, and MQTT.js flushes its writes on the next tick, so a publish per frame was a
   * socket write per event; deferred, the events of all frames read together go out in one write.
   */
  notify(): void {
    if (this.notified) return;
    this.notified = true;
    setImmediate(this.pumpNow);
  }
  private notified = false;
  private readonly pumpNow = () => {
    this.notified = false;
    this.drain.pump();
  };

  private publishEvent(ev: StoredEvent, puback: (err?: Error) => void): void {
    const ctx = { gateway: this.cfg.gatewayId, registry: this.gw.registry, historicalAfterS: this.cfg.outbox.historicalAfterS, nowS: Math.floor(this.gw.now() / 1000), monotonicMs: this.gw.clock.monotonic() };
    const payload = this.cfg.mqtt.payloadFormat === "protobuf" ? encodeBackendEvent(backendEvent(ev, ctx, true)) : this.enc("event", backendEvent(ev, ctx));
    this.connection.events.publish(this.eventTopic(ev.device, ev.type), payload, puback);
  }

  private readonly topics = new Map<string, string>();
  /** topics.ts builds and checks the topic; cached per device and type (once per event otherwise) */
  private eventTopic(device: number, type: string): string {
    const k = `${device}/${type}`;
    let t = this.topics.get(k);
    if (t === undefined) {
      t = topic("event", { gateway: this.cfg.gatewayId, device, type });
      if (this.topics.size > 100_000) this.topics.clear();
      this.topics.set(k, t);
    }
    return t;
  }

  private delivered(removed: Array<{ eventId: string; type: string; received: number }>): void {
    const now = this.gw.now() / 1000;
    for (const r of removed) this.metrics.observe("varde_event_delivery_seconds", Math.max(0, now - r.received), { type: r.type });
    this.metrics.inc("varde_events_out_total", undefined, removed.length);
    if (this.gw.listening) this.gw.emit({ kind: "delivered", text: `backend has ${removed.length === 1 ? `event ${removed[0].eventId}` : `${removed.length} events`}; removed from the outbox (${this.store.depth()} left)`, eventIds: removed.map((r) => r.eventId) });
  }

  private onMessage(t: string, payload: Buffer, packet: IPublishPacket): void {
    const p = parseTopic(t);
    if (!p || p.params.gateway !== this.cfg.gatewayId) return;
    if (p.name === "ack") {
      let ack: any;
      try {
        ack = decodePayload("EventAck", new Uint8Array(payload));
      } catch (e) {
        this.metrics.inc("varde_acks_rejected_total");
        this.logger.warn({ topic: t }, `bad EventAck on ${t}: ${(e as Error).message}`);
        return;
      }
      this.drain.acked(ack.eventIds ?? []);
      return;
    }
    // PUBACKed once handled: the downlink a command queues is durable first (connection.ts holdAck)
    if (p.name === "command") this.connection.holdAck(packet, this.commands.handle(p.params.command, payload, packet));
  }

  private respond(to: string, res: Record<string, any>, correlationData?: Buffer): void {
    if (!this.connection.connected) return;
    const opts: IClientPublishOptions = { ...this.pub.response };
    if (correlationData && this.cfg.mqtt.protocolVersion === 5) opts.properties = { ...opts.properties, correlationData };
    this.connection.publish(to, this.enc("response", res), opts);
  }

  downlinkDelivered(row: DownlinkRow): void {
    this.commands.delivered(row);
  }

  /** Graceful stop: publish offline state (same bd_seq as the will) and disconnect. */
  async stop(): Promise<void> {
    this.drain.stop();
    this.commands.stop();
    await this.connection.stop();
  }
}
