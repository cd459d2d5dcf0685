// gateway.toml: read, validated and completed with defaults. Every error names the file, the key, the
// bad value and the fix. Paths in the file are relative to the file's directory.
// A documented example lives in examples/gateway.toml.
import * as fs from "node:fs";
import * as path from "node:path";
import * as crypto from "node:crypto";
import TOML from "@iarna/toml";

export type TransportConfig =
  | { type: "serial"; path: string; baud: number }
  | { type: "tcp"; host: string; port: number }
  | { type: "tcp-listen"; host: string; port: number }
  | { type: "ble"; board: string; addresses: string[] };

export interface GatewayConfig {
  /** where it came from, for messages */
  source: string;
  gatewayId: string;
  registry: string;
  dataDir: string;
  transports: TransportConfig[];
  mqtt: {
    /** undefined = start the embedded aedes broker */
    url?: string;
    embeddedPort: number;
    embeddedHost: string;
    protocolVersion: 4 | 5;
    clientId: string;
    username?: string;
    password?: string;
    ca?: string;
    cert?: string;
    key?: string;
    rejectUnauthorized: boolean;
    keepaliveS: number;
    reconnectMs: number;
    /** cap of the reconnect backoff */
    reconnectMaxMs: number;
    payloadFormat: "protobuf" | "json";
    backendAck: "application" | "puback";
    ackTimeoutS: number;
    inflight: number;
    sessionExpiryS: number;
    /** how long the route of a command's "delivered" answer (MQTT 5 response topic) is kept */
    commandTimeoutS: number;
  };
  outbox: { maxBytes: number; minFreeBytes: number; historicalAfterS: number };
  session: {
    helloRetryMs: number;
    helloRetryMaxMs: number;
    heartbeatS: number;
    missedHeartbeats: number;
    timeSyncS: number;
    downlinkRetryMs: number;
    downlinkRetryMaxMs: number;
    reconnectMs: number;
  };
  metrics: { port: number; host: string };
  /** rejectsEveryS: window of the rate-limited rejection log (gateway/reject-log.ts) */
  log: { level: string; file?: string; rejectsEveryS: number };
}

class Reader {
  constructor(readonly file: string, readonly dir: string) {}
  err(key: string, value: unknown, fix: string): never {
    throw new Error(`${this.file}: key "${key}" = ${JSON.stringify(value)}: ${fix}`);
  }
  str(obj: any, key: string, full: string, def?: string): string {
    const v = obj?.[key];
    if (v === undefined) {
      if (def === undefined) this.err(full, v, "is required; add it");
      return def;
    }
    if (typeof v !== "string" || v.length === 0) this.err(full, v, "must be a non-empty string");
    return v;
  }
  optStr(obj: any, key: string, full: string): string | undefined {
    return obj?.[key] === undefined ? undefined : this.str(obj, key, full);
  }
  int(obj: any, key: string, full: string, def: number, min: number, max: number): number {
    const v = obj?.[key];
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) this.err(full, v, `must be an integer from ${min} to ${max}`);
    return v;
  }
  bool(obj: any, key: string, full: string, def: boolean): boolean {
    const v = obj?.[key];
    if (v === undefined) return def;
    if (typeof v !== "boolean") this.err(full, v, "must be true or false");
    return v;
  }
  oneOf<T extends string | number>(obj: any, key: string, full: string, def: T, allowed: readonly T[]): T {
    const v = obj?.[key];
    if (v === undefined) return def;
    if (!allowed.includes(v)) this.err(full, v, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
    return v;
  }
  file_(obj: any, key: string, full: string, mustExist: boolean): string | undefined {
    const v = this.optStr(obj, key, full);
    if (v === undefined) return undefined;
    const p = path.resolve(this.dir, v);
    if (mustExist && !fs.existsSync(p)) this.err(full, v, `file ${p} does not exist; fix the path`);
    return p;
  }
  /**
   * A TLS file ([mqtt] ca/cert/key): it must be a readable file holding what the key says. Checked here so
   * a wrong file is an error naming the key at start, not an OpenSSL message ("PEM routines::no start
   * line") at the first connection attempt.
   */
  pem(obj: any, key: string, full: string, kind: "certificate" | "private key"): string | undefined {
    const p = this.file_(obj, key, full, true);
    if (p === undefined) return undefined;
    let data: Buffer;
    try {
      data = fs.readFileSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EISDIR") this.err(full, obj[key], `${p} is a directory; give the path of the PEM file holding the ${kind}`);
      if (code === "EACCES") this.err(full, obj[key], `${p} cannot be read by this user (uid ${process.getuid?.() ?? "?"}): permission denied; let the gateway's user read it (e.g. chgrp varde ${p} && chmod 640 ${p})`);
      this.err(full, obj[key], `${p} cannot be read: ${(e as Error).message}`);
    }
    try {
      if (kind === "certificate") new crypto.X509Certificate(data);
      else crypto.createPrivateKey(data);
    } catch (e) {
      const hint = kind === "certificate" ? "a PEM certificate (a file starting -----BEGIN CERTIFICATE-----)" : "an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----; remove a passphrase with: openssl pkey -in old.key -out new.key)";
      this.err(full, obj[key], `${p} is not ${hint}: ${(e as Error).message}`);
    }
    return p;
  }
  known(obj: any, where: string, keys: string[]): void {
    if (obj === undefined) return;
    if (typeof obj !== "object" || Array.isArray(obj)) this.err(where, obj, "must be a table");
    for (const k of Object.keys(obj)) if (!keys.includes(k)) this.err(where ? `${where}.${k}` : k, obj[k], `unknown key; allowed here: ${keys.join(", ")}`);
  }
}

/** Validates a parsed config object. `file` names the source in errors; relative paths resolve against `dir`. */
export function parseConfig(doc: any, file: string, dir: string): GatewayConfig {
  const r = new Reader(file, dir);
  r.known(doc, "", ["gateway_id", "registry", "data_dir", "transport", "mqtt", "outbox", "session", "metrics", "log"]);
  const gatewayId = r.str(doc, "gateway_id", "gateway_id", "varde-gw");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(gatewayId)) r.err("gateway_id", gatewayId, "use 1-64 letters, digits, '-' or '_' (it becomes an MQTT topic level)");
  const registry = path.resolve(dir, r.str(doc, "registry", "registry", "registry.toml"));
  const dataDir = path.resolve(dir, r.str(doc, "data_dir", "data_dir", "varde-data"));
  if (fs.existsSync(registry) && fs.statSync(registry).isDirectory()) r.err("registry", doc.registry, `${registry} is a directory; give the registry file (e.g. ${path.join(registry, "registry.toml")})`);
  if (fs.existsSync(dataDir) && !fs.statSync(dataDir).isDirectory()) r.err("data_dir", doc.data_dir, `${dataDir} is a file; data_dir is the folder that holds the outbox database`);

  const tlist = doc.transport ?? [];
  if (!Array.isArray(tlist)) r.err("transport", tlist, "write each transport as a [[transport]] table");
  const transports: TransportConfig[] = tlist.map((t: any, i: number) => {
    const w = `transport[${i}]`;
    const type = r.oneOf(t, "type", `${w}.type`, "" as string, ["serial", "tcp", "tcp-listen", "ble"]);
    if (type === "ble") {
      r.known(t, w, ["type", "board", "addresses"]);
      const board = r.str(t, "board", `${w}.board`);
      const addresses = t.addresses ?? [];
      if (!Array.isArray(addresses) || addresses.some((a: unknown) => typeof a !== "string" || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(a)))
        r.err(`${w}.addresses`, t.addresses, 'must be a list of BLE addresses like ["cc:33:00:11:22:33"] (omit it to accept every device with the board\'s service)');
      return { type, board, addresses: addresses.map((a: string) => a.toLowerCase()) };
    }
    if (type === "serial") {
      r.known(t, w, ["type", "path", "baud"]);
      return { type, path: r.str(t, "path", `${w}.path`), baud: r.int(t, "baud", `${w}.baud`, 115200, 300, 4_000_000) };
    }
    if (type === "tcp" || type === "tcp-listen") {
      r.known(t, w, ["type", "host", "port"]);
      return { type, host: r.str(t, "host", `${w}.host`, "127.0.0.1"), port: r.int(t, "port", `${w}.port`, -1, type === "tcp" ? 1 : 0, 65535) };
    }
    return r.err(`${w}.type`, t?.type, 'is required: "serial", "tcp" (gateway dials the device), "tcp-listen" (devices dial in) or "ble"');
  });
  for (const [i, t] of transports.entries()) if ("port" in t && t.port < 0) r.err(`transport[${i}].port`, undefined, "is required for a TCP transport");

  const m = doc.mqtt ?? {};
  r.known(m, "mqtt", ["url", "embedded_port", "embedded_host", "protocol_version", "client_id", "username", "password", "ca", "cert", "key", "reject_unauthorized", "keepalive_s", "reconnect_ms", "reconnect_max_ms", "payload_format", "backend_ack", "ack_timeout_s", "inflight", "session_expiry_s", "command_timeout_s"]);
  const url = r.optStr(m, "url", "mqtt.url");
  if (url !== undefined && !/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/.test(url)) r.err("mqtt.url", url, 'must look like "mqtt://host:1883" or "mqtts://host:8883"; omit it to use the embedded broker');
  const cert = r.pem(m, "cert", "mqtt.cert", "certificate");
  const key = r.pem(m, "key", "mqtt.key", "private key");
  if (!!cert !== !!key) r.err(cert ? "mqtt.key" : "mqtt.cert", undefined, "a client certificate needs both mqtt.cert and mqtt.key");
  if (cert && key && !new crypto.X509Certificate(fs.readFileSync(cert)).checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(key))))
    r.err("mqtt.key", m.key, `${key} is not the private key of the certificate ${cert} (mqtt.cert); give the key that was made with that certificate`);
  const mqtt = {
    url,
    embeddedPort: r.int(m, "embedded_port", "mqtt.embedded_port", 1883, 0, 65535),
    embeddedHost: r.str(m, "embedded_host", "mqtt.embedded_host", "127.0.0.1"),
    protocolVersion: r.oneOf(m, "protocol_version", "mqtt.protocol_version", 5 as 4 | 5, [4, 5]),
    clientId: r.str(m, "client_id", "mqtt.client_id", `varde-${gatewayId}`),
    username: r.optStr(m, "username", "mqtt.username"),
    password: r.optStr(m, "password", "mqtt.password"),
    ca: r.pem(m, "ca", "mqtt.ca", "certificate"),
    cert,
    key,
    rejectUnauthorized: r.bool(m, "reject_unauthorized", "mqtt.reject_unauthorized", true),
    keepaliveS: r.int(m, "keepalive_s", "mqtt.keepalive_s", 30, 1, 3600),
    reconnectMs: r.int(m, "reconnect_ms", "mqtt.reconnect_ms", 1000, 10, 600_000),
    reconnectMaxMs: r.int(m, "reconnect_max_ms", "mqtt.reconnect_max_ms", 60_000, 10, 3_600_000),
    payloadFormat: r.oneOf(m, "payload_format", "mqtt.payload_format", "protobuf" as "protobuf" | "json", ["protobuf", "json"]),
    // default: application acks with a real broker; PUBACK with the embedded one (no backend to ack there)
    backendAck: r.oneOf(m, "backend_ack", "mqtt.backend_ack", (url ? "application" : "puback") as "application" | "puback", ["application", "puback"]),
    ackTimeoutS: r.int(m, "ack_timeout_s", "mqtt.ack_timeout_s", 30, 1, 86400),
    inflight: r.int(m, "inflight", "mqtt.inflight", 64, 1, 10000),
    sessionExpiryS: r.int(m, "session_expiry_s", "mqtt.session_expiry_s", 7 * 86400, 0, 0xffffffff),
    commandTimeoutS: r.int(m, "command_timeout_s", "mqtt.command_timeout_s", 86400, 1, 86400 * 30),
  };
  if (mqtt.reconnectMaxMs < mqtt.reconnectMs) r.err("mqtt.reconnect_max_ms", mqtt.reconnectMaxMs, `must be at least mqtt.reconnect_ms (${mqtt.reconnectMs})`);
  if (mqtt.password !== undefined && mqtt.username === undefined) r.err("mqtt.username", undefined, "mqtt.password is set, so mqtt.username is required");

  const o = doc.outbox ?? {};
  r.known(o, "outbox", ["max_bytes", "min_free_bytes", "historical_after_s"]);
  const outbox = {
    maxBytes: r.int(o, "max_bytes", "outbox.max_bytes", 256 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    minFreeBytes: r.int(o, "min_free_bytes", "outbox.min_free_bytes", 32 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    historicalAfterS: r.int(o, "historical_after_s", "outbox.historical_after_s", 60, 1, 86400 * 365),
  };
  const s = doc.session ?? {};
  r.known(s, "session", ["hello_retry_ms", "hello_retry_max_ms", "heartbeat_s", "missed_heartbeats", "time_sync_s", "downlink_retry_ms", "downlink_retry_max_ms", "reconnect_ms"]);
  const session = {
    helloRetryMs: r.int(s, "hello_retry_ms", "session.hello_retry_ms", 1000, 10, 600_000),
    helloRetryMaxMs: r.int(s, "hello_retry_max_ms", "session.hello_retry_max_ms", 30_000, 10, 3_600_000),
    heartbeatS: r.int(s, "heartbeat_s", "session.heartbeat_s", 300, 1, 86400 * 7),
    missedHeartbeats: r.int(s, "missed_heartbeats", "session.missed_heartbeats", 3, 1, 1000),
    timeSyncS: r.int(s, "time_sync_s", "session.time_sync_s", 3600, 1, 86400 * 7),
    downlinkRetryMs: r.int(s, "downlink_retry_ms", "session.downlink_retry_ms", 2000, 10, 600_000),
    downlinkRetryMaxMs: r.int(s, "downlink_retry_max_ms", "session.downlink_retry_max_ms", 60_000, 10, 3_600_000),
    reconnectMs: r.int(s, "reconnect_ms", "session.reconnect_ms", 1000, 10, 600_000),
  };
  const mt = doc.metrics ?? {};
  r.known(mt, "metrics", ["port", "host"]);
  const metrics = { port: r.int(mt, "port", "metrics.port", 9464, -1, 65535), host: r.str(mt, "host", "metrics.host", "127.0.0.1") };
  const l = doc.log ?? {};
  r.known(l, "log", ["level", "file", "rejects_every_s"]);
  const log = {
    level: r.oneOf(l, "level", "log.level", "info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    file: l.file === undefined ? undefined : path.resolve(dir, r.str(l, "file", "log.file")),
    rejectsEveryS: r.int(l, "rejects_every_s", "log.rejects_every_s", 10, 1, 3600),
  };
  return { source: file, gatewayId, registry, dataDir, transports, mqtt, outbox, session, metrics, log };
}

/** Reads gateway.toml. */
export function loadConfig(file: string): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read the gateway config (${(e as Error).message}); pass --config <path to gateway.toml> (example: examples/gateway.toml)`);
  }
  let doc: unknown;
  try {
    doc = TOML.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid TOML: ${(e as Error).message}`);
  }
  return parseConfig(doc, file, path.dirname(path.resolve(file)));
}
