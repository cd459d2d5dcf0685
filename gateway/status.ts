// What `varde status` shows: the running gateway's /status (metrics endpoint), or — when it is not
// running — what its outbox database says (read-only, safe while another process holds it).
import * as path from "node:path";
import * as fs from "node:fs";
import Database from "better-sqlite3";
import type { GatewayConfig } from "./config.ts";
import { loadRegistry } from "./registry.ts";

export interface StatusReport {
  running: boolean;
  /** why the figures come from disk although the gateway runs (no status endpoint, or it did not answer) */
  note?: string;
  source: string;
  gateway: string;
  broker?: string;
  mqttConnected?: boolean;
  bdSeq?: number;
  uptimeS?: number;
  outbox: { depth: number; bytes?: number; full?: boolean; downlink: number; oldest?: string };
  links?: Array<{ name: string; device: number | null; up: boolean }>;
  devices: Array<{ id: number; label: string; kind: string; online: boolean | null; lastSeen?: string; link?: string | null; downlinkQueued: number }>;
}

/**
 * The running gateway's /status. `base` is its status endpoint when known otherwise (a gateway with
 * [metrics] port = 0 publishes the port it got in its data directory: cli/gateway/run-info.ts).
 */
export async function fetchStatus(cfg: GatewayConfig, timeoutMs = 1500, base?: string): Promise<StatusReport | null> {
  if (!base && cfg.metrics.port <= 0) return null;
  const url = `${base ?? `http://${cfg.metrics.host}:${cfg.metrics.port}`}/status`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    const s = (await res.json()) as any;
    return { running: true, source: url, gateway: s.gateway, broker: s.broker, mqttConnected: s.mqttConnected, bdSeq: s.bdSeq, uptimeS: s.uptimeS, outbox: s.outbox, links: s.links, devices: s.devices };
  } catch {
    return null;
  }
}

export function offlineStatus(cfg: GatewayConfig): StatusReport {
  const file = path.join(cfg.dataDir, "outbox.db");
  const reg = fs.existsSync(cfg.registry) ? loadRegistry(cfg.registry) : { devices: [] };
  const report: StatusReport = { running: false, source: file, gateway: cfg.gatewayId, outbox: { depth: 0, downlink: 0 }, devices: [] };
  if (!fs.existsSync(file)) {
    report.devices = reg.devices.map((d) => ({ id: d.id, label: d.label, kind: d.kind, online: null, downlinkQueued: 0 }));
    return report;
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const e = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(length(payload)),0) AS b, MIN(received) AS oldest FROM events").get() as { n: number; b: number; oldest: number | null };
    const dl = db.prepare("SELECT COUNT(*) AS n FROM downlink").get() as { n: number };
    report.outbox = { depth: e.n, bytes: e.b, downlink: dl.n, oldest: e.oldest ? new Date(e.oldest * 1000).toISOString() : undefined };
    // schema v1 (gateway/store/schema.ts): bd_seq in gateway, availability per device in devices;
    // a file not opened by a v1 gateway yet still has the first layout (meta keys)
    const v1 = !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'").get();
    const bd = (v1 ? db.prepare("SELECT value FROM gateway WHERE key = 'bd_seq'") : db.prepare("SELECT value FROM meta WHERE key = 'bdSeq'")).get() as { value: string | number } | undefined;
    if (bd) report.bdSeq = Number(bd.value);
    const avail = v1 ? db.prepare("SELECT availability AS value FROM devices WHERE device = ?") : db.prepare("SELECT value FROM meta WHERE key = 'avail:' || ?");
    const dlq = db.prepare("SELECT COUNT(*) AS n FROM downlink WHERE device = ?");
    report.devices = reg.devices.map((d) => {
      const a = avail.get(d.id) as { value: string | null } | undefined;
      const av = a?.value ? JSON.parse(a.value) : null;
      return { id: d.id, label: d.label, kind: d.kind, online: av ? av.online : null, lastSeen: av ? new Date(av.lastSeen * 1000).toISOString() : undefined, downlinkQueued: (dlq.get(d.id) as { n: number }).n };
    });
  } finally {
    db.close();
  }
  return report;
}

/** A readable multi-line text for a person at the console. */
export function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(`gateway ${r.gateway}: ${r.running ? (r.note ? "RUNNING (figures from its outbox on disk)" : "RUNNING") : "NOT RUNNING (from its outbox on disk)"}  [${r.source}]`);
  if (r.note) lines.push(`  ${r.note}`);
  if (r.running && !r.note) lines.push(`  broker ${r.broker} ${r.mqttConnected ? "connected" : "DISCONNECTED"}, birth ${r.bdSeq}, up ${r.uptimeS} s`);
  lines.push(`  outbox: ${r.outbox.depth} event(s) waiting for the backend${r.outbox.full ? " — FULL" : ""}${r.outbox.oldest ? `, oldest from ${r.outbox.oldest}` : ""}; ${r.outbox.downlink} downlink message(s) queued`);
  if (r.links) lines.push(`  links: ${r.links.length ? r.links.map((l) => `${l.name}${l.device ? ` → device ${l.device}` : ""}${l.up ? "" : " (handshaking)"}`).join(", ") : "none"}`);
  lines.push(`  devices (${r.devices.length}):`);
  for (const d of r.devices) {
    const state = d.online === null ? "unknown" : d.online ? "online" : "OFFLINE";
    lines.push(`    ${String(d.id).padEnd(10)} ${d.kind.padEnd(9)} ${state.padEnd(8)} ${d.lastSeen ? `last seen ${d.lastSeen}` : ""}${d.downlinkQueued ? `, ${d.downlinkQueued} downlink queued` : ""}${d.label ? `  "${d.label}"` : ""}`);
  }
  return lines.join("\n");
}
