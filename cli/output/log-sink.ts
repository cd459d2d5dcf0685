// Where the gateway's structured log (pino, one JSON object per line) goes when the `varde` command runs
// it, and in which format:
//   json    the pino line as is (for journald, log shippers, `jq`)
//   pretty  "14:03:07.120 WARN  message  key=value ..." — the same record for a person reading a terminal
// The sink is the pino destination: pino calls write() synchronously with each line, so a record also
// reaches `onRecord` (the readable output, cli/output/readable.ts) in the order it was logged.
// A file is opened for appending once, up front: a path that cannot be written is an error at start,
// naming the file, instead of a crash at the first log line.
import * as fs from "node:fs";
import * as path from "node:path";
import { LinePrinter } from "./printer.ts";

export type LogFormat = "json" | "pretty";

export interface LogRecord {
  level: number;
  time: number;
  msg: string;
  [k: string]: unknown;
}

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** fields every record carries that a person does not need on each line */
const QUIET_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "gateway"]);

/** One record as a readable line; `colour` adds ANSI colours to the level (terminals only). */
export function prettyRecord(r: LogRecord, colour = false): string {
  const d = new Date(r.time);
  const two = (n: number) => String(n).padStart(2, "0");
  const when = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  let level = (LEVELS[r.level] ?? String(r.level)).padEnd(5);
  if (colour) level = r.level >= 50 ? `\x1b[31m${level}\x1b[0m` : r.level >= 40 ? `\x1b[33m${level}\x1b[0m` : r.level <= 20 ? `\x1b[2m${level}\x1b[0m` : level;
  const extra = Object.entries(r)
    .filter(([k]) => !QUIET_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(" ");
  return `${when} ${level} ${r.msg ?? ""}${extra ? "  " + extra : ""}`;
}

export interface LogSinkOptions {
  /** append to this file; otherwise write to `stream` (default stderr); null = keep no structured log */
  file?: string | null;
  stream?: NodeJS.WritableStream;
  format: LogFormat;
  /** every record, parsed, before it is written (the readable output reads warnings from here) */
  onRecord?: (r: LogRecord) => void;
  /** what the file is called in error messages, e.g. `[log] file in /etc/varde/gateway.toml` */
  fileKey?: string;
}

export interface LogSink {
  /** the pino destination */
  write(line: string): boolean;
  /** where the structured log goes, for the start-up line */
  readonly where: string;
  /** opens [log] file again (after logrotate moved it; the service's SIGHUP) */
  reopen(): void;
  close(): void;
}

export function openLogSink(o: LogSinkOptions): LogSink {
  let fd: number | null = null;
  let printer: LinePrinter | null = null;
  let where = "not kept";
  const open = (file: string) => {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      return fs.openSync(file, "a", 0o640);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "EACCES" ? "permission denied (the gateway's user must be able to write it)" : err.code === "EISDIR" ? "it is a directory" : err.message;
      throw new Error(`${o.fileKey ?? "[log] file"} = ${file}: cannot open it for writing: ${why}; fix the path or its permissions (the systemd unit provides /var/log/varde through LogsDirectory=varde)`);
    }
  };
  if (o.file) {
    fd = open(o.file);
    where = `${o.file} (${o.format})`;
  } else if (o.file !== null) {
    printer = new LinePrinter((o.stream ?? process.stderr) as never);
    where = `standard error (${o.format})`;
  }
  const out = (o.stream ?? process.stderr) as NodeJS.WritableStream & { isTTY?: boolean };
  const colour = o.format === "pretty" && !o.file && !!out.isTTY;
  return {
    where,
    write(line: string): boolean {
      let rec: LogRecord | null = null;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        rec = null;
      }
      if (rec && o.onRecord) o.onRecord(rec);
      const text = o.format === "pretty" && rec ? prettyRecord(rec, colour) + "\n" : line.endsWith("\n") ? line : line + "\n";
      if (fd !== null) {
        try {
          fs.writeSync(fd, text);
        } catch {
          // a full disk must not stop the gateway: its events are in the outbox, not in this log
        }
      } else printer?.line(text.replace(/\n$/, ""));
      return true;
    },
    reopen(): void {
      if (fd === null || !o.file) return;
      let next: number;
      try {
        next = open(o.file);
      } catch {
        return; // keep writing where it was: losing the log is worse than writing to a moved file
      }
      fs.closeSync(fd);
      fd = next;
    },
    close(): void {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}
