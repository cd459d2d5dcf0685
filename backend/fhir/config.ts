// Configuration of the FHIR exporter (one TOML file, e.g. examples/fhir.toml), validated at load with
// errors that name the file, the key and the fix:
//
//   patients = "patients.toml"        # the patient registry (backend/patients.ts), relative to this file
//   queue = "fhir-queue.db"           # the durable export queue (SQLite), relative to this file
//   device_system = "urn:varde:device-id"   # identifier system of device ids (performer / author)
//
//   [server]                          # the patient record's FHIR R4 endpoint (needed by `varde fhir run`)
//   base_url = "https://fhir.kommune.example/r4"
//   token_file = "/etc/varde/fhir.token"    # bearer token (or token = "..."); re-read on every request
//   timeout_s = 30
//
//   [sender]                          # MessageHeader.sender: the municipality's service, by HER-id
//   her_id = "8123456"
//   name = "Hjemmetjenesten, Eksempel kommune"
//   endpoint = "https://varde.kommune.example/fhir"   # MessageHeader.source.endpoint
//
//   [receiver]                        # MessageHeader.destination[0].receiver, by HER-id
//   her_id = "8765432"
//   name = "EPJ, Eksempel kommune"
//   endpoint = "https://fhir.kommune.example/r4"       # destination endpoint (default: server.base_url)
//
//   [mqtt]                            # the broker carrying the backend contract (needed by `varde fhir run`)
//   url = "mqtt://127.0.0.1:1883"
//   gateway = "+"                     # which gateways' events (MQTT single-level filter or a gateway_id)
//   client_id = "varde-fhir"          # persistent session: the broker keeps events while the exporter is down
//   username = "..."; password = "..."; ca = "ca.pem"; cert = "client.pem"; key = "client.key"
//
//   [retry]
//   first_s = 5                       # first retry after a transient failure; doubles up to max_s
//   max_s = 900
import * as fs from "node:fs";
import * as path from "node:path";
import TOML from "@iarna/toml";

export interface FhirConfig {
  file: string;
  patients: string;
  queue: string;
  deviceSystem: string;
  server: { baseUrl: string; token?: string; tokenFile?: string; timeoutS: number } | null;
  sender: { herId: string; name: string; endpoint: string };
  receiver: { herId: string; name: string; endpoint: string };
  mqtt: { url: string; gateway: string; clientId: string; username?: string; password?: string; ca?: string; cert?: string; key?: string } | null;
  retry: { firstS: number; maxS: number };
}

export class FhirConfigError extends Error {}

type Table = Record<string, unknown>;

/** Parses and validates a config's text; relative paths resolve against the file's folder. */
export function parseFhirConfig(file: string, text: string): FhirConfig {
  let doc: Table;
  try {
    doc = TOML.parse(text) as Table;
  } catch (e) {
    throw new FhirConfigError(`${file}: not valid TOML: ${(e as Error).message}`);
  }
  const dir = path.dirname(path.resolve(file));
  const fail = (key: string, msg: string): never => {
    throw new FhirConfigError(`${file}: ${key}: ${msg}`);
  };
  const table = (key: string, required: boolean): Table | undefined => {
    const v = doc[key];
    if (v === undefined) return required ? fail(`[${key}]`, `missing; add a [${key}] table (see backend/fhir/config.ts)`) : undefined;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(key, `must be a table: write [${key}]`);
    return v as Table;
  };
  const str = (t: Table, name: string, key: string, def?: string): string => {
    const v = t[key];
    if (v === undefined) return def !== undefined ? def : fail(`${name}${key}`, `missing; set ${key} = "..."`);
    if (typeof v !== "string" || v.trim() === "") return fail(`${name}${key}`, `must be a non-empty string`);
    return v;
  };
  const url = (t: Table, name: string, key: string, def?: string): string => {
    const v = str(t, name, key, def);
    if (!/^(https?:\/\/[^\s]+|urn:[a-z0-9][a-z0-9-]*:[^\s]+)$/i.test(v)) fail(`${name}${key}`, `"${v}" is not an http(s) URL or a urn`);
    return v.replace(/\/+$/, "");
  };
  const num = (t: Table, name: string, key: string, def: number, min: number): number => {
    const v = t[key] ?? def;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) return fail(`${name}${key}`, `must be a number >= ${min}`);
    return v;
  };
  const her = (t: Table, name: string): string => {
    const v = str(t, name, "her_id");
    if (!/^[0-9]{1,9}$/.test(v)) fail(`${name}her_id`, `"${v}" is not a HER-id (digits from the address register, Adresseregisteret)`);
    return v;
  };

  const serverT = table("server", false);
  const server = serverT
    ? {
        baseUrl: url(serverT, "server.", "base_url"),
        token: serverT.token === undefined ? undefined : str(serverT, "server.", "token"),
        tokenFile: serverT.token_file === undefined ? undefined : path.resolve(dir, str(serverT, "server.", "token_file")),
        timeoutS: num(serverT, "server.", "timeout_s", 30, 0.05),
      }
    : null;
  if (server && server.token && server.tokenFile) fail("server", "set token or token_file, not both");
  const s = table("sender", true)!;
  const r = table("receiver", true)!;
  const sender = { herId: her(s, "sender."), name: str(s, "sender.", "name"), endpoint: url(s, "sender.", "endpoint") };
  const receiverDefault = server?.baseUrl;
  const receiver = {
    herId: her(r, "receiver."),
    name: str(r, "receiver.", "name"),
    endpoint: url(r, "receiver.", "endpoint", receiverDefault ?? undefined),
  };
  const m = table("mqtt", false);
  const mqtt = m
    ? {
        url: str(m, "mqtt.", "url"),
        gateway: str(m, "mqtt.", "gateway", "+"),
        clientId: str(m, "mqtt.", "client_id", "varde-fhir"),
        username: m.username === undefined ? undefined : str(m, "mqtt.", "username"),
        password: m.password === undefined ? undefined : str(m, "mqtt.", "password"),
        ca: m.ca === undefined ? undefined : path.resolve(dir, str(m, "mqtt.", "ca")),
        cert: m.cert === undefined ? undefined : path.resolve(dir, str(m, "mqtt.", "cert")),
        key: m.key === undefined ? undefined : path.resolve(dir, str(m, "mqtt.", "key")),
      }
    : null;
  if (mqtt && !/^(mqtts?|wss?|tcp|tls):\/\//.test(mqtt.url)) fail("mqtt.url", `"${mqtt.url}" must start with mqtt://, mqtts://, ws:// or wss://`);
  if (mqtt && mqtt.gateway !== "+" && !/^[^/+#]+$/.test(mqtt.gateway)) fail("mqtt.gateway", `must be "+" or one gateway_id (no / + #)`);
  const rt = table("retry", false) ?? {};
  const retry = { firstS: num(rt, "retry.", "first_s", 5, 0.01), maxS: num(rt, "retry.", "max_s", 900, 0.01) };
  if (retry.maxS < retry.firstS) fail("retry.max_s", "must be >= retry.first_s");
  return {
    file,
    patients: path.resolve(dir, str(doc, "", "patients")),
    queue: path.resolve(dir, str(doc, "", "queue", "fhir-queue.db")),
    deviceSystem: url(doc, "", "device_system", "urn:varde:device-id"),
    server,
    sender,
    receiver,
    mqtt,
    retry,
  };
}

/** Loads a config file; errors name the file and what to fix. */
export function loadFhirConfig(file: string): FhirConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FhirConfigError(`FHIR exporter config ${file} ${code === "ENOENT" ? "does not exist" : "cannot be read: " + (e as Error).message}; pass --config <fhir.toml> (example: examples/fhir.toml)`);
  }
  return parseFhirConfig(file, text);
}

/** The bearer token, read when needed (a token file may be rotated while the exporter runs). */
export function bearerToken(cfg: FhirConfig): string {
  const s = cfg.server;
  if (!s) throw new FhirConfigError(`${cfg.file}: [server] missing; add base_url and token or token_file`);
  if (s.token) return s.token;
  if (!s.tokenFile) throw new FhirConfigError(`${cfg.file}: server: set token = "..." or token_file = "path" (the bearer token for ${s.baseUrl})`);
  let t: string;
  try {
    t = fs.readFileSync(s.tokenFile, "utf8").trim();
  } catch (e) {
    throw new FhirConfigError(`${cfg.file}: server.token_file ${s.tokenFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); write the bearer token into it`);
  }
  if (!t) throw new FhirConfigError(`${cfg.file}: server.token_file ${s.tokenFile} is empty; write the bearer token into it`);
  return t;
}
