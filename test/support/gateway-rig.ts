// The real gateway as its own process (the service bundle, as the systemd unit starts it: see
// gateway-process.ts) in front of a real Mosquitto, with a backend that records every message and acknowledges events at application
// level (store-then-ack, as the contract asks). For end-to-end tests of devices on real serial ports.
//
//   const gw = await GatewayRig.start({ devices: [{ id, kind: "alarm", board: "alarm-host", key, serial: path }] });
//   await gw.until(() => gw.events("alarm").length === 1, 20_000, "the alarm");
//   await gw.command("ack-alarm", { device: id, alarmSeq: 1, responder: "t" });
//   await gw.stop(); await gw.start(); (same data dir: the gateway's outbox survives)   await gw.close();
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto } from "./mosquitto.ts";
import { until } from "./wait.ts";
import { GatewayProcess } from "./gateway-process.ts";
import { appendDevice } from "../../gateway/registry.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";


export interface GatewayDevice {
  id: number;
  kind: "alarm" | "dispenser";
  board: string;
  key: string;
  /** the pty path the gateway opens for this device */
  serial: string;
}

export interface Received {
  topic: string;
  qos: number;
  retain: boolean;
  payload: Buffer;
}

export class GatewayRig {
  proc: GatewayProcess | null = null;
  readonly got: Received[] = [];
  private corr = 0;

  private constructor(
    readonly dir: string,
    readonly broker: Mosquitto,
    readonly backend: MqttClient,
    readonly gatewayId: string,
    readonly extraConfig: string,
  ) {}

  static async start(o: { devices: GatewayDevice[]; gatewayId?: string; config?: string[] }): Promise<GatewayRig> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-gwp-"));
    const gw = o.gatewayId ?? "real-gw";
    const broker = await Mosquitto.start();
    const lines = [`gateway_id = "${gw}"`, `registry = "registry.toml"`, `data_dir = "data"`];
    for (const d of o.devices) {
      appendDevice(path.join(dir, "registry.toml"), { id: d.id, kind: d.kind, board: d.board, key: d.key, label: `real ${d.board}`, created: new Date().toISOString() });
      lines.push(`[[transport]]`, `type = "serial"`, `path = "${d.serial}"`);
    }
    lines.push(`[mqtt]`, `url = "${broker.url}"`, `[metrics]`, `port = -1`, ...(o.config ?? []));
    fs.writeFileSync(path.join(dir, "gateway.toml"), lines.join("\n") + "\n");
    const backend = await mqtt.connectAsync(broker.url, { clientId: `${gw}-backend`, clean: false });
    const g = new GatewayRig(dir, broker, backend, gw, "");
    await backend.subscribeAsync([filter("event", gw), filter("response", gw), filter("availability", gw)], { qos: 1 });
    backend.on("message", (t, payload, packet) => {
      g.got.push({ topic: t, qos: packet.qos, retain: packet.retain, payload });
      if (t.includes("/event/")) {
        const ev = decodeMessage("BackendEvent", payload);
        backend.publish(topic("ack", { gateway: gw }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
      }
    });
    await g.start();
    return g;
  }

  /** Starts (again) the gateway process on the same config and data directory. */
  async start(): Promise<void> {
    this.proc = await GatewayProcess.start(path.join(this.dir, "gateway.toml"));
  }

  /** kill -9 (no graceful stop), or SIGTERM with `graceful`. */
  async stop(graceful = false): Promise<void> {
    await this.proc?.kill(graceful ? "SIGTERM" : "SIGKILL");
    this.proc = null;
  }

  /** Decoded BackendEvents of a type (all types when omitted), in arrival order. */
  events(type?: string): any[] {
    return this.got
      .filter((m) => m.topic.includes("/event/") && (!type || m.topic.endsWith("/event/" + type)))
      .map((m) => decodeMessage("BackendEvent", m.payload));
  }

  /** The latest retained availability of a device (undefined before any). */
  availability(device: number): any {
    const t = topic("availability", { gateway: this.gatewayId, device });
    const m = this.got.filter((x) => x.topic === t).pop();
    return m ? decodeMessage("DeviceAvailability", m.payload) : undefined;
  }

  /** Publishes a command; resolves with its CommandResponse once the gateway answers with `state`. */
  async command(name: string, req: Record<string, unknown>, state = "queued", timeoutMs = 20_000): Promise<any> {
    const correlationId = `c${++this.corr}`;
    await this.backend.publishAsync(topic("command", { gateway: this.gatewayId, command: name }), Buffer.from(encodeCanonical("CommandRequest", { correlationId, ...req })), { qos: 1 });
    const rt = topic("response", { gateway: this.gatewayId, command: name });
    const find = () =>
      this.got.filter((m) => m.topic === rt).map((m) => decodeMessage("CommandResponse", m.payload)).find((r) => r.correlationId === correlationId && (!r.ok || r.state === state));
    await until(() => find() !== undefined, timeoutMs, `response "${state}" to ${name} ${correlationId}\n${this.log.slice(-3000)}`);
    return find();
  }

  /** what the gateway process printed (stdout, then stderr) */
  get log(): string {
    return this.proc ? this.proc.out + this.proc.err : "";
  }

  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return until(cond, ms, `${what}\n--- gateway log ---\n${this.log.slice(-3000)}`);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.backend.endAsync();
    await this.broker.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
