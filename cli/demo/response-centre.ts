// A minimal response centre for the demo: subscribes to the gateway's events, prints them readably,
// acknowledges them at application level (so they leave the gateway outbox), and — like a responder
// picking up — acknowledges each alarm after a short delay with the `ack-alarm` command.
import mqtt, { type MqttClient } from "mqtt";
import { randomUUID } from "node:crypto";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { filter, parseTopic, topic } from "../../gateway/mqtt/topics.ts";
import { codeLabel } from "../../gateway/codes.ts";

export interface ResponseCentreOptions {
  url: string;
  gateway: string;
  /** acknowledge alarms automatically after this many ms; null = never (acknowledge() by hand) */
  autoAckMs: number | null;
  responder?: string;
  print: (line: string) => void;
}

export interface ReceivedEvent {
  topic: string;
  qos: number;
  retain: boolean;
  event: any;
}

export class ResponseCentre {
  client: MqttClient | null = null;
  readonly events: ReceivedEvent[] = [];
  private seen = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: ResponseCentreOptions) {}

  async start(): Promise<void> {
    const o = this.opts;
    this.client = await mqtt.connectAsync(o.url, { clientId: "varde-demo-response-centre-" + process.pid, reconnectPeriod: 1000 });
    await this.client.subscribeAsync([filter("event", o.gateway), filter("response", o.gateway), filter("availability", o.gateway)], { qos: 1 });
    this.client.on("message", (t, payload, packet) => this.onMessage(t, payload, packet.qos, packet.retain));
  }

  private onMessage(t: string, payload: Buffer, qos: number, retain: boolean): void {
    const o = this.opts;
    const p = parseTopic(t);
    if (!p) return;
    if (p.name === "availability") {
      const a = decodeMessage("DeviceAvailability", payload);
      o.print(`broker     device ${p.params.device} is ${a.online ? "online" : "offline"} (retained availability)`);
      return;
    }
    if (p.name === "response") {
      const r = decodeMessage("CommandResponse", payload);
      o.print(`broker     response to ${p.params.command}: ${r.ok ? "ok" : "error " + r.error} ${r.state}`);
      return;
    }
    if (p.name !== "event") return;
    const ev = decodeMessage("BackendEvent", payload);
    this.events.push({ topic: t, qos, retain, event: ev });
    this.client!.publish(topic("ack", { gateway: o.gateway }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    if (this.seen.has(ev.eventId)) {
      o.print(`broker     duplicate ${ev.eventId} ignored (dedup by event id)`);
      return;
    }
    this.seen.add(ev.eventId);
    if (ev.type === "heartbeat") return; // telemetry: not worth a line in the demo
    const codes = (ev.codes ?? []).map(codeLabel).join(", ");
    const when = new Date(ev.time * 1000).toISOString();
    o.print(`broker     ${t}  QoS ${qos}${retain ? " retained" : ""}  ${ev.type}${ev.test ? " (TEST)" : ""} id=${ev.eventId} at ${when}${codes ? "  [" + codes + "]" : ""}`);
    const alarm = ev.envelope?.alarm;
    if (ev.type === "alarm" && alarm && !alarm.cancel && o.autoAckMs !== null) {
      const h = setTimeout(() => {
        this.timers.delete(h);
        void this.acknowledge(ev.device, ev.envelope.seq);
      }, o.autoAckMs);
      this.timers.add(h);
    }
  }

  /** The responder acknowledges alarm `alarmSeq` of `device`. */
  async acknowledge(device: number, alarmSeq: number): Promise<void> {
    const o = this.opts;
    const req = { correlationId: randomUUID(), device, alarmSeq, responder: o.responder ?? "demo" };
    o.print(`responder  acknowledges alarm ${device}:${alarmSeq} (command ack-alarm, correlation ${req.correlationId.slice(0, 8)})`);
    await this.client!.publishAsync(topic("command", { gateway: o.gateway, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", req)), { qos: 1 });
  }

  /** A technician asks the device for a test alarm that travels the whole chain (command device-command). */
  async requestTestAlarm(device: number): Promise<void> {
    const o = this.opts;
    const req = { correlationId: randomUUID(), device, command: { kind: 2 /* COMMAND_TEST_ALARM */ } };
    o.print(`technician requests a test alarm from device ${device} (command device-command TEST_ALARM)`);
    await this.client!.publishAsync(topic("command", { gateway: o.gateway, command: "device-command" }), Buffer.from(encodeCanonical("CommandRequest", req)), { qos: 1 });
  }

  async stop(): Promise<void> {
    for (const h of this.timers) clearTimeout(h);
    await this.client?.endAsync();
  }
}
