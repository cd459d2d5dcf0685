// Renders docs/asyncapi.yaml (AsyncAPI 3.0) from topics.ts and the backend messages in varde.proto,
// so the machine-readable contract cannot drift from the code: contract.test.ts compares the
// committed file with this output. Regenerate after changing topics.ts or the backend messages:
//   node --import tsx gateway/mqtt/asyncapi.ts --write
// Payload schemas describe the JSON rendering (payload_format = "json"); the protobuf form is the
// same message in protocol/varde.proto (named in x-protobuf-message).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { COMMANDS, EVENT_TYPES, TOPICS, type TopicName } from "./topics.ts";
import { type } from "../wire.ts";
import { ALERT, DISPENSE, VKP_ALERT_SYSTEM, VKP_DISPENSE_SYSTEM } from "../codes.ts";

/** The backend contract's version (semver; CHANGELOG.md at the repository root says what changed). */
export const CONTRACT_VERSION = "2.0.0";

export const ASYNCAPI_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "asyncapi.yaml");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function scalarSchema(t: string): Json {
  switch (t) {
    case "bool": return { type: "boolean" };
    case "string": return { type: "string" };
    case "bytes": return { type: "string", contentEncoding: "base64" };
    case "uint32": case "fixed32": return { type: "integer", minimum: 0, maximum: 4294967295 };
    case "uint64": case "fixed64": return { type: "integer", minimum: 0 };
    case "int32": case "sint32": case "sfixed32": return { type: "integer", minimum: -2147483648, maximum: 2147483647 };
    case "double": case "float": return { type: "number" };
    default: return { type: "integer" };
  }
}

/** JSON Schema of a protobuf message (components/schemas, referenced by name). */
function collect(t: protobuf.Type, out: Record<string, Json>): void {
  if (out[t.name]) return;
  const props: Record<string, Json> = {};
  out[t.name] = { type: "object", "x-protobuf-message": `varde.v1.${t.name}`, properties: props };
  for (const f of t.fieldsArray) {
    let s: Json;
    if (f.resolvedType instanceof protobuf.Type) {
      collect(f.resolvedType, out);
      s = { $ref: `#/components/schemas/${f.resolvedType.name}` };
    } else if (f.resolvedType instanceof protobuf.Enum) {
      s = { type: "string", enum: Object.keys(f.resolvedType.values) };
    } else s = scalarSchema(f.type);
    props[f.name] = f.repeated ? { type: "array", items: s } : s;
  }
}

export function asyncApiDocument(): Json {
  const schemas: Record<string, Json> = {};
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  for (const name of Object.keys(TOPICS) as TopicName[]) {
    const t = TOPICS[name];
    collect(type(t.payload), schemas);
    const params: Record<string, Json> = {};
    for (const m of t.pattern.matchAll(/\{(\w+)\}/g)) {
      const p = m[1];
      params[p] =
        p === "type" ? { enum: [...EVENT_TYPES], description: "event type" }
        : p === "command" ? { enum: Object.keys(COMMANDS), description: "command name" }
        : p === "device" ? { description: "device id (decimal), from the provisioning registry" }
        : { description: "gateway_id from gateway.toml" };
    }
    messages[t.payload] = {
      name: t.payload,
      contentType: "application/x-protobuf",
      payload: { $ref: `#/components/schemas/${t.payload}` },
    };
    channels[name] = {
      address: t.pattern,
      description: t.description,
      parameters: params,
      messages: { [t.payload]: { $ref: `#/components/messages/${t.payload}` } },
    };
    operations[name] = {
      action: t.direction,
      channel: { $ref: `#/channels/${name}` },
      summary: `${t.direction === "send" ? "The gateway publishes" : "The gateway receives"} ${t.payload}, QoS ${t.qos}, ${t.retain ? "retained" : "not retained"}`,
      bindings: { mqtt: { qos: t.qos, retain: t.retain } },
    };
  }
  // what a code means depends on its system (contract 2): say so where integrators read the schema
  const nc = schemas.NationalCode as { [k: string]: Json };
  if (nc) {
    nc.description = "A national code. system is a VKP code-system URL (FHIR Coding.system) or \"SCAIP\"; display is the display of that system's current version. A VKP code is meaningful only with its system.";
    nc.examples = [
      { system: VKP_ALERT_SYSTEM, code: "1.1", display: ALERT.notDispensed.display },
      { system: VKP_DISPENSE_SYSTEM, code: "1.1", display: DISPENSE.unassisted.display },
      { system: "SCAIP", code: "0010", display: "manual alarm" },
    ];
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Varde gateway backend contract",
      version: CONTRACT_VERSION,
      description: "MQTT topics of a Varde home gateway. Human page: docs/backend-contract.md. Generated from gateway/mqtt/topics.ts and protocol/varde.proto by gateway/mqtt/asyncapi.ts; do not edit by hand.",
    },
    defaultContentType: "application/x-protobuf",
    channels,
    operations,
    components: { messages, schemas },
  };
}

/** A small YAML emitter: block mappings and sequences, strings always double-quoted (JSON escapes). */
export function toYaml(v: Json, indent = ""): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return v.map((x) => `\n${indent}- ${typeof x === "object" && x !== null ? toYaml(x, indent + "  ").replace(/^\n\s*/, "") : toYaml(x)}`).join("");
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return "{}";
  return keys
    .map((k) => {
      const x = v[k];
      const key = /^[A-Za-z_$][\w$-]*$/.test(k) ? k : JSON.stringify(k);
      if (x !== null && typeof x === "object" && (Array.isArray(x) ? x.length : Object.keys(x).length)) return `\n${indent}${key}:${toYaml(x, indent + "  ")}`;
      return `\n${indent}${key}: ${toYaml(x, indent + "  ")}`;
    })
    .join("");
}

export function renderAsyncApi(): string {
  return "# Generated by gateway/mqtt/asyncapi.ts from gateway/mqtt/topics.ts and protocol/varde.proto — do not edit.\n" + toYaml(asyncApiDocument()).replace(/^\n/, "") + "\n";
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) && process.argv.includes("--write")) {
  fs.writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  console.log(`wrote ${ASYNCAPI_PATH}`);
}
