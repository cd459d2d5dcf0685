// The backend's side of the MQTT contract (docs/backend-contract.md; topics only from
// gateway/mqtt/topics.ts, payloads only from protocol/varde.proto):
//   events      → stored (backend/ingest.ts) → THEN EventAck on varde/v1/<gw>/ack (store-then-ack)
//   responses   → the command's row (state queued → delivered), an alarm's "seen by the device"
//   state, availability (retained) → gateways / devices rows
//   commands    ← sendCommand() publishes a CommandRequest with a correlation id (and MQTT 5 correlation data)
//
// Load sharing: with `shareGroup` set, events and responses are subscribed as MQTT 5 shared subscriptions
// ($share/<group>/<filter>): the broker hands each message to ONE instance of the group. Retained
// topics (state, availability) are subscribed by every instance without $share, because a broker sends
// no retained messages on a shared subscription; applying them twice is harmless.
// When an instance dies with events it received but had not yet stored, nothing is lost: it never
// acked them, so the gateway publishes them again after its ack_timeout_s and another instance stores
// them. The event id's primary key keeps each stored once.
//
// Events arriving together are stored in one transaction (a batch), then acked in one EventAck per gateway.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { filter, parseTopic, topic, TOPICS, type BackendEvent, type CommandName, type CommandResponse } from "../gateway/mqtt/topics.ts";
import { decodePayload, encodePayload, contentType, type PayloadFormat } from "../gateway/mqtt/payload.ts";
import type { Db } from "./db.ts";
import { applyAvailability, applyGatewayState, storeEvents, validateEvent } from "./ingest.ts";
import type { Changes } from "./changes.ts";
import { appendAudit } from "./audit.ts";

export interface ContractOptions {
  url: string;
  /** MQTT client id; stable per instance (persistent session: the broker queues for us while we restart) */
  clientId: string;
  /** MQTT 5 shared subscription group name; unset = this instance takes every message */
  shareGroup?: string;
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** format of what we publish (acks, commands); what we receive may be either */
  payloadFormat?: PayloadFormat;
  sessionExpiryS?: number;
  /** events stored per transaction at most */
  batchMax?: number;
}

export interface ContractStats {
  received: number;
  stored: number;
  duplicates: number;
  rejected: number;
  acked: number;
  dbErrors: number;
  lastError: string;
}

type Log = (level: "info" | "warn" | "error", msg: string) => void;

export class Contract {
  client: MqttClient | null = null;
  readonly stats: ContractStats = { received: 0, stored: 0, duplicates: 0, rejected: 0, acked: 0, dbErrors: 0, lastError: "" };
  private pending: Array<{ gateway: string; ev: BackendEvent }> = [];
  private flushing = false;
  private idle: Array<() => void> = [];
  private readonly format: PayloadFormat;
  private version: 4 | 5 = 5;
  private stopping = false;
  private started = false;

  /** the patient a device belongs to, for the audit log (set by startBackend) */
  patientOf: (device: number) => string | undefined = () => undefined;

  constructor(readonly opts: ContractOptions, readonly db: Db, readonly instance: string, readonly changes: Changes, readonly now: () => number, readonly log: Log) {
    this.format = opts.payloadFormat ?? "protobuf";
  }

  private sub(f: string, shared: boolean): string {
    return shared && this.opts.shareGroup ? `$share/${this.opts.shareGroup}/${f}` : f;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const v = o.protocolVersion ?? 5;
    if (o.shareGroup && v !== 5) throw new Error(`backend [mqtt] share_group "${o.shareGroup}" needs protocol_version = 5 (shared subscriptions are MQTT 5)`);
    try {
      await this.connect(v);
    } catch (e) {
      // a broker that speaks only MQTT 3.1.1 (e.g. the gateway's embedded aedes): use it, unless the
      // version was asked for or load sharing needs MQTT 5
      if (!/protocol version/i.test((e as Error).message) || o.protocolVersion !== undefined || o.shareGroup) throw e;
      this.log("info", `${o.url} speaks no MQTT 5; using MQTT 3.1.1`);
      await this.connect(4);
    }
    const c = this.client!;
    const g = "+";
    const subs: Record<string, { qos: 1 }> = {
      [this.sub(filter("event", g), true)]: { qos: 1 },
      [this.sub(filter("response", g), true)]: { qos: 1 },
      [filter("state", g)]: { qos: 1 },
      [filter("availability", g)]: { qos: 1 },
    };
    const granted = await c.subscribeAsync(subs);
    const refused = granted.filter((x) => x.qos === 128 || (x.qos as number) > 2);
    this.started = true;
    if (refused.length) throw new Error(`backend: the broker ${o.url} refused the subscriptions ${refused.map((x) => x.topic).join(", ")}${o.shareGroup ? " (does it support MQTT 5 shared subscriptions?)" : ""}`);
  }

  private async connect(v: 4 | 5): Promise<void> {
    const o = this.opts;
    this.version = v;
    const read = (p?: string) => (p ? fs.readFileSync(p) : undefined);
    const copts: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: v,
      username: o.username,
      password: o.password,
      ca: read(o.ca),
      cert: read(o.cert),
      key: read(o.key),
      // One instance alone keeps a persistent session (the broker queues for it while it restarts).
      // In a share group the session ends with the connection: a broker hands a shared message to a
      // member's session even while it is offline (Mosquitto does), so a dead instance's persistent
      // session would swallow its share until the gateways' ack timeout sends it again, and again.
      clean: !!o.shareGroup,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(v === 5 ? { properties: { sessionExpiryInterval: o.sessionExpiryS ?? (o.shareGroup ? 0 : 86400) } } : {}),
    };
    const c = mqtt.connect(o.url, copts);
    this.client = c;
    c.on("message", (t, payload, packet) => this.onMessage(t, payload, packet));
    let lastErr = "";
    c.on("error", (e) => {
      if (this.stopping || c !== this.client) return;
      if (/Connection refused/i.test(e.message) && !c.connected && !this.started) return (lastErr = e.message), undefined; // thrown by start()
      if (e.message !== lastErr) this.log("warn", `mqtt ${o.url}: ${e.message} — is the broker running and the backend's [mqtt] url right?`);
      lastErr = e.message;
    });
    c.on("connect", () => {
      lastErr = "";
      this.changes.emit({ kind: "mqtt", detail: "connected" });
    });
    c.on("close", () => this.changes.emit({ kind: "mqtt", detail: "disconnected" }));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`backend: no connection to the MQTT broker ${o.url} within 10 s (${lastErr || "no answer"}); check [mqtt] url and that the broker runs`)), 10_000);
      c.once("connect", () => {
        clearTimeout(t);
        resolve();
      });
      // the broker answered and refused (version, credentials): no use waiting
      const refused = (e: Error) => {
        if (!/Connection refused/i.test(e.message)) return;
        clearTimeout(t);
        c.off("error", refused);
        reject(new Error(`backend: the MQTT broker ${o.url} refused the connection: ${e.message}; check [mqtt] protocol_version, username/password or certificate`));
      };
      c.on("error", refused);
    }).catch(async (e) => {
      await c.endAsync(true).catch(() => undefined);
      throw e;
    });
  }

  get connected(): boolean {
    return !!this.client?.connected;
  }

  private onMessage(t: string, payload: Buffer, _packet: mqtt.IPublishPacket): void {
    const p = parseTopic(t);
    if (!p) return;
    const gateway = p.params.gateway;
    const typeName = TOPICS[p.name].payload;
    let msg: any;
    try {
      msg = decodePayload(typeName, new Uint8Array(payload));
    } catch (e) {
      this.reject(`${t}: payload is not a ${typeName} (protobuf or JSON): ${(e as Error).message}; not stored, not acked`);
      return;
    }
    const nowMs = this.now();
    switch (p.name) {
      case "event": {
        this.stats.received++;
        const bad = validateEvent(msg);
        if (bad) return this.reject(`${t}: ${bad}; not stored, not acked`);
        this.pending.push({ gateway, ev: msg as BackendEvent });
        this.kick();
        return;
      }
      case "availability":
        if (payload.length === 0) return; // a cleared retained message
        this.apply(() => applyAvailability(this.db, gateway, Number(p.params.device), msg, nowMs), "devices", t);
        return;
      case "state":
        if (payload.length === 0) return;
        this.apply(() => applyGatewayState(this.db, gateway, msg, nowMs), "gateways", t);
        return;
      case "response":
        this.apply(() => this.onResponse(p.params.command, msg as CommandResponse), "commands", t);
        return;
    }
  }

  private reject(why: string): void {
    this.stats.rejected++;
    this.stats.lastError = why;
    this.log("warn", why);
  }

  private apply(fn: () => Promise<unknown>, kind: string, t: string): void {
    fn().then(
      () => this.changes.emit({ kind }),
      (e) => {
        this.stats.dbErrors++;
        this.log("error", `${t}: database ${this.db.where}: ${(e as Error).message}`);
      },
    );
  }

  private kick(): void {
    if (!this.flushing) setImmediate(() => void this.flush());
  }

  /** Stores what is pending, then acks it; repeats while messages keep arriving. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.opts.batchMax ?? 500);
        let res;
        try {
          res = await this.db.tx((q) => storeEvents(q, batch.map((b) => b.ev), this.instance, this.now()));
        } catch (e) {
          // not acked: the gateway keeps the events in its outbox and publishes them again
          this.stats.dbErrors++;
          this.stats.lastError = `database ${this.db.where}: ${(e as Error).message}`;
          this.log("error", `could not store ${batch.length} events in ${this.db.where}: ${(e as Error).message}; not acked, the gateways will send them again`);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        this.stats.stored += res.stored.length;
        this.stats.duplicates += res.duplicates.length;
        this.ack(batch);
        if (res.alarmsChanged) this.changes.emit({ kind: "alarms" });
        if (res.devicesChanged) this.changes.emit({ kind: "devices" });
        if (res.dosesChanged) this.changes.emit({ kind: "doses" });
      }
    } finally {
      this.flushing = false;
      if (this.pending.length) this.kick();
      else for (const f of this.idle.splice(0)) f();
    }
  }

  /** After the commit: one EventAck per gateway, listing every event of the batch (duplicates too). */
  private ack(batch: Array<{ gateway: string; ev: BackendEvent }>): void {
    const by = new Map<string, string[]>();
    for (const b of batch) {
      if (!by.has(b.gateway)) by.set(b.gateway, []);
      by.get(b.gateway)!.push(b.ev.eventId);
    }
    for (const [gateway, ids] of by) {
      // keep each EventAck well under any broker's packet limit
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        this.client?.publish(topic("ack", { gateway }), this.encode("EventAck", { eventIds: chunk }), this.pubOpts("EventAck"), (err) => {
          if (!err) this.stats.acked += chunk.length;
        });
      }
    }
  }

  /** Resolves when nothing is waiting to be stored. */
  drained(): Promise<void> {
    if (!this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private encode(typeName: string, obj: Record<string, any>): Buffer {
    return encodePayload(this.format, typeName, obj);
  }
  private pubOpts(typeName: string, extra: Record<string, any> = {}): mqtt.IClientPublishOptions {
    const o: mqtt.IClientPublishOptions = { qos: 1, retain: false };
    if (this.version === 5) o.properties = { contentType: contentType(this.format, typeName), ...extra };
    return o;
  }

  /**
   * Records a command (state "sent") and publishes it to the gateway; the gateway's responses move it
   * to queued / delivered (or failed with its error). Returns the correlation id.
   */
  async sendCommand(c: { gateway: string; device: number; command: CommandName; request: Record<string, any>; by: string; alarmId?: number }): Promise<string> {
    const correlationId = `c-${randomUUID()}`;
    const req = { ...c.request, correlationId, device: c.device };
    const nowMs = this.now();
    await this.db.run(
      `INSERT INTO commands (correlation_id, gateway, device, command, request, requested_by, requested_at, state, updated_at, alarm_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?)`,
      [correlationId, c.gateway, c.device, c.command, JSON.stringify(req), c.by, nowMs, nowMs, c.alarmId ?? null],
    );
    const client = this.client;
    const fail = async (why: string) => {
      await this.db.run(`UPDATE commands SET state = 'failed', error = ?, updated_at = ? WHERE correlation_id = ? AND state = 'sent'`, [why, this.now(), correlationId]);
      this.changes.emit({ kind: "commands" });
    };
    if (!client?.connected) {
      // QoS 1 publishes are queued by mqtt.js while it reconnects; say so rather than pretend it left
      this.log("warn", `command ${c.command} for device ${c.device}: not connected to the broker; it is sent when the connection is back`);
    }
    client?.publish(topic("command", { gateway: c.gateway, command: c.command }), this.encode("CommandRequest", req), this.pubOpts("CommandRequest", { correlationData: Buffer.from(correlationId) }), (err) => {
      if (err) void fail(`publish failed: ${err.message}`);
    });
    this.changes.emit({ kind: "commands" });
    return correlationId;
  }

  private async onResponse(command: string, r: CommandResponse): Promise<void> {
    if (!r.correlationId) return;
    const state = r.ok ? r.state || "done" : "failed";
    // "queued" and "delivered" may be handled by two instances in either order: never step back
    const earlier = state === "queued" ? ["sent", "queued"] : ["sent", "queued", "delivered", "done"];
    const nowMs = this.now();
    await this.db.tx(async (q) => {
      const row = await q.get(`SELECT id, command, device, alarm_id FROM commands WHERE correlation_id = ?`, [r.correlationId]);
      if (!row) return; // not ours (another tool's command)
      const upd = await q.run(
        `UPDATE commands SET state = ?, downlink_seq = ?, error = ?, response = ?, updated_at = ? WHERE correlation_id = ? AND state IN (${earlier.map(() => "?").join(", ")})`,
        [state, r.downlinkSeq || null, r.error || null, JSON.stringify(r), nowMs, r.correlationId, ...earlier],
      );
      if (upd.changes === 0) return;
      if (row.alarm_id && state === "delivered") {
        const a = await q.run(`UPDATE alarms SET ack_delivered_at = ? WHERE id = ? AND ack_delivered_at IS NULL`, [nowMs, row.alarm_id]);
        if (a.changes) await appendAudit(q, { at: nowMs, actor: "system", role: "system", action: "alarm.ack_seen_by_device", target: `alarm:${row.alarm_id}`, patientId: this.patientOf(Number(row.device)), detail: { correlationId: r.correlationId, downlinkSeq: r.downlinkSeq } });
      }
      if (state === "failed") await appendAudit(q, { at: nowMs, actor: "system", role: "system", action: "command.failed", target: `command:${row.id}`, patientId: this.patientOf(Number(row.device)), detail: { command, error: r.error } });
    });
    this.changes.emit({ kind: "commands" });
    this.changes.emit({ kind: "alarms" });
  }

  async stop(): Promise<void> {
    await this.drained();
    this.stopping = true;
    await this.client?.endAsync().catch(() => undefined);
  }
}
