// Backend commands (request/response, docs/backend-contract.md "Commands"): a CommandRequest on
// varde/v1/<gw>/command/<command> is checked, executed through a narrow port into the gateway core, and
// answered with a CommandResponse carrying the same correlation id. Device commands are queued durably
// as downlink; the first answer says "queued" (once durable), a second one "delivered" once the device
// acked it. The route for that second answer (MQTT 5 response topic, correlation data) waits in the
// correlator (correlator.ts) for at most [mqtt] command_timeout_s; after that, or after a gateway
// restart, "delivered" goes to the contract's default response topic.
//
// Where answers may go: the contract's response topic, or an MQTT 5 response topic the request names —
// but never a topic of the contract other than a response topic (not …/ack, …/command/…, …/state, an
// event or availability topic, of any gateway), never a $-topic, never a filter. A request naming one is
// refused without being executed: otherwise a principal allowed to send commands could make the gateway
// publish a CommandResponse onto its own ack topic, where it decodes as an EventAck and removes an event
// no backend stored. Refusals and malformed requests are counted (varde_commands_rejected_total{reason}).
import type { Logger } from "pino";
import type { IClientPublishOptions, IPublishPacket } from "mqtt";
import type { Metrics } from "../metrics.ts";
import type { GatewayClock } from "../clock.ts";
import type { DownlinkRow } from "../store/store.ts";
import { Correlator } from "../correlator.ts";
import { COMMANDS, parseTopic, topic, type CommandName, type CommandResponse } from "./topics.ts";
import { decodePayload } from "./payload.ts";

/** What commands need from the gateway core. */
export interface CommandPorts {
  registryPath(): string;
  hasDevice(device: number): boolean;
  queueDownlink(device: number, body: Record<string, any>, correlation: string, config?: { version: number; config: Record<string, any> }): Promise<{ seq: number }>;
  /** the downlink a command with this correlation queued (within the store's memory of commands), and whether the device acked it */
  commandDownlink(device: number, correlation: string): { seq: number; delivered: boolean } | undefined;
  nextConfigVersion(device: number): number;
  lastConfig(device: number): Record<string, any>;
  status(): object;
  rebirth(): void;
}

interface Route {
  correlationId: string;
  responseTopic?: string;
  correlationData?: Buffer;
}

export class Commands {
  private readonly replies: Correlator<void>;
  private readonly routes = new Map<string, Route>();

  constructor(
    private readonly gateway: string,
    private readonly protocolVersion: 4 | 5,
    private readonly ports: CommandPorts,
    private readonly send: (topic: string, res: Partial<CommandResponse>, opts: { correlationData?: Buffer }) => void,
    clock: GatewayClock,
    commandTimeoutS: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.replies = new Correlator<void>(clock, commandTimeoutS * 1000, (c) => `delivery of the downlink for command ${c}`);
  }

  /** A request arrived on varde/v1/<gw>/command/<command>. */
  async handle(command: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const props = this.protocolVersion === 5 ? (packet.properties ?? {}) : {};
    const route: Route = { correlationId: "", responseTopic: props.responseTopic, correlationData: props.correlationData as Buffer | undefined };
    if (route.responseTopic !== undefined) {
      const why = refusedResponseTopic(route.responseTopic);
      if (why) {
        this.reject("response_topic", `command ${command}: response topic ${JSON.stringify(route.responseTopic)} refused (${why}); not executed`);
        return this.respond(command, { correlationId: route.correlationData?.toString("utf8") ?? "" }, { ok: false, error: `response topic ${JSON.stringify(route.responseTopic)} refused: ${why}; name a topic outside the Varde contract's ack, command, state, event and availability topics` });
      }
    }
    let req: any;
    try {
      req = decodePayload("CommandRequest", new Uint8Array(payload));
    } catch (e) {
      this.reject("malformed", `command ${command}: payload is not a CommandRequest: ${(e as Error).message}`);
      return this.respond(command, route, { ok: false, error: `payload is not a CommandRequest (protobuf or JSON): ${(e as Error).message}` });
    }
    route.correlationId = req.correlationId || (route.correlationData ? route.correlationData.toString("utf8") : "");
    if (!(command in COMMANDS)) {
      this.reject("unknown_command", `unknown command ${JSON.stringify(command)}`);
      return this.respond(command, route, { ok: false, error: `unknown command "${command}"; known: ${Object.keys(COMMANDS).join(", ")}` });
    }
    this.metrics.inc("varde_commands_total", { command });
    let res: Partial<CommandResponse>;
    try {
      res = await this.execute(command as CommandName, req, route);
    } catch (e) {
      res = { ok: false, error: `not queued: ${(e as Error).message}; try again later` };
    }
    if (res.ok === false) this.reject("bad_request", `command ${command}: ${res.error}`);
    this.respond(command, route, res);
  }

  private reject(reason: string, line: string): void {
    this.metrics.inc("varde_commands_rejected_total", { reason });
    this.logger.warn({ reason }, line);
  }

  private respond(command: string, route: Route, res: Partial<CommandResponse>): void {
    const to = route.responseTopic || topic("response", { gateway: this.gateway, command: /^[a-z-]+$/.test(command) ? command : "unknown" });
    this.send(to, { correlationId: route.correlationId, ...res }, { correlationData: route.correlationData });
  }

  private async execute(command: CommandName, req: any, route: Route): Promise<Partial<CommandResponse>> {
    if (command === "status") return { ok: true, state: "done", json: JSON.stringify(this.ports.status()) };
    if (command === "rebirth") {
      this.ports.rebirth();
      return { ok: true, state: "done" };
    }
    const device = req.device ?? 0;
    if (!this.ports.hasDevice(device)) return { ok: false, error: `device ${device} is not in the registry (${this.ports.registryPath()}); provision it with \`varde provision\` and restart the gateway` };
    let body: Record<string, any>;
    let config: { version: number; config: Record<string, any> } | undefined;
    switch (command) {
      case "ack-alarm":
        if (!req.alarmSeq) return { ok: false, error: "ack-alarm needs alarm_seq (the seq of the device's alarm, from its event_id device:boot:seq)" };
        body = { alarmAck: { alarmSeq: req.alarmSeq, responder: (req.responder ?? "").slice(0, 16) } };
        break;
      case "set-schedule":
        if (!req.schedule) return { ok: false, error: "set-schedule needs schedule" };
        body = { schedule: req.schedule };
        break;
      case "set-heartbeat": {
        // A Config replaces the device's whole config (0 = board default), so the other fields come
        // from the last config sent to this device.
        if (!req.heartbeatS) return { ok: false, error: "set-heartbeat needs heartbeat_s > 0" };
        const version = this.ports.nextConfigVersion(device);
        config = { version, config: { ...this.ports.lastConfig(device), heartbeatS: req.heartbeatS } };
        body = { config: { ...config.config, version } };
        break;
      }
      case "set-config": {
        if (!req.config) return { ok: false, error: "set-config needs config" };
        const { version: v, ...rest } = req.config;
        const version = v || this.ports.nextConfigVersion(device);
        config = { version, config: rest };
        body = { config: { ...rest, version } };
        break;
      }
      case "device-command":
        if (!req.command) return { ok: false, error: "device-command needs command" };
        body = { command: req.command };
        break;
      default:
        return { ok: false, error: `unknown command "${command}"` };
    }
    // a request seen before (the broker delivers a command again when the gateway died after storing its
    // downlink but before the PUBACK): the correlation id is its idempotency key, answered with the first
    // request's downlink — still queued, or delivered already — and nothing is queued again
    if (route.correlationId) {
      const again = this.ports.commandDownlink(device, `${command} ${route.correlationId}`);
      if (again) return { ok: true, state: again.delivered ? "delivered" : "queued", downlinkSeq: again.seq };
    }
    const corr = route.correlationId || `auto-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    // stored with the downlink as "<command> <correlation id>": a delivery after a gateway restart is still answered
    const { seq } = await this.ports.queueDownlink(device, body, `${command} ${corr}`, config);
    this.routes.set(corr, { ...route, correlationId: corr });
    this.replies.wait(corr).then(
      () => undefined,
      () => this.routes.delete(corr), // expired or superseded: the default response topic will do
    );
    return { ok: true, state: "queued", downlinkSeq: seq };
  }

  /** The device acked a downlink that a command queued: answer "delivered". */
  delivered(row: DownlinkRow): void {
    const sp = row.correlation.indexOf(" ");
    if (sp < 0) return;
    const command = row.correlation.slice(0, sp);
    const corr = row.correlation.slice(sp + 1);
    const route = this.routes.get(corr) ?? { correlationId: corr };
    this.routes.delete(corr);
    this.replies.resolve(corr, undefined);
    this.respond(command, route, { ok: true, state: "delivered", downlinkSeq: row.seq });
  }

  /** Reply routes waiting (bounded by the command timeout). */
  get waiting(): number {
    return this.replies.size;
  }

  stop(): void {
    this.replies.clear("gateway stopping");
  }
}

/** Why a response topic is refused, or "" when answers may go there. */
export function refusedResponseTopic(t: string): string {
  if (t.length === 0) return "empty";
  if (/[+#\u0000]/.test(t)) return "a topic filter, not a topic name";
  if (t.startsWith("$")) return "a $-topic of the broker";
  if (Buffer.byteLength(t) > 65535) return "too long";
  const p = parseTopic(t);
  if (p && p.name !== "response") return `it is the contract's ${p.name} topic`;
  if (/^varde\/v\d+\//.test(t) && !p) return "inside the Varde contract's namespace but not a response topic";
  return "";
}

export type { IClientPublishOptions };
