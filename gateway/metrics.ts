// Prometheus metrics in the text exposition format (no client library needed for counters and
// gauges), served with the gateway's status on one small HTTP server:
//   GET /metrics  Prometheus text       GET /status  JSON (used by `varde status`)
// Bound to 127.0.0.1 by default ([metrics] host/port; port -1 disables, 0 picks a free port).
import type * as Http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

const HELP: Record<string, [string, "counter" | "gauge"]> = {
  varde_events_in_total: ["Device events stored in the outbox, by type", "counter"],
  varde_events_out_total: ["Events that left the outbox (backend has them)", "counter"],
  varde_events_published_total: ["Event publishes to the broker (including republishes)", "counter"],
  varde_events_republished_total: ["Events published again after no acknowledgement within ack_timeout_s", "counter"],
  varde_events_dropped_total: ["Telemetry events dropped because the outbox was full", "counter"],
  varde_duplicates_total: ["Reliable device frames received again and acked again, not stored", "counter"],
  varde_frames_in_total: ["Authenticated device frames", "counter"],
  varde_frames_rejected_total: ["Device frames rejected, by reason (framing = lost to a bad length, CRC or truncation)", "counter"],
  varde_link_noise_bytes_total: ["Bytes on device links outside any frame (debug text, line noise)", "counter"],
  varde_handshakes_total: ["Completed device handshakes", "counter"],
  varde_device_seq_resets_total: ["Devices whose reliable seq went backwards (re-flashed, flash lost)", "counter"],
  varde_links_opened_total: ["Transport links opened", "counter"],
  varde_downlink_queued_total: ["Downlink messages queued, by kind", "counter"],
  varde_downlink_delivered_total: ["Downlink messages acked by devices, by kind", "counter"],
  varde_downlink_retries_total: ["Downlink retransmissions", "counter"],
  varde_mqtt_connects_total: ["Connections to the broker made", "counter"],
  varde_mqtt_reconnects_total: ["Reconnection attempts to the broker", "counter"],
  varde_commands_total: ["Backend commands handled, by command", "counter"],
  varde_commands_rejected_total: ["Backend commands refused, by reason (malformed, unknown_command, bad_request, response_topic)", "counter"],
  varde_acks_rejected_total: ["EventAck messages that could not be decoded", "counter"],
  varde_outbox_depth: ["Events waiting in the outbox", "gauge"],
  varde_outbox_bytes: ["Bytes accounted to the outbox", "gauge"],
  varde_outbox_full: ["1 while the outbox is at its configured bound", "gauge"],
  varde_storage_fault: ["1 while the data directory refuses writes (disk full, read-only, I/O error)", "gauge"],
  varde_outbox_salvaged_events: ["Events salvaged from a damaged outbox file at the last start", "gauge"],
  varde_devices_online: ["Devices currently online", "gauge"],
  varde_mqtt_connected: ["1 while connected to the broker", "gauge"],
};

/** Histograms: name → [help, bucket upper bounds]. */
const HISTOGRAMS: Record<string, [string, number[]]> = {
  varde_event_delivery_seconds: ["From storing a device event to the backend having it (app ack or PUBACK), by type", [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400]],
};

type Labels = Record<string, string>;
const render = (labels: Labels) => Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, "_")}"`).join(",");
const require = createRequire(import.meta.url);

export class Metrics {
  private values = new Map<string, Map<string, number>>();
  private server: Http.Server | null = null;
  private hist = new Map<string, Map<string, { buckets: number[]; sum: number; count: number }>>();
  /** refreshed before every scrape (gauges read from live state) */
  beforeScrape: () => void = () => undefined;

  /** label name → value → rendered key, for the one-label sets counted per event ({type}, {reason}) */
  private readonly oneLabel = new Map<string, Map<string, string>>();
  private key(labels?: Labels): string {
    if (!labels) return "";
    let name = "";
    let n = 0;
    for (const k in labels) {
      name = k;
      if (++n > 1) break;
    }
    if (n !== 1) return render(labels);
    let byValue = this.oneLabel.get(name);
    if (!byValue) this.oneLabel.set(name, (byValue = new Map()));
    const v = labels[name];
    let k = byValue.get(v);
    if (k === undefined) {
      k = render(labels);
      if (byValue.size < 1000) byValue.set(v, k); // label values are few (types, reasons); bounded anyway
    }
    return k;
  }
  inc(name: string, labels?: Labels, by = 1): void {
    const m = this.values.get(name) ?? new Map();
    this.values.set(name, m);
    const k = this.key(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }
  set(name: string, value: number, labels?: Labels): void {
    const m = this.values.get(name) ?? new Map();
    this.values.set(name, m);
    m.set(this.key(labels), value);
  }
  observe(name: string, value: number, labels?: Labels): void {
    const bounds = HISTOGRAMS[name][1];
    const m = this.hist.get(name) ?? new Map();
    this.hist.set(name, m);
    const k = this.key(labels);
    const h = m.get(k) ?? { buckets: bounds.map(() => 0), sum: 0, count: 0 };
    m.set(k, h);
    for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]) h.buckets[i]++;
    h.sum += value;
    h.count++;
  }
  /** Number of observations of a histogram (all label sets). */
  count(name: string): number {
    let n = 0;
    for (const h of this.hist.get(name)?.values() ?? []) n += h.count;
    return n;
  }

  /** Sum over all label sets. */
  get(name: string, labels?: Labels): number {
    const m = this.values.get(name);
    if (!m) return 0;
    if (labels) return m.get(this.key(labels)) ?? 0;
    let s = 0;
    for (const v of m.values()) s += v;
    return s;
  }
  render(): string {
    this.beforeScrape();
    const out: string[] = [];
    for (const [name, [help, type]] of Object.entries(HELP)) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      const m = this.values.get(name);
      if (!m || m.size === 0) out.push(`${name} 0`);
      else for (const [k, v] of m) out.push(k ? `${name}{${k}} ${v}` : `${name} ${v}`);
    }
    for (const [name, [help, bounds]] of Object.entries(HISTOGRAMS)) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [k, h] of this.hist.get(name) ?? []) {
        const lab = (extra: string) => `{${[k, extra].filter(Boolean).join(",")}}`;
        bounds.forEach((b, i) => out.push(`${name}_bucket${lab(`le="${b}"`)} ${h.buckets[i]}`));
        out.push(`${name}_bucket${lab('le="+Inf"')} ${h.count}`, `${name}_sum${k ? `{${k}}` : ""} ${h.sum}`, `${name}_count${k ? `{${k}}` : ""} ${h.count}`);
      }
    }
    return out.join("\n") + "\n";
  }

  /** Starts the HTTP endpoint; resolves with its URL ("" when disabled). */
  async serve(host: string, port: number, status: () => object): Promise<string> {
    if (port < 0) return "";
    const http: typeof Http = require("node:http"); // loaded only when the endpoint is on
    const server = http.createServer((req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(this.render());
      } else if (req.url === "/status") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(status(), null, 2));
      } else {
        res.writeHead(404).end("try /metrics or /status\n");
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(new Error(`metrics endpoint ${host}:${port}: ${e.message}; set [metrics] port to a free port, 0 for any, or -1 to disable`)));
      server.listen(port, host, () => resolve());
    });
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
