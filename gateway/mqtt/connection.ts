// The broker connection and the gateway's birth: TLS (CA, client certificate), user/password, MQTT 5
// or 3.1.1, a persistent session, the last will, and reconnection — ours, not MQTT.js's, because MQTT.js
// stops for good after a refused CONNACK (wrong password, ACL reloaded, broker restarting behind a load
// balancer) while the process stays alive and events pile up. Here every failure, a refusal included,
// is retried with exponential backoff (reconnect_ms doubling up to reconnect_max_ms, ±20 % jitter),
// forever, and its cause is logged in words (hint.ts) when it first appears, when it changes, and as a
// reminder at most once a minute while it lasts — not once per attempt.
//
// Birth sequence (bd_seq): a new value for every connection attempt (the will travels in CONNECT), kept
// by the store; the last will (online = false) and the birth (online = true, published right after
// CONNACK, retained) carry the same value. A will whose bd_seq is lower than the latest birth is stale.
//
// Subscriptions (ack, command) use MQTT 5 "no local": the gateway never receives what it publishes
// itself, so nothing it sends can come back to it as an acknowledgement or a command.
import * as fs from "node:fs";
import * as net from "node:net";
import type * as Tls from "node:tls";
import { createRequire } from "node:module";
import { EventEmitter } from "node:events";
import type { IClientOptions, IClientPublishOptions, MqttClient } from "mqtt";
import type { Logger } from "pino";
import type { GatewayConfig } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import { describeError, diagnoseReset, explain, type Explained } from "./hint.ts";
import { FastPublisher, LowIdProvider } from "./fast-publish.ts";
import { silenceMqttDebug } from "./quiet-debug.ts";

export interface BirthPort {
  /** the next birth sequence (persisted by the store) */
  nextBdSeq(): number;
  /** the retained state payload (GatewayState) for `online` with `bdSeq` */
  state(online: boolean, bdSeq: number): Buffer;
  /** topic of the retained state */
  stateTopic: string;
  /** filters to subscribe after every connect */
  filters: string[];
}

type MqttCfg = GatewayConfig["mqtt"];

// MQTT.js's client class alone, with our own TCP/TLS stream: the package's entry point also loads its
// WebSocket, SOCKS and browser transports (about 10 MB of resident memory the gateway never uses).
// WebSocket URLs (ws://, wss://) still go through the full package.
const require = createRequire(import.meta.url);
type ClientClass = new (streamBuilder: (client: MqttClient) => NodeJS.ReadWriteStream, options: IClientOptions) => MqttClient;
const MqttClientClass = (): ClientClass => {
  silenceMqttDebug();
  return require("mqtt/lib/client").default;
};
/** node:tls, loaded only for TLS (its code pages are resident memory once touched) */
const tlsModule = (): typeof Tls => require("node:tls");

/** Reads a PEM file named by a config key; the error names the key and the file. */
function readPem(key: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`[mqtt] ${key} = "${file}": cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); point it at a readable PEM file`);
  }
}

/** Emits "up" after every CONNACK (subscriptions sent, birth published) and "down" (reason) when it is lost. */
export class Connection extends EventEmitter {
  client: MqttClient | null = null;
  bdSeq = 0;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastReason = "";
  private lastLogAt = 0;
  private failingSince = 0;
  private attemptError: (Error & { code?: string | number }) | null = null;
  private gotConnack = false;
  private wasUp = false;
  /** QoS 1 event publishes on this connection (fast-publish.ts) */
  readonly events: FastPublisher;

  /** `contentType`: of every event publish (MQTT 5 property), or null */
  constructor(private readonly m: MqttCfg, readonly url: string, private readonly birth: BirthPort, private readonly metrics: Metrics, private readonly logger: Logger, contentType: string | null) {
    super();
    this.events = new FastPublisher(m.protocolVersion === 5 ? contentType : null);
  }

  get connected(): boolean {
    return !!this.client?.connected;
  }

  /** Reads and checks the TLS material (errors name the key), then connects; resolves at once. */
  start(): void {
    const m = this.m;
    const ca = readPem("ca", m.ca);
    const cert = readPem("cert", m.cert);
    const key = readPem("key", m.key);
    if (ca || cert || key) {
      try {
        tlsModule().createSecureContext({ ca, cert, key });
      } catch (e) {
        throw new Error(`[mqtt] ca/cert/key (${[m.ca, m.cert, m.key].filter(Boolean).join(", ")}): not usable TLS material (${(e as Error).message}); each must be a PEM file, and key must be the private key of cert`);
      }
    }
    this.bdSeq = this.birth.nextBdSeq();
    const opts: IClientOptions = {
      clientId: m.clientId,
      protocolVersion: m.protocolVersion,
      username: m.username,
      password: m.password,
      ca,
      cert,
      key,
      rejectUnauthorized: m.rejectUnauthorized,
      keepalive: m.keepaliveS,
      reconnectPeriod: 0, // ours (see top)
      // no table of 65,536 pre-made 2-byte buffers for message ids (6 MB of heap for a few ns a publish)
      writeCache: false,
      connectTimeout: 10_000,
      // A persistent session: commands (e.g. a responder's ack-alarm) published while the gateway is
      // offline or restarting are queued by the broker and delivered when it is back.
      clean: false,
      ...(m.protocolVersion === 5 ? { properties: { sessionExpiryInterval: m.sessionExpiryS } } : {}),
      will: this.will(),
      messageIdProvider: new LowIdProvider(), // the ids above it are the events' (fast-publish.ts)
      // a PINGREQ every keepalive even while PUBACKs flow, instead of a timer cleared and set again for
      // every packet received (one per event); a dead broker is still noticed within 1.5 × keepalive
      reschedulePings: false,
      // MQTT.js logs every packet through `debug` (several calls a publish, a few % of the relay's CPU
      // even when disabled); its log stays available with DEBUG=mqttjs*
      ...(/mqttjs/.test(process.env.DEBUG ?? "") ? {} : { log: () => undefined }),
    };
    const u = new URL(this.url);
    const secure = ["mqtts:", "ssl:", "tls:"].includes(u.protocol);
    let client: MqttClient;
    if (u.protocol === "ws:" || u.protocol === "wss:") {
      silenceMqttDebug();
      client = require("mqtt").connect(this.url, opts);
    } else {
      const host = u.hostname.replace(/^\[|\]$/g, "");
      const port = Number(u.port || (secure ? 8883 : 1883));
      // stream errors reach the client's "error" event through MQTT.js itself (every error with a code)
      const stream = () =>
        secure
          ? tlsModule().connect({ host, port, ca, cert, key, rejectUnauthorized: m.rejectUnauthorized, servername: net.isIP(host) ? undefined : host }).setNoDelay(true)
          : net.createConnection({ host, port, noDelay: true }); // no Nagle delay: each turn's packets go out in one write anyway
      client = new (MqttClientClass())(stream, opts);
    }
    this.client = client;
    this.events.attach(client); // first: publishes waiting for a PUBACK go again before anything new
    client.on("connect", () => this.onConnect());
    client.on("error", (e) => {
      this.attemptError ??= e as Error & { code?: string | number };
    });
    client.on("close", () => this.onClose());
    client.on("message", (t, payload, packet) => this.emit("message", t, payload, packet));
    // Store before acknowledging, on this hop too: MQTT.js sends the PUBACK of an incoming QoS 1 message
    // when handleMessage calls back, by default at once. A command is PUBACKed only once its handler has
    // finished (the downlink it queues is on disk, the response sent): a gateway killed before that
    // gets the command again from its persistent session. MQTT.js handles incoming packets one at a
    // time, so a held PUBACK also holds the packets behind it (commands are rare; acks are not held).
    client.handleMessage = (packet, callback) => {
      const hold = this.holds.get(packet);
      if (!hold) return callback();
      this.holds.delete(packet);
      hold.then(
        () => callback(),
        () => callback(),
      );
    };
  }

  private readonly holds = new WeakMap<object, Promise<unknown>>();

  /**
   * The PUBACK of `packet` (a message just delivered through "message") waits for `until`. Call it
   * synchronously from the "message" listener.
   */
  holdAck(packet: object, until: Promise<unknown>): void {
    this.holds.set(packet, until);
  }

  private will(): NonNullable<IClientOptions["will"]> {
    return { topic: this.birth.stateTopic, payload: this.birth.state(false, this.bdSeq), qos: 1, retain: true };
  }

  private onConnect(): void {
    const c = this.client!;
    this.gotConnack = true;
    this.attempt = 0;
    this.metrics.inc("varde_mqtt_connects_total");
    this.metrics.set("varde_mqtt_connected", 1);
    if (this.lastReason) {
      this.logger.info({ after: this.lastReason }, `mqtt ${this.url}: connected again (was: ${this.lastReason})`);
      this.lastReason = "";
    }
    this.failingSince = 0;
    this.wasUp = true;
    const sub = this.m.protocolVersion === 5 ? this.birth.filters.map((f) => ({ [f]: { qos: 1 as const, nl: true } })).reduce((a, b) => ({ ...a, ...b }), {}) : this.birth.filters;
    c.subscribe(sub as any, { qos: 1 }, (err) => {
      if (err) this.logger.error({ err: err.message }, `mqtt ${this.url}: subscribe failed: ${err.message}`);
    });
    c.publish(this.birth.stateTopic, this.birth.state(true, this.bdSeq), { qos: 1, retain: true });
    this.emit("up");
  }

  private onClose(): void {
    this.metrics.set("varde_mqtt_connected", 0);
    if (this.stopped) return;
    const err = this.attemptError;
    const hadConnack = this.gotConnack;
    this.attemptError = null;
    this.gotConnack = false;
    let x: Explained;
    if (err) x = explain(err);
    else if (hadConnack) x = { reason: "the connection to the broker was lost", hint: "" };
    else x = explain(Object.assign(new Error("closed before CONNACK"), { code: "ECONNRESET" }));
    if (this.wasUp) {
      this.wasUp = false;
      this.emit("down", x.reason);
    }
    if (!this.failingSince) this.failingSince = Date.now();
    this.attempt++;
    const delay = this.backoff();
    const needsProbe = !hadConnack && (!err || String(err.code) === "ECONNRESET");
    const report = (y: Explained) => this.report(y, err, delay);
    if (needsProbe) void diagnoseReset(this.url).then((d) => report(d ?? x), () => report(x));
    else report(x);
    this.retryTimer = setTimeout(() => this.reconnect(), delay);
  }

  /** reconnect_ms × 2^(attempt-1), at most reconnect_max_ms, ±20 %. */
  private backoff(): number {
    const base = Math.min(this.m.reconnectMs * 2 ** Math.min(this.attempt - 1, 30), this.m.reconnectMaxMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private report(x: Explained, err: (Error & { code?: string | number }) | null, delay: number): void {
    const line = x.hint ? `${x.reason} — ${x.hint}` : x.reason;
    const now = Date.now();
    const changed = line !== this.lastReason;
    if (!changed && now - this.lastLogAt < 60_000) return;
    this.lastReason = line;
    this.lastLogAt = now;
    const since = Math.round((now - this.failingSince) / 1000);
    const text = changed
      ? `mqtt ${this.url}: ${line}; retrying in ${(delay / 1000).toFixed(1)} s (backoff up to ${this.m.reconnectMaxMs / 1000} s), events wait in the outbox`
      : `mqtt ${this.url}: still not connected after ${this.attempt} attempts (${since} s): ${line}`;
    this.logger.warn({ err: err?.message, code: err?.code, attempt: this.attempt }, text);
    if (changed) this.emit("failing", line);
  }

  private reconnect(): void {
    this.retryTimer = null;
    const c = this.client;
    if (this.stopped || !c) return;
    this.bdSeq = this.birth.nextBdSeq();
    c.options.will = this.will();
    this.metrics.inc("varde_mqtt_reconnects_total");
    // MQTT.js's own reconnect step (what its reconnect timer calls): it keeps the outgoing store, so
    // publishes without a PUBACK are resent on the resumed session. The public reconnect() would start
    // with empty stores and leave their callbacks waiting forever. (mqtt 5.16.0, pinned.)
    (c as unknown as { _reconnect(): void })._reconnect();
  }

  publish(topic: string, payload: Buffer, opts: IClientPublishOptions, cb?: (err?: Error) => void): void {
    this.client!.publish(topic, payload, opts, cb);
  }

  /** Graceful stop: offline state (same bd_seq as the will), then DISCONNECT. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const c = this.client;
    if (!c) return;
    // the offline state, waited for at most 2 s (a broker that vanishes now would otherwise hold the stop)
    if (c.connected)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 2000);
        c.publish(this.birth.stateTopic, this.birth.state(false, this.bdSeq), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          r();
        });
      });
    // not connected: a forced end (a graceful one would wait for a broker that is not there); connected:
    // graceful (in-flight publishes acked first), forced after 2 s — the outbox still has every event
    await new Promise<void>((r) => {
      const t = setTimeout(() => c.end(true, {}, () => r()), 2000);
      c.end(!c.connected, {}, () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

export { describeError };
