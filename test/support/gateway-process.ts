// The gateway as its own process, the way the systemd unit starts it: `node <the unit's node flags>
// dist/gateway/varde-gateway.mjs --config <file>` with the unit's environment — unitLaunch() reads both
// from deploy/varde-gateway.service, so tests and the bench run what a home board runs. The bundle is
// built first when missing or older than its sources. Captures stdout and stderr, reads its metrics and
// status endpoints, and can run it under libfaketime so a test can step its wall clock like NTP does (the
// monotonic clock is left alone, as on a real system).
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureGatewayBundle } from "../../cli/gateway/build-service.ts";
import { until } from "./wait.ts";

export const FAKETIME_LIB = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"].find((p) => fs.existsSync(p));

const UNIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "deploy", "varde-gateway.service");

/** The node flags before the bundle on the unit's ExecStart line, and its Environment= settings. */
export function unitLaunch(unit = UNIT): { nodeArgs: string[]; env: Record<string, string> } {
  const text = fs.readFileSync(unit, "utf8");
  const exec = /^ExecStart=(\S+)\s+(.*?)\s*\S*varde-gateway\.mjs/m.exec(text);
  if (!exec || !/\/node$/.test(exec[1])) throw new Error(`${unit}: no ExecStart=<node> … varde-gateway.mjs line to read the gateway's node flags from`);
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^Environment=(\w+)=(\S*)$/gm)) env[m[1]] = m[2];
  return { nodeArgs: exec[2].split(/\s+/).filter(Boolean), env };
}

export interface GatewayProcessOptions {
  /** a file holding a libfaketime offset ("+0", "+3h", "-2h"); rewrite it to step the wall clock */
  clockOffsetFile?: string;
  env?: Record<string, string>;
  /** node options before the bundle, after the unit's (e.g. --cpu-prof) */
  nodeArgs?: string[];
  /** more gateway arguments (e.g. --quiet) */
  args?: string[];
}

export class GatewayProcess {
  out = "";
  err = "";
  readonly exited: Promise<number | null>;
  private constructor(readonly proc: ChildProcess) {
    proc.stdout!.on("data", (b) => (this.out += b));
    proc.stderr!.on("data", (b) => (this.err += b));
    this.exited = new Promise((r) => proc.once("exit", (code, sig) => r(code ?? (sig ? -1 : null))));
  }

  static async start(config: string, opts: GatewayProcessOptions = {}): Promise<GatewayProcess> {
    const bundle = await ensureGatewayBundle();
    const unit = unitLaunch();
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...unit.env, ...(opts.env ?? {}) };
    if (opts.clockOffsetFile) {
      if (!FAKETIME_LIB) throw new Error("libfaketime is not installed (Debian package libfaketime; scripts/setup.sh installs it)");
      Object.assign(env, { LD_PRELOAD: FAKETIME_LIB, FAKETIME_TIMESTAMP_FILE: opts.clockOffsetFile, FAKETIME_CACHE_DURATION: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" });
    }
    return new GatewayProcess(spawn(process.execPath, [...unit.nodeArgs, ...(opts.nodeArgs ?? []), bundle, "--config", config, ...(opts.args ?? [])], { stdio: ["ignore", "pipe", "pipe"], env }));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits for `re` in stdout or stderr. */
  async waitOutput(re: RegExp, ms = 15_000): Promise<void> {
    await until(() => re.test(this.out) || re.test(this.err), ms, `gateway output matching ${re} (stdout: ${this.out.slice(-400)} stderr: ${this.err.slice(-400)})`, 20);
  }

  kill(sig: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    if (this.running) this.proc.kill(sig);
    return this.exited;
  }
}

/** GET http://127.0.0.1:<port>/metrics → name{labels} → value (summed over labels when `labels` is omitted). */
export async function scrape(port: number): Promise<(name: string, labels?: Record<string, string>) => number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const rows = text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => {
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(l)!;
    return { name: m[1], labels: Object.fromEntries((m[3] ?? "").split(",").filter(Boolean).map((kv) => kv.split("=").map((x) => x.replace(/"/g, "")) as [string, string])), value: Number(m[4]) };
  });
  return (name, labels) => rows.filter((r) => r.name === name && (!labels || Object.entries(labels).every(([k, v]) => r.labels[k] === v))).reduce((a, r) => a + r.value, 0);
}

export async function status(port: number): Promise<any> {
  return (await fetch(`http://127.0.0.1:${port}/status`)).json();
}

/** Writes a gateway.toml from a plain object (TOML subset: tables of scalars, arrays of tables). */
export function writeConfig(file: string, cfg: Record<string, any>): string {
  const lines: string[] = [];
  const val = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
  for (const [k, v] of Object.entries(cfg)) if (typeof v !== "object") lines.push(`${k} = ${val(v)}`);
  for (const [k, v] of Object.entries(cfg)) {
    if (Array.isArray(v)) for (const t of v) lines.push(`[[${k}]]`, ...Object.entries(t).map(([a, b]) => `${a} = ${val(b)}`));
    else if (typeof v === "object" && v) lines.push(`[${k}]`, ...Object.entries(v).map(([a, b]) => `${a} = ${val(b)}`));
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
