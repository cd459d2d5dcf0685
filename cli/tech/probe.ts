// `varde probe`: what a device on a port is and how it is doing, over the Varde protocol
// (Hello -> DeviceInfo, Command STATUS -> Status), checked against the registry. When the Espruino
// REPL answers instead (a blank device, one without identity, or one in maintenance mode), it reports
// what the Storage holds (identity and boot pointer, never the key).
import { loadRegistry } from "../../gateway/registry.ts";
import { deviceLabel } from "./label.ts";
import { openLink, type Link } from "./link.ts";
import { KIND_NAMES, VardeClient } from "./varde-client.ts";

export interface ProbeReport {
  port: string;
  /** "firmware": Varde firmware answered; "repl": only the Espruino console did */
  mode: "firmware" | "repl";
  id?: number;
  /** the device's MAC checked out with its registry key */
  verified?: boolean;
  problem?: string;
  /** "<id>-<check code>", as on the device's sticker (cli/tech/label.ts) */
  sticker?: string;
  /** the registry's free text for people */
  label?: string;
  kind?: string;
  board?: string;
  firmware?: string;
  scheduleVersion?: number;
  configVersion?: number;
  outboxDepth?: number;
  lastDownlink?: number;
  nextSeq?: number;
  battery?: { percent: number; millivolts: number };
  mains?: boolean;
  /** Status.clock_offset_s: device clock minus its last time-sync reference */
  clockOffsetS?: number;
  /** device clock (frame time) minus this laptop's clock, seconds */
  clockSkewS?: number;
  errorFlags?: number;
  /** errorFlags as E.getErrorFlags() names */
  errorFlagNames?: string[];
  uptimeS?: number;
  freeVars?: number;
  /** repl mode: what Storage holds */
  storage?: {
    id: number | null;
    kind: string | null;
    firmware: string | null;
    board: string | null;
    free: number | null;
    espruino: string | null;
    /** what .bootcde holds: "varde loader", "other (<n> bytes)", or null */
    bootcode?: string | null;
  };
}

export class ProbeError extends Error {}

export interface ProbeOptions {
  port: string;
  registry: string;
  baudRate?: number;
  timeoutMs?: number;
}

export async function probeDevice(o: ProbeOptions): Promise<ProbeReport> {
  const reg = loadRegistry(o.registry);
  const link = await openLink(o.port, o.baudRate);
  const client = new VardeClient(link, (id) => reg.byId.get(id)?.keyBytes);
  try {
    // the console first: Varde frames typed into an Espruino REPL would run as (garbage) JavaScript,
    // while console bytes sent to production firmware are only noise to its frame parser
    const repl = await replState(link, 1000);
    if (repl) return { port: o.port, mode: "repl", storage: repl, id: repl.id ?? undefined, ...(repl.id !== null ? registryView(reg, repl.id) : {}) };
    const t = o.timeoutMs ?? 4000;
    const hello = await client.hello(t);
    if (!hello)
      throw new ProbeError(
        `nothing answered on ${o.port}: no Varde firmware (Hello) and no Espruino REPL. Check power, cable and baud rate; ` +
          `the gateway must not hold the port (stop it first)` + (client.badMacs ? `; ${client.badMacs} frame(s) failed the MAC check` : ""),
      );
    const env = hello.env;
    const info = env.info;
    const r: ProbeReport = {
      port: o.port,
      mode: "firmware",
      id: env.device,
      verified: hello.verified,
      problem: hello.problem,
      kind: KIND_NAMES[info.kind] ?? String(info.kind),
      board: info.board,
      firmware: info.firmware,
      scheduleVersion: info.scheduleVersion,
      configVersion: info.configVersion,
      outboxDepth: info.outboxDepth,
      lastDownlink: info.lastDownlink,
      nextSeq: info.seq,
      clockSkewS: env.time ? env.time - Math.floor(Date.now() / 1000) : undefined,
      ...registryView(reg, env.device),
    };
    if (hello.verified) {
      const st = await client.status(env.device, t);
      if (st) {
        const s = st.env.status;
        r.firmware = s.firmware || r.firmware;
        r.board = s.board || r.board;
        r.scheduleVersion = s.scheduleVersion;
        r.configVersion = s.configVersion;
        r.outboxDepth = s.outboxDepth;
        r.battery = { percent: s.batteryPct, millivolts: s.batteryMv };
        r.mains = s.mains;
        r.clockOffsetS = s.clockOffsetS;
        r.errorFlags = s.errorFlags;
        r.errorFlagNames = errorFlagNames(s.errorFlags);
        r.uptimeS = s.uptimeS;
        r.freeVars = s.freeVars;
      } else r.problem = `device ${env.device} answered the Hello but not Command STATUS within ${t} ms`;
    }
    return r;
  } finally {
    client.close();
    await link.close();
  }
}

function registryView(reg: ReturnType<typeof loadRegistry>, id: number): Partial<ProbeReport> {
  const e = reg.byId.get(id);
  if (!e) return {};
  return { sticker: deviceLabel(e.id, e.key), label: e.label || undefined };
}

/** Asks an Espruino REPL for the Varde files in its Storage (identity without the key). */
async function replState(link: Link, ms: number): Promise<ProbeReport["storage"] | undefined> {
  let seen = "";
  const got = new Promise<ProbeReport["storage"] | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    link.onData((b) => {
      seen += b.toString("latin1");
      const m = /<vp>(.*?)<\/vp>/.exec(seen);
      if (m) {
        clearTimeout(t);
        try {
          resolve(JSON.parse(m[1]));
        } catch {
          resolve(undefined);
        }
      }
    });
  });
  link.write("\x03");
  await new Promise((r) => setTimeout(r, 100));
  link.write(
    '\x10(function(){var S=require("Storage"),i=S.readJSON("varde.id",1),b=S.readJSON("varde.boot",1),c=S.read(".bootcde");' +
      'print("<vp>"+JSON.stringify({id:i?i.id:null,kind:i?i.kind:null,firmware:b?b.v:null,board:b?b.b:null,free:S.getFree(),espruino:process.env.BOARD+" "+process.env.VERSION,' +
      'bootcode:c===undefined?null:(c.indexOf("Varde boot loader")>=0?"varde loader":"other ("+c.length+" bytes)")})+"</vp>");})()\n',
  );
  return got;
}

/** Names of Status.error_flags bits (E.getErrorFlags names; firmware/README.md). */
export const ERROR_FLAG_NAMES = ["FIFO_FULL", "BUFFER_FULL", "CALLBACK", "LOW_MEMORY", "MEMORY", "MEMORY_BUSY", "UART_OVERFLOW"];

export function errorFlagNames(bits: number): string[] {
  const names = ERROR_FLAG_NAMES.filter((_, i) => bits & (1 << i));
  const unknown = bits & ~((1 << ERROR_FLAG_NAMES.length) - 1);
  if (unknown) names.push(`0x${unknown.toString(16)}`);
  return names;
}

/** Human-readable report. */
export function formatProbe(r: ProbeReport): string {
  const lines: string[] = [];
  const row = (k: string, v: unknown) => lines.push(`${(k + ":").padEnd(16)}${v}`);
  if (r.mode === "repl") {
    const s = r.storage!;
    row("port", `${r.port} (Espruino REPL: no Varde firmware running, or maintenance mode)`);
    row("espruino", s.espruino ?? "?");
    row("identity", s.id === null ? "none (not flashed yet)" : `${s.id} (${s.kind})${r.sticker ? `  sticker ${r.sticker}${r.label ? `  "${r.label}"` : ""}` : "  NOT IN REGISTRY"}`);
    row("firmware", s.firmware === null ? "none" : `${s.firmware} for board ${s.board}`);
    if (s.bootcode !== undefined) row("boot code", s.bootcode === null ? "none" : s.bootcode === "varde loader" ? "Varde loader (varde flash)" : `${s.bootcode}: not written by varde flash`);
    row("free flash", s.free === null ? "?" : `${s.free} bytes`);
    return lines.join("\n");
  }
  row("port", r.port);
  row("device", `${r.id} ${r.verified ? "(authenticated with its registry key)" : "(NOT authenticated)"}`);
  if (r.problem) row("problem", r.problem);
  if (r.sticker) row("sticker", r.sticker);
  if (r.label) row("label", `"${r.label}"`);
  row("kind / board", `${r.kind} / ${r.board}`);
  row("firmware", r.firmware);
  row("schedule", `version ${r.scheduleVersion}`);
  row("config", `version ${r.configVersion}`);
  row("outbox", `${r.outboxDepth} event(s) waiting`);
  if (r.battery) row("battery", `${r.battery.percent} % (${r.battery.millivolts} mV)${r.mains ? ", on mains" : ""}`);
  if (r.clockOffsetS !== undefined) row("clock offset", `${r.clockOffsetS} s since last time sync`);
  if (r.clockSkewS !== undefined) row("clock vs laptop", `${r.clockSkewS >= 0 ? "+" : ""}${r.clockSkewS} s`);
  if (r.errorFlags !== undefined) row("error flags", r.errorFlags === 0 ? "none" : `${errorFlagNames(r.errorFlags).join(", ")} (since the last status; see firmware/README.md)`);
  if (r.uptimeS !== undefined) row("uptime", `${r.uptimeS} s`);
  if (r.freeVars !== undefined) row("free memory", `${r.freeVars} JsVars`);
  return lines.join("\n");
}
