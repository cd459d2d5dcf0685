// What `varde status` reports: a running gateway is found through its status endpoint ([metrics] port, or
// the port it picked for port = 0: run-info.ts). One that runs without an endpoint, or does not answer, is
// still reported running — its data directory's lock names a live process — with the figures read from
// its outbox on disk and a note saying why links and the broker are not shown.
import type { GatewayConfig } from "../../gateway/config.ts";
import { fetchStatus, offlineStatus, type StatusReport } from "../../gateway/status.ts";
import { lockHolder, readRunInfo } from "./run-info.ts";

export async function statusOf(cfg: GatewayConfig, timeoutMs = 1500): Promise<StatusReport> {
  const run = readRunInfo(cfg.dataDir);
  const base = run?.metrics || undefined;
  const live = await fetchStatus(cfg, timeoutMs, base);
  if (live) return live;
  const r = offlineStatus(cfg);
  const pid = run?.pid ?? lockHolder(cfg.dataDir);
  if (pid) {
    r.running = true;
    const endpoint = base ?? (cfg.metrics.port > 0 ? `http://${cfg.metrics.host}:${cfg.metrics.port}` : "");
    r.note = `process ${pid} holds ${cfg.dataDir}; ${endpoint ? `its status endpoint ${endpoint}/status did not answer` : `it has no status endpoint ([metrics] port = ${cfg.metrics.port} in ${cfg.source})`}, so links and the broker connection are not shown`;
  }
  return r;
}
