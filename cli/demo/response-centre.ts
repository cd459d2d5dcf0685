// A minimal response centre for the demo, on the backend contract like any backend: it subscribes to the
// gateway's events, prints them in words, acknowledges them at application level (so they leave the
// gateway outbox), and — like a responder picking up — acknowledges each alarm after a short delay with
// the `ack-alarm` command. It also sends the dispenser its schedule (`set-schedule`) and a technician's
// test alarm (`device-command`).
// Each alarm is acknowledged once: by hand (`a`) or by the automatic responder, whichever comes first;
// the other is told it was already done. Event ids are printed whole (device:boot:seq).
import mqtt, { type MqttClient } from "mqtt";
import { randomUUID } from "node:crypto";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { filter, parseTopic, topic } from "../../gateway/mqtt/topics.ts";
import { codeLabel } from "../../gateway/codes.ts";
import { describeEvent } from "../../gateway/describe.ts";
import { clockTime } from "../output/printer.ts";

export interface ResponseCentreOptions {
  url: string;
  gateway: string;
  /** acknowledge alarms automatically after this many ms; null = never (acknowledge() by hand) */
  autoAckMs: number | null;
  responder?: string;
  /** one line, already tagged "broker", "responder", ... */
  print: (line: string) => void;
}

export interface ReceivedEvent {
  topic: string;
  qos: number;
  retain: boolean;
  event: any;
  /** wall time it arrived, ms */
  at: number;
}

interface AlarmRecord {
  ev: any;
  ackedBy?: string;
  ackedAt?: number;
  timer?: NodeJS.Timeout;
}

export class ResponseCentre {
  client: MqttClient | null = null;
  readonly events: ReceivedEvent[] = [];
  readonly responses: Array<{ command: string; res: any }> = [];
  private seen = new Set<string>();
  /** alarms by event id, in arrival order */
  private alarms = new Map<string, AlarmRecord>();

  constructor(readonly opts: ResponseCentreOptions) {}

  async start(): Promise<void> {
    const o = this.opts;
    this.client = await mqtt.connectAsync(o.url, { clientId: "varde-demo-response-centre-" + process.pid, reconnectPeriod: 1000 });
    await this.client.subscribeAsync([filter("event", o.gateway), filter("response", o.gateway), filter("availability", o.gateway)], { qos: 1 });
    this.client.on("message", (t, payload, packet) => this.onMessage(t, payload, packet.qos, packet.retain));
  }

  private say(who: string, text: string): void {
    this.opts.print(`${who.padEnd(10)} ${text}`);
  }

  private onMessage(t: string, payload: Buffer, qos: number, retain: boolean): void {
    const o = this.opts;
    const p = parseTopic(t);
    if (!p) return;
    if (p.name === "availability") {
      const a = decodeMessage("DeviceAvailability", payload);
      this.say("broker", `device ${p.params.device} is ${a.online ? "online" : "offline"} (retained availability)`);
      return;
    }
    if (p.name === "response") {
      const r = decodeMessage("CommandResponse", payload);
      this.responses.push({ command: p.params.command, res: r });
      this.say("broker", `response to ${p.params.command}: ${r.ok ? "ok" : "error: " + r.error}${r.state ? ", " + r.state : ""}`);
      return;
    }
    if (p.name !== "event") return;
    const ev = decodeMessage("BackendEvent", payload);
    // stored (here: kept in memory) before the application ack, like a real backend
    this.events.push({ topic: t, qos, retain, event: ev, at: Date.now() });
    this.client!.publish(topic("ack", { gateway: o.gateway }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
    if (this.seen.has(ev.eventId)) {
      this.say("broker", `duplicate ${ev.eventId} ignored (dedup by event id)`);
      return;
    }
    this.seen.add(ev.eventId);
    if (ev.type === "heartbeat") return; // telemetry: not worth a line in the demo
    const codes = (ev.codes ?? []).map(codeLabel).join(", ");
    const times = ev.scheduled ? `due ${clockTime(ev.scheduled * 1000)}, at ${clockTime(ev.time * 1000)} on the device's clock` : `at ${clockTime(ev.time * 1000)}`;
    this.say("broker", `${t}  QoS ${qos}${retain ? " retained" : ""}  ${describeEvent(ev.type, ev.envelope)}  ${times}  id=${ev.eventId}${codes ? "  [" + codes + "]" : ""}`);
    const alarm = ev.envelope?.alarm;
    if (ev.type === "alarm" && alarm && !alarm.cancel) {
      const rec: AlarmRecord = { ev };
      this.alarms.set(ev.eventId, rec);
      if (o.autoAckMs !== null) rec.timer = setTimeout(() => void this.acknowledge(ev.eventId, "automatic responder"), o.autoAckMs);
    }
    if (ev.type === "alarm" && alarm?.cancel) {
      // the wearer cancelled it: nobody needs to acknowledge it any more
      for (const rec of this.alarms.values()) if (rec.ev.device === ev.device && rec.ev.envelope.seq === alarm.alarmSeq && !rec.ackedBy) this.settle(rec, "the wearer (cancelled)");
    }
  }

  private settle(rec: AlarmRecord, by: string): void {
    if (rec.timer) clearTimeout(rec.timer);
    rec.timer = undefined;
    rec.ackedBy = by;
    rec.ackedAt = Date.now();
  }

  /** Alarms the automatic responder will still acknowledge. */
  pendingAutoAcks(): number {
    return [...this.alarms.values()].filter((r) => r.timer !== undefined).length;
  }

  /** The newest alarm nobody acknowledged yet, or null. */
  openAlarm(): any | null {
    const open = [...this.alarms.values()].filter((r) => !r.ackedBy);
    return open.length ? open[open.length - 1].ev : null;
  }

  /**
   * A responder acknowledges the alarm with this event id (default: the newest open one). Returns false,
   * saying why, when there is nothing to acknowledge: never a second ack-alarm for the same alarm.
   */
  async acknowledge(eventId?: string, who = "you (key a)"): Promise<boolean> {
    const rec = eventId ? this.alarms.get(eventId) : [...this.alarms.values()].filter((r) => !r.ackedBy).pop();
    if (!rec) {
      const last = [...this.alarms.values()].pop();
      this.say("responder", last ? `no open alarm: ${last.ev.eventId} was acknowledged by ${last.ackedBy} ${Math.round((Date.now() - last.ackedAt!) / 1000)} s ago; press p for a new alarm` : "no alarm to acknowledge yet: press p first");
      return false;
    }
    if (rec.ackedBy) {
      if (who !== "automatic responder") this.say("responder", `alarm ${rec.ev.eventId} was already acknowledged by ${rec.ackedBy}`);
      return false;
    }
    this.settle(rec, who);
    const ev = rec.ev;
    const req = { correlationId: randomUUID(), device: ev.device, alarmSeq: ev.envelope.seq, responder: this.opts.responder ?? "demo" };
    this.say("responder", `${who === "automatic responder" ? "the automatic responder" : "you"} acknowledge${who === "automatic responder" ? "s" : ""} alarm ${ev.eventId} (command ack-alarm, correlation ${req.correlationId.slice(0, 8)})`);
    await this.client!.publishAsync(topic("command", { gateway: this.opts.gateway, command: "ack-alarm" }), Buffer.from(encodeCanonical("CommandRequest", req)), { qos: 1 });
    return true;
  }

  /** A technician asks the device for a test alarm that travels the whole chain (command device-command). */
  async requestTestAlarm(device: number): Promise<void> {
    const req = { correlationId: randomUUID(), device, command: { kind: 2 /* COMMAND_TEST_ALARM */ } };
    this.say("technician", `requests a test alarm from device ${device} (command device-command TEST_ALARM)`);
    await this.client!.publishAsync(topic("command", { gateway: this.opts.gateway, command: "device-command" }), Buffer.from(encodeCanonical("CommandRequest", req)), { qos: 1 });
  }

  /** A nurse sends a dispenser its schedule (command set-schedule); `schedule` is a varde.proto Schedule. */
  async setSchedule(device: number, schedule: Record<string, unknown>): Promise<void> {
    const req = { correlationId: randomUUID(), device, schedule };
    await this.client!.publishAsync(topic("command", { gateway: this.opts.gateway, command: "set-schedule" }), Buffer.from(encodeCanonical("CommandRequest", req)), { qos: 1 });
  }

  async stop(): Promise<void> {
    for (const r of this.alarms.values()) if (r.timer) clearTimeout(r.timer);
    await this.client?.endAsync();
  }
}
