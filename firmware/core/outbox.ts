// Reliable device events in flash: an append-only log with compaction (Espruino subset).
//
// Storage: two StorageFile logs "varde.ob0" / "varde.ob1"; exactly one is current after load().
// Every line is written as "\n" + text + "*" + crc16(text) in hex, so a line cut short by a power
// cut fails its check and is skipped, and the next append starts on a fresh line. Lines:
//   h<gen>,<nextSeq>,<count>   header, first line of a file; <count> records follow it at once
//   r<seq>,<cls>,<hex>         a record: the encoded Envelope (seq, boot and time already inside)
//   a<seq>                     the record with this seq left the outbox (acked by the gateway)
// Compaction writes the live records to the other file under a header with gen + 1, then erases the
// old file. load() takes the highest gen whose header and <count> records are all intact, so a cut
// at any instant leaves either the old or the new file complete. Seq only grows: the header keeps
// nextSeq, and every record/ack line carries a seq, so nextSeq survives compaction and reboots.
//
// Sending order (head()): critical records oldest first, then telemetry oldest first.
// Bounded: at most `max` records. When full, the oldest telemetry record is dropped first; when only
// critical records (alarms, faults) are left, a new record is refused. Both set `full` so the app
// reports FAULT_OUTBOX_FULL. An accepted critical record is never dropped.
import type { Hal } from "./hal.ts";

export const CLS_CRITICAL = 0;
export const CLS_TELEMETRY = 1;

export interface OutboxRecord {
  seq: number;
  cls: number;
  /** the encoded Envelope, hex */
  hex: string;
  /** written before this boot (so a send is a late replay) */
  old: boolean;
}

const HEX = "0123456789abcdef";

export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

export function fromHex(s: string): Uint8Array {
  const b = new Uint8Array(s.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(i * 2, 2), 16);
  return b;
}

/** CRC-16/CCITT-FALSE of a string's char codes, as 4 hex digits. */
export function lineCheck(s: string): string {
  let crc = 0xffff;
  for (let i = 0; i < s.length; i++) {
    crc ^= (s.charCodeAt(i) & 255) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return (crc + 0x10000).toString(16).substr(1);
}

/** The text of a line when its check is right, else null. */
function lineText(line: string): string | null {
  const star = line.indexOf("*"); // "*" occurs nowhere else in a line
  if (star < 1) return null;
  const text = line.substr(0, star);
  return lineCheck(text) === line.substr(star + 1) ? text : null;
}

interface Parsed {
  gen: number;
  nextSeq: number;
  recs: OutboxRecord[];
  bytes: number;
}

export class Outbox {
  hal: Hal;
  base: string;
  max: number;
  compactBytes: number;
  gen: number;
  nextSeq: number;
  pending: OutboxRecord[];
  /** bytes in the current log */
  bytes: number;
  /** bytes the log had right after the last compaction (its live records) */
  freshBytes: number;
  /** records dropped by the policy since boot */
  dropped: number;
  /** records refused since boot */
  refused: number;
  /** set when a record was dropped or refused; the app reports it and clears it */
  full: boolean;

  /**
   * max: records kept; compactBytes: log size that triggers compaction;
   * base: file name prefix (files are base + "0" / "1").
   */
  constructor(hal: Hal, max: number, compactBytes: number, base?: string) {
    this.hal = hal;
    this.base = base || "varde.ob";
    this.max = max;
    this.compactBytes = compactBytes;
    this.gen = 0;
    this.nextSeq = 1;
    this.pending = [];
    this.bytes = 0;
    this.freshBytes = 0;
    this.dropped = 0;
    this.refused = 0;
    this.full = false;
  }

  parse(name: string): Parsed | null {
    let p: Parsed | null = null;
    let need = -1; // records that must follow the header intact
    let broken = false;
    let maxSeq = 0;
    const bytes = this.hal.readLog(name, (line) => {
      if (broken || line === "") return;
      const t = lineText(line);
      if (!p) {
        // the first non-empty line must be an intact header
        if (t === null || t[0] !== "h") {
          broken = true;
          return;
        }
        const h = t.substr(1).split(",");
        p = { gen: parseInt(h[0], 10), nextSeq: parseInt(h[1], 10), recs: [], bytes: 0 };
        need = parseInt(h[2], 10);
        return;
      }
      if (t === null) {
        if (need > 0) broken = true; // compaction was cut short
        return;
      }
      const c = t[0];
      if (c === "r") {
        const f = t.substr(1).split(",");
        const seq = parseInt(f[0], 10);
        p.recs.push({ seq: seq, cls: parseInt(f[1], 10), hex: f[2], old: true });
        if (seq > maxSeq) maxSeq = seq;
        if (need > 0) need--;
      } else if (c === "a") {
        const seq = parseInt(t.substr(1), 10);
        if (seq > maxSeq) maxSeq = seq;
        for (let i = 0; i < p.recs.length; i++) {
          if (p.recs[i].seq === seq) {
            p.recs.splice(i, 1);
            break;
          }
        }
      }
    });
    if (!p || broken || need > 0) return null;
    const q = p as Parsed;
    if (maxSeq + 1 > q.nextSeq) q.nextSeq = maxSeq + 1;
    q.bytes = bytes;
    return q;
  }

  /** Reads the outbox from flash (call once at boot). */
  load(): void {
    const a = this.parse(this.base + "0");
    const b = this.parse(this.base + "1");
    let cur: Parsed | null = a;
    let which = 0;
    if (b && (!a || b.gen > a.gen)) {
      cur = b;
      which = 1;
    }
    if (!cur) {
      // nothing readable (first boot, or both logs destroyed): start a new log. Seq restarts at 1 only
      // then; DeviceInfo.seq lets the gateway notice.
      this.gen = 0;
      this.pending = [];
      this.writeFresh(0);
      return;
    }
    this.hal.erase(this.base + (1 - which));
    this.gen = cur.gen;
    this.nextSeq = cur.nextSeq;
    this.pending = cur.recs;
    this.bytes = cur.bytes;
  }

  /** Writes the live records to a new file with a header (gen), then removes the old file. */
  writeFresh(gen: number): boolean {
    const name = this.base + (gen % 2);
    this.hal.erase(name);
    let text = this.line("h" + gen + "," + this.nextSeq + "," + this.pending.length);
    for (let i = 0; i < this.pending.length; i++) text += this.recLine(this.pending[i]);
    if (!this.hal.appendLog(name, text)) return false;
    this.hal.erase(this.base + ((gen + 1) % 2));
    this.gen = gen;
    this.bytes = text.length;
    this.freshBytes = text.length;
    return true;
  }

  /** Rewrites the log with only the live records. */
  compact(): boolean {
    return this.writeFresh(this.gen + 1);
  }

  line(text: string): string {
    return "\n" + text + "*" + lineCheck(text);
  }

  recLine(r: OutboxRecord): string {
    return this.line("r" + r.seq + "," + r.cls + "," + r.hex);
  }

  append(text: string): boolean {
    // compact when the log passes compactBytes, but never again before it has at least doubled since
    // the last compaction (a log that is mostly live records would otherwise be rewritten on every append)
    const limit = this.compactBytes > 2 * this.freshBytes ? this.compactBytes : 2 * this.freshBytes;
    if (this.bytes + text.length > limit) this.compact();
    let ok = this.hal.appendLog(this.base + (this.gen % 2), text);
    if (!ok && this.compact()) ok = this.hal.appendLog(this.base + (this.gen % 2), text);
    if (ok) this.bytes += text.length;
    return ok;
  }

  /**
   * Adds a record. build(seq) returns the encoded Envelope carrying that seq. Returns the seq, or 0
   * when the record was refused (outbox full of critical records, or flash full).
   */
  add(cls: number, build: (seq: number) => Uint8Array): number {
    if (this.pending.length >= this.max) {
      let drop = -1;
      for (let i = 0; i < this.pending.length; i++) {
        if (this.pending[i].cls === CLS_TELEMETRY) {
          drop = i;
          break;
        }
      }
      this.full = true;
      if (drop < 0) {
        this.refused++;
        return 0;
      }
      this.append(this.line("a" + this.pending[drop].seq));
      this.pending.splice(drop, 1);
      this.dropped++;
    }
    const seq = this.nextSeq;
    const r: OutboxRecord = { seq: seq, cls: cls, hex: toHex(build(seq)), old: false };
    if (!this.append(this.recLine(r))) {
      this.full = true;
      this.refused++;
      return 0;
    }
    this.nextSeq = seq + 1;
    this.pending.push(r);
    return seq;
  }

  /**
   * The record to send next: the oldest critical record, else the oldest telemetry record. Order is
   * kept within each class; an alarm never waits behind telemetry the gateway is slow to take
   * (a gateway short of disk drops telemetry first, and would leave it unacked).
   */
  head(): OutboxRecord | undefined {
    for (let i = 0; i < this.pending.length; i++) if (this.pending[i].cls === CLS_CRITICAL) return this.pending[i];
    return this.pending[0];
  }

  /** Removes the record with this seq (the gateway stored it). false when it was not pending. */
  ack(seq: number): boolean {
    for (let i = 0; i < this.pending.length; i++) {
      if (this.pending[i].seq === seq) {
        this.append(this.line("a" + seq));
        this.pending.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  depth(): number {
    return this.pending.length;
  }
}
