// How `varde status` finds a running gateway. `varde gateway` writes <data_dir>/gateway.run.json while it
// runs (its pid, its status endpoint even when [metrics] port = 0 picked a free one, its broker) and
// removes it on a graceful stop. A file left by a killed gateway names a pid that is gone and is ignored.
// The data directory's lock file (gateway/lock.ts) says "running" even for a gateway started some other
// way (tests, the demo) or with no status endpoint at all ([metrics] port = -1).
import * as fs from "node:fs";
import * as path from "node:path";

export interface RunInfo {
  pid: number;
  /** the status/metrics endpoint, "" when [metrics] port = -1 */
  metrics: string;
  broker: string;
  config: string;
  started: string;
}

const FILE = "gateway.run.json";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writeRunInfo(dataDir: string, info: RunInfo): () => void {
  const file = path.join(dataDir, FILE);
  fs.writeFileSync(file, JSON.stringify(info, null, 2) + "\n");
  return () => {
    try {
      const now = JSON.parse(fs.readFileSync(file, "utf8")) as RunInfo;
      if (now.pid === info.pid) fs.unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

/** The run info of a gateway that is still alive, or null. */
export function readRunInfo(dataDir: string): RunInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), "utf8")) as RunInfo;
    return typeof info.pid === "number" && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/** The pid holding <data_dir>/gateway.lock when that process is alive, else null. */
export function lockHolder(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, "gateway.lock"), "utf8").trim());
    return pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}
