// backend.toml: read and validated; every error names the file, the key and the fix. Paths are relative
// to the file's folder. A documented example: backend/backend.example.toml.
import * as fs from "node:fs";
import * as path from "node:path";
import TOML from "@iarna/toml";
import type { BackendOptions } from "./index.ts";
import { checkSetting, DEFAULT_SETTINGS, type Settings } from "./settings.ts";

const SETTING_KEYS: Record<string, keyof Settings> = {
  escalation_after_s: "escalationAfterS", escalation_webhook: "escalationWebhook", minutes_per_visit: "minutesPerVisit",
  driving_minutes_per_visit: "drivingMinutesPerVisit", response_limit_min: "responseLimitMin",
};

export function parseBackendConfig(doc: Record<string, any>, file: string, dir: string): BackendOptions {
  const err = (key: string, fix: string): never => {
    throw new Error(`${file}: key "${key}" = ${JSON.stringify(key.split(".").reduce((o: any, k) => o?.[k], doc))}: ${fix}`);
  };
  const known = (o: Record<string, any> | undefined, where: string, keys: string[]) => {
    for (const k of Object.keys(o ?? {})) if (!keys.includes(k)) throw new Error(`${file}: unknown key "${where ? where + "." : ""}${k}"; known: ${keys.join(", ")}`);
  };
  known(doc, "", ["instance", "patients", "db", "mqtt", "http", "settings"]);
  const str = (o: any, k: string, where: string, def?: string) => {
    const v = o?.[k];
    if (v === undefined) return def;
    if (typeof v !== "string" || v === "") err(where, "must be a non-empty string");
    return v as string;
  };
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  const m = doc.mqtt ?? {};
  known(m, "mqtt", ["url", "share_group", "client_id", "protocol_version", "username", "password", "ca", "cert", "key", "payload_format", "session_expiry_s"]);
  const url = str(m, "url", "mqtt.url");
  if (!url) throw new Error(`${file}: [mqtt] url is required: the broker the gateways publish to, e.g. url = "mqtt://127.0.0.1:1883"`);
  if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(url)) err("mqtt.url", "must start with mqtt://, mqtts://, ws:// or wss://");
  const pv = m.protocol_version ?? 5;
  if (pv !== 4 && pv !== 5) err("mqtt.protocol_version", "must be 5 (or 4 without share_group)");
  const share = str(m, "share_group", "mqtt.share_group");
  if (share && !/^[A-Za-z0-9_-]{1,40}$/.test(share)) err("mqtt.share_group", "must be 1-40 letters, digits, _ or -");
  const fmt = m.payload_format ?? "protobuf";
  if (fmt !== "protobuf" && fmt !== "json") err("mqtt.payload_format", `must be "protobuf" or "json"`);
  const dbDoc = doc.db ?? {};
  known(dbDoc, "db", ["url"]);
  let db = str(dbDoc, "url", "db.url", "sqlite:varde-data/backend.db")!;
  if (db.startsWith("sqlite:")) db = "sqlite:" + path.resolve(dir, db.slice(7));
  else if (!/^postgres(ql)?:\/\//.test(db)) err("db.url", `must be "sqlite:<file>" or "postgres://user@host:port/database"`);
  const h = doc.http ?? {};
  known(h, "http", ["host", "port", "secure_cookie"]);
  const port = h.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) err("http.port", "must be a port number 0-65535 (0 = any free port)");
  const s = doc.settings ?? {};
  known(s, "settings", Object.keys(SETTING_KEYS));
  const settings: Partial<Settings> = {};
  for (const [k, v] of Object.entries(s)) {
    const name = SETTING_KEYS[k];
    const bad = checkSetting(name, v);
    if (bad) err(`settings.${k}`, bad.replace(name, k));
    (settings as any)[name] = v;
  }
  const instance = str(doc, "instance", "instance");
  if (instance && !/^[A-Za-z0-9._-]{1,40}$/.test(instance)) err("instance", "must be 1-40 letters, digits, '.', '_' or '-'");
  return {
    brokerUrl: url,
    db,
    instance,
    patients: rel(str(doc, "patients", "patients")),
    http: { host: str(h, "host", "http.host", "127.0.0.1"), port, secureCookie: h.secure_cookie === true },
    mqtt: {
      shareGroup: share, clientId: str(m, "client_id", "mqtt.client_id"), protocolVersion: pv, username: str(m, "username", "mqtt.username"),
      password: str(m, "password", "mqtt.password"), ca: rel(str(m, "ca", "mqtt.ca")), cert: rel(str(m, "cert", "mqtt.cert")), key: rel(str(m, "key", "mqtt.key")),
      payloadFormat: fmt, sessionExpiryS: m.session_expiry_s,
    },
    settings: { ...DEFAULT_SETTINGS, ...settings },
  };
}

export function loadBackendConfig(file: string): BackendOptions {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`backend config ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist; start from backend/backend.example.toml" : (e as Error).message}`);
  }
  let doc: Record<string, any>;
  try {
    doc = TOML.parse(text) as Record<string, any>;
  } catch (e) {
    throw new Error(`${file}: not valid TOML: ${(e as Error).message}`);
  }
  return parseBackendConfig(doc, file, path.dirname(path.resolve(file)));
}
