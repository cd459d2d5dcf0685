// The gateway as a person at the console reads it: one line per change of state and one per cause, with
// what to do. It takes two inputs, both from the gateway as it is (no gateway code depends on it):
//   * bus events (gateway/index.ts `gw.bus`): a device stored an alarm, the broker went away, ...
//   * structured log records (pino, through cli/output/log-sink.ts): the warnings and errors, which are
//     the causes — a wrong MQTT password, a certificate the broker's CA did not sign, a serial port that
//     is not there, an empty registry.
// What it folds together:
//   * the broker: "not connected: <cause>" once when the connection goes down or the first attempt fails
//     (gateway/mqtt/connection.ts retries with backoff and reports each new cause on the bus; repeats
//     are not news), "still not connected: <cause>" when the cause changes, "connected" when it is back;
//   * rejected frames: once per device and reason until that device's next handshake, with the fix
//     (a device that is not in the registry retries its handshake every few seconds);
//   * a warning identical to the one printed just before it;
//   * the delivery of an event whose arrival was not printed (heartbeats).
// Handshake noise (stale nonce, a best-effort frame before the session) is not printed: it is normal.
import type { LogRecord } from "./log-sink.ts";

export interface BusLike {
  kind: string;
  text: string;
  device?: number;
  reason?: unknown;
  [k: string]: unknown;
}

export interface ReadableContext {
  /** the registry file the gateway reads, for the fixes it suggests */
  registry?: string;
  /** the configuration file, for the same reason */
  config?: string;
}

const QUIET_REASONS = new Set(["stale_nonce", "no_session"]);

export class ReadableGatewayOutput {
  private broker: "unknown" | "up" | "down" = "unknown";
  private brokerCause = "";
  private rejected = new Set<string>();
  private lastWarning = "";
  /** event ids printed as stored and not yet delivered */
  private shown = new Set<string>();

  constructor(
    private readonly print: (line: string) => void,
    private readonly ctx: ReadableContext = {},
  ) {}

  private muted = false;

  /** A graceful stop has begun: links closing and ports released are the plan, not news. */
  mute(): void {
    this.muted = true;
  }

  /** A bus event from the gateway. */
  bus(e: BusLike): void {
    if (this.muted) return;
    switch (e.kind) {
      case "mqtt-down": {
        // a broker that worked went away: "broker <url> lost (<reason>); events wait in the outbox (n)"
        const m = /^broker (\S+) lost \((.*?)\)(;.*)?$/s.exec(e.text);
        this.broker = "down";
        this.brokerCause = m ? m[2] : "";
        this.print(m ? `broker ${m[1]} not connected: ${m[2]}${m[3] ?? ""}` : e.text);
        return;
      }
      case "mqtt-failing": {
        // an attempt failed for a cause not seen before (the connection repeats the same cause only in
        // its log, once a minute): "broker <url>: <reason> — <fix>"
        const m = /^broker (\S+): (.*)$/s.exec(e.text);
        if (!m) return;
        // the down line says that events wait in the outbox, with their count
        const cause = m[2].replace(/[.;]? Events wait in the outbox meanwhile\.?$/i, "");
        if (cause === this.brokerCause) return;
        this.brokerCause = cause;
        const still = this.broker === "down";
        this.broker = "down";
        this.print(`broker ${m[1]} ${still ? "still not connected" : "not connected"}: ${cause}`);
        return;
      }
      case "mqtt-up":
        this.broker = "up";
        this.brokerCause = "";
        this.print(e.text);
        return;
      case "rejected": {
        const reason = String(e.reason ?? "");
        if (QUIET_REASONS.has(reason)) return;
        const key = `${e.device ?? "?"}:${reason}`;
        if (this.rejected.has(key)) return;
        this.rejected.add(key);
        this.print(`${e.text} — ${this.rejectHint(reason, e.device)}`);
        return;
      }
      case "handshake":
        for (const k of [...this.rejected]) if (k.startsWith(`${e.device}:`)) this.rejected.delete(k);
        this.print(e.text);
        return;
      case "registry":
        this.rejected.clear();
        this.print(e.text);
        return;
      case "outbox-full":
        return; // the error record that comes with it says why and what happens meanwhile
      case "stored":
        if (typeof e.eventId === "string") this.shown.add(e.eventId);
        this.print(e.text);
        return;
      case "delivered": {
        // telemetry that was never shown as stored (heartbeats) is not news when it leaves either
        const ids = Array.isArray(e.eventIds) ? (e.eventIds as string[]) : [];
        if (ids.length && !ids.some((id) => this.shown.has(id))) return;
        for (const id of ids) this.shown.delete(id);
        this.print(e.text);
        return;
      }
      default:
        this.print(e.text);
    }
  }

  /** A structured log record; only warnings and errors become lines. */
  log(r: LogRecord): void {
    if (r.level < 40 || (this.muted && r.level < 50)) return;
    const msg = String(r.msg ?? "");
    // a rejected frame is logged as well as put on the bus: the bus line (with its fix) is enough
    if (r.reason !== undefined && r.device !== undefined && /rejected/.test(msg)) return;
    // the connection's own records ("mqtt <url>: <cause>; retrying in …"): the "mqtt-failing" bus event
    // carries the same cause, once per change
    if (/^mqtt \S+: /.test(msg) && r.attempt !== undefined) return;
    const text = `${r.level >= 50 ? "ERROR" : "WARN"} ${msg}${hintFor(msg)}`;
    if (text === this.lastWarning) return;
    this.lastWarning = text;
    this.print(text);
  }

  private rejectHint(reason: string, device: unknown): string {
    const reg = this.ctx.registry ?? "the registry";
    const cfg = this.ctx.config ? ` (key "registry" in ${this.ctx.config})` : "";
    switch (reason) {
      case "unknown_device":
        return `device ${device} is not in ${reg}${cfg}: provision it there (varde provision --registry ${reg}), or point the gateway at the registry it was provisioned in`;
      case "bad_mac":
        return `device ${device}'s frames do not match its key in ${reg}: it was flashed from another registry or re-provisioned; re-flash it (varde flash --device ${device} --registry ${reg})`;
      case "malformed":
        return "bytes on this link do not decode as a Varde frame (line noise, a wrong baud rate, or not a Varde device)";
      case "outbox_full":
        return "the gateway outbox is full: the event stays in the device, which sends it again later";
      default:
        return reason;
    }
  }
}

/** What to check for the failures of a serial port a person can fix. */
function hintFor(msg: string): string {
  if (!/^serial:/.test(msg) || !/cannot open/.test(msg)) return "";
  if (/No such file|ENOENT/i.test(msg)) return " — is the device plugged in and powered? ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/; check [[transport]] path";
  if (/Permission denied|EACCES/i.test(msg)) return " — the gateway's user needs the dialout group (sudo usermod -aG dialout <user>)";
  if (/busy|lock/i.test(msg)) return " — another program holds the port (a serial terminal, varde probe/flash, another gateway)";
  return "";
}
