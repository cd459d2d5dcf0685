// The backend contract in code: every MQTT topic the gateway uses, its QoS, retain flag, direction and
// payload message (protocol/varde.proto, package varde.v1). This is the ONE place topics are spelled;
// docs/backend-contract.md and docs/asyncapi.yaml describe the same map and a test
// (gateway/mqtt/contract.test.ts) fails when they disagree.
//
// Direction is from the gateway's point of view: "send" = the gateway publishes, "receive" = the
// gateway subscribes. Payloads are protobuf by default; with [mqtt] payload_format = "json" the same
// messages are published as JSON (protobufjs JSON names, camelCase) — see the contract page.

export interface TopicSpec<P extends string = string> {
  readonly pattern: P;
  readonly direction: "send" | "receive";
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** message type in protocol/varde.proto */
  readonly payload: string;
  readonly description: string;
}

export const TOPICS = {
  state: {
    pattern: "varde/v1/{gateway}/state",
    direction: "send",
    qos: 1,
    retain: true,
    payload: "GatewayState",
    description: "Gateway birth (online = true) published on every connect, and its last will (online = false) with the same bd_seq.",
  },
  availability: {
    pattern: "varde/v1/{gateway}/device/{device}/availability",
    direction: "send",
    qos: 1,
    retain: true,
    payload: "DeviceAvailability",
    description: "Whether a device is reachable: online after its handshake, offline after the configured number of missed heartbeats.",
  },
  event: {
    pattern: "varde/v1/{gateway}/device/{device}/event/{type}",
    direction: "send",
    qos: 1,
    retain: false,
    payload: "BackendEvent",
    description: "One device event (alarm, dose, fault, ...), never retained; deduplicate on event_id.",
  },
  ack: {
    pattern: "varde/v1/{gateway}/ack",
    direction: "receive",
    qos: 1,
    retain: false,
    payload: "EventAck",
    description: "The backend's application-level acknowledgement: the listed event ids leave the gateway outbox.",
  },
  command: {
    pattern: "varde/v1/{gateway}/command/{command}",
    direction: "receive",
    qos: 1,
    retain: false,
    payload: "CommandRequest",
    description: "A request to the gateway or a device, answered on the response topic with the same correlation id.",
  },
  response: {
    pattern: "varde/v1/{gateway}/response/{command}",
    direction: "send",
    qos: 1,
    retain: false,
    payload: "CommandResponse",
    description: "The answer to a command (or to the MQTT 5 response topic when the request named one).",
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicName = keyof typeof TOPICS;

// ---- payload types (plain objects as protocol/schema.ts encodes/decodes them; camelCase names) ----
// PAYLOAD_FIELDS below lists every field of each message; contract.test.ts checks it against
// varde.proto, and `satisfies` makes the compiler check it against these interfaces both ways.

export interface NationalCode { system: string; code: string; display: string }
export interface BackendEvent {
  eventId: string; gateway: string; device: number; kind: number; type: string; time: number; received: number;
  late: boolean; historical: boolean; codes: NationalCode[]; envelope: Record<string, any>; label: string; test: boolean;
  /** dose events: scheduled time (envelope.time - dose.delay_s), Unix s; 0 otherwise */
  scheduled: number;
}
export interface GatewayState { online: boolean; bdSeq: number; time: number; version: string; devicesOnline: number; outboxDepth: number; outboxFull: boolean }
export interface DeviceAvailability { online: boolean; time: number; reason: string; lastSeen: number; firmware: string; board: string }
export interface EventAck { eventIds: string[] }
export interface CommandRequest {
  correlationId: string; device: number; schedule: Record<string, any>; alarmSeq: number; responder: string;
  heartbeatS: number; config: Record<string, any>; command: Record<string, any>;
}
export interface CommandResponse { correlationId: string; ok: boolean; error: string; state: string; downlinkSeq: number; json: string }

/** The payload type carried by each topic. */
export interface TopicPayloads {
  state: GatewayState;
  availability: DeviceAvailability;
  event: BackendEvent;
  ack: EventAck;
  command: CommandRequest;
  response: CommandResponse;
}
export type PayloadOf<N extends TopicName> = TopicPayloads[N];

type Exact<T> = { [K in keyof T]-?: true };
export const PAYLOAD_FIELDS = {
  NationalCode: { system: true, code: true, display: true } satisfies Exact<NationalCode>,
  BackendEvent: { eventId: true, gateway: true, device: true, kind: true, type: true, time: true, received: true, late: true, historical: true, codes: true, envelope: true, label: true, test: true, scheduled: true } satisfies Exact<BackendEvent>,
  GatewayState: { online: true, bdSeq: true, time: true, version: true, devicesOnline: true, outboxDepth: true, outboxFull: true } satisfies Exact<GatewayState>,
  DeviceAvailability: { online: true, time: true, reason: true, lastSeen: true, firmware: true, board: true } satisfies Exact<DeviceAvailability>,
  EventAck: { eventIds: true } satisfies Exact<EventAck>,
  CommandRequest: { correlationId: true, device: true, schedule: true, alarmSeq: true, responder: true, heartbeatS: true, config: true, command: true } satisfies Exact<CommandRequest>,
  CommandResponse: { correlationId: true, ok: true, error: true, state: true, downlinkSeq: true, json: true } satisfies Exact<CommandResponse>,
} as const;

/** Values of the {type} segment of the event topic. */
export const EVENT_TYPES = [
  "alarm", "dose", "fault", "battery", "supply", "heartbeat", "schedule_ack", "config_ack", "status",
  "device_lost", "device_back",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Values of the {command} segment of the command and response topics, with the fields each reads. */
export const COMMANDS = {
  "ack-alarm": "device, alarm_seq, responder — relayed to the device as AlarmAck (its LED shows 'acknowledged')",
  "set-schedule": "device, schedule — queued durably as a Schedule downlink; the device answers with a schedule_ack event",
  "set-heartbeat": "device, heartbeat_s — queued as a Config downlink carrying the new heartbeat interval",
  "set-config": "device, config — queued as a Config downlink",
  "device-command": "device, command — queued as a Command downlink (status, test alarm, refill confirmed, ...)",
  status: "(none) — the response's json field describes the gateway, its outbox and every device",
  rebirth: "(none) — republishes the gateway state and every device's availability",
} as const;
export type CommandName = keyof typeof COMMANDS;

type Params<P extends string> = P extends `${string}{${infer K}}${infer Rest}` ? { [k in K]: string | number } & Params<Rest> : {};

/** The concrete topic for a name and its parameters, e.g. topic("event", {gateway, device, type}). */
export function topic<N extends TopicName>(name: N, params: Params<(typeof TOPICS)[N]["pattern"]>): string {
  return TOPICS[name].pattern.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = (params as Record<string, string | number>)[k];
    if (v === undefined || String(v).length === 0 || /[/+#]/.test(String(v))) throw new Error(`topic ${name}: bad value for {${k}}: ${JSON.stringify(v)}`);
    return String(v);
  });
}

/** Subscription filter for a receive topic: each {x} becomes "+". */
export function filter(name: TopicName, gateway: string): string {
  return TOPICS[name].pattern.replace("{gateway}", gateway).replace(/\{\w+\}/g, "+");
}

/** Which topic a concrete topic string is, with its parameters; null when it is none of ours. */
export function parseTopic(t: string): { name: TopicName; params: Record<string, string> } | null {
  for (const name of Object.keys(TOPICS) as TopicName[]) {
    const keys: string[] = [];
    const re = new RegExp("^" + TOPICS[name].pattern.replace(/\{(\w+)\}/g, (_, k: string) => (keys.push(k), "([^/]+)")) + "$");
    const m = re.exec(t);
    if (m) return { name, params: Object.fromEntries(keys.map((k, i) => [k, m[i + 1]])) };
  }
  return null;
}
