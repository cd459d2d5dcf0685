// Reliable device events in flash: an append-only log with compaction (Espruino subset). RAM holds only
// the seqs of the records waiting for an ack; a record's bytes stay in flash until it is sent
// (docs/firmware-memory.md: 24 queued records cost ~2 JsVars each, not ~13).
//
// Storage: two StorageFile logs "varde.ob0" / "varde.ob1"; exactly one is current after obLoad().
// Every line is "\n" + text + "*" + crc16(text) in hex, so a line cut short by a power cut fails its
// check and is skipped, and the next append starts on a fresh line. Lines:
//   h<gen>,<nextSeq>,<count>              header, first line of a file; <count> records follow it at once
//   r<seq>,<cls>,<boot>,<time>,<bodyhex>  a record: the Envelope body member (tag, length, message) as
//                                         hex, and the boot id and time it happened (link.ts rebuilds
//                                         the Envelope around it when it sends, with late set as due)
//   a<seq>                                the record with this seq left the outbox (acked by the gateway)
// Compaction copies the live records to the other file under a header with gen + 1, then erases the
// old file. obLoad() takes the highest gen whose header and <count> records are all intact, so a cut
// at any instant leaves either the old or the new file complete. Seq only grows: the header keeps
// nextSeq, and every record/ack line carries a seq, so nextSeq survives compaction and reboots.
//
// Sending order (obHead()): critical records oldest first, then telemetry oldest first.
// Bounded: at most BOARD.defaults.outbox_max records. When full, the oldest telemetry record is
// dropped first; when only critical records (alarms, faults, doses) are left, a new record is refused.
// Both set obFull so the app reports FAULT_OUTBOX_FULL. An accepted critical record is never dropped.
import { logAppend, logLines, fileErase } from "../hal/hal.ts";
import { crc16Step } from "../../protocol/framing.ts";

export const CLS_CRITICAL = 0;
export const CLS_TELEMETRY = 1;

const BASE = "varde.ob";
/** records kept at most, and the log size that triggers compaction: a quarter of the flash beside the
 *  bundle, at most 16 KB (obLoad's arguments override both, for unit tests) */
let max = BOARD.defaults.outbox_max;
let compactBytes = Math.min(16384, Math.floor((BOARD.memory.storage_bytes - BOARD.memory.bundle_budget) / 4));

/** live records: seq for critical, -seq for telemetry, in the order they were added */
let q: number[] = [];
/** next seq to hand out */
export let obNext = 1;
/** records with a seq below this were written before this boot (their sends are late replays) */
export let obFirst = 1;
let gen = 0;
/** bytes in the current log, and right after the last compaction */
let bytes = 0;
let fresh = 0;
/** set when a record was dropped or refused; the app reports it and clears it (obClearFull) */
export let obFull = false;
export let obDropped = 0;
export let obRefused = 0;

/** CRC-16 of a string's char codes, as 4 hex digits. */
export function lineCheck(s: string): string {
  let c = 0xffff;
  for (let i = 0; i < s.length; i++) c = crc16Step(c, s.charCodeAt(i) & 255);
  return (c + 0x10000).toString(16).substr(1);
}

/** The text of a line when its check is right, else null. */
function lineText(line: string): string | null {
  const star = line.indexOf("*"); // "*" occurs nowhere else in a line
  if (star < 1) return null;
  const t = line.substr(0, star);
  return lineCheck(t) === line.substr(star + 1) ? t : null;
}

function line(t: string): string {
  return "\n" + t + "*" + lineCheck(t);
}

function file(g: number): string {
  return BASE + (g % 2);
}

// parse() results
let pGen = -1;
let pNext = 0;
let pQ: number[] = [];
let pBytes = 0;

/** Reads one log into pGen/pNext/pQ/pBytes; false when it is missing or not intact. */
function parse(name: string): boolean {
  pGen = -1;
  pNext = 0;
  pQ = [];
  let need = -1; // records that must follow the header intact
  let broken = false;
  let maxSeq = 0;
  try {
    pBytes = logLines(name, function (l: string) {
      if (broken || l === "") return;
      const t = lineText(l);
      if (pGen < 0) {
        // the first non-empty line must be an intact header
        if (t === null || t[0] !== "h") {
          broken = true;
          return;
        }
        const h = t.substr(1).split(",");
        pGen = parseInt(h[0], 10);
        pNext = parseInt(h[1], 10);
        need = parseInt(h[2], 10);
        return;
      }
      if (t === null) {
        if (need > 0) broken = true; // compaction was cut short
        return;
      }
      const seq = parseInt(t.substr(1), 10);
      if (seq > maxSeq) maxSeq = seq;
      if (t[0] === "r") {
        pQ.push(t[t.indexOf(",") + 1] === "0" ? seq : -seq);
        if (need > 0) need--;
      } else if (t[0] === "a") drop(pQ, seq);
    });
  } catch (e) {
    return false; // no such log
  }
  if (pGen < 0 || broken || need > 0) return false;
  if (maxSeq + 1 > pNext) pNext = maxSeq + 1;
  return true;
}

/** Removes seq (either class) from a queue; true when it was there. */
function drop(list: number[], seq: number): boolean {
  let i = list.indexOf(seq);
  if (i < 0) i = list.indexOf(-seq);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

/** Reads the outbox from flash (once, at boot). */
export function obLoad(maxRecords?: number, compactAt?: number): void {
  if (maxRecords) max = maxRecords;
  if (compactAt) compactBytes = compactAt;
  let which = -1;
  if (parse(file(0))) which = 0;
  const g0 = pGen;
  if (parse(file(1)) && (which < 0 || pGen > g0)) which = 1;
  if (which < 0) {
    // nothing readable (first boot, or both logs destroyed): start a new log. Seq restarts at 1 only
    // then; DeviceInfo.seq lets the gateway notice.
    q = [];
    writeFresh(0, -1);
    obFirst = obNext;
    return;
  }
  if (which === 0) parse(file(0));
  fileErase(file(1 - which));
  gen = pGen;
  obNext = pNext;
  q = pQ;
  pQ = [];
  bytes = pBytes;
  fresh = 0;
  obFirst = obNext;
}

/**
 * Writes a new log generation g: a header, then the live records copied line by line from log `from`
 * (-1: none), then erases the other file. false (old log kept) when flash is full.
 */
function writeFresh(g: number, from: number): boolean {
  const name = file(g);
  fileErase(name);
  const head = line("h" + g + "," + obNext + "," + q.length);
  let ok = logAppend(name, head);
  let n = head.length;
  if (ok && from >= 0 && q.length) {
    logLines(file(from), function (l: string) {
      const t = lineText(l);
      if (!ok || t === null || t[0] !== "r") return;
      const seq = parseInt(t.substr(1), 10);
      if (q.indexOf(seq) < 0 && q.indexOf(-seq) < 0) return;
      const r = "\n" + l;
      ok = logAppend(name, r);
      n += r.length;
    });
  }
  if (!ok) {
    fileErase(name);
    return false;
  }
  fileErase(file(g + 1));
  gen = g;
  bytes = n;
  fresh = n;
  return true;
}

/** Rewrites the log with only the live records. */
export function obCompact(): boolean {
  return writeFresh(gen + 1, gen);
}

function append(t: string): boolean {
  // compact when the log passes compactBytes, but never again before it has at least doubled since
  // the last compaction (a log that is mostly live records would otherwise be rewritten on every append)
  if (bytes + t.length > (compactBytes > 2 * fresh ? compactBytes : 2 * fresh)) obCompact();
  let ok = logAppend(file(gen), t);
  if (!ok && obCompact()) ok = logAppend(file(gen), t);
  if (ok) bytes += t.length;
  return ok;
}

/**
 * Adds a record: cls, the boot id and time of the event, and the Envelope body member's bytes
 * buf[s, e). Returns its seq, or 0 when refused (outbox full of critical records, or flash full).
 */
export function obAdd(cls: number, boot: number, time: number, buf: Uint8Array, s: number, e: number): number {
  if (q.length >= max) {
    obFull = true;
    let i = 0;
    while (i < q.length && q[i] > 0) i++;
    if (i === q.length) {
      obRefused++;
      return 0;
    }
    append(line("a" + -q[i]));
    q.splice(i, 1);
    obDropped++;
  }
  let hex = "";
  for (let i = s; i < e; i++) hex += (256 + buf[i]).toString(16).substr(1);
  const seq = obNext;
  if (!append(line("r" + seq + "," + cls + "," + boot + "," + time + "," + hex))) {
    obFull = true;
    obRefused++;
    return 0;
  }
  obNext = seq + 1;
  q.push(cls === CLS_CRITICAL ? seq : -seq);
  return seq;
}

/** Seq of the record to send next: the oldest critical record, else the oldest telemetry (0: none). */
export function obHead(): number {
  for (let i = 0; i < q.length; i++) if (q[i] > 0) return q[i];
  return q.length ? -q[0] : 0;
}

/** The record's fields [seq, cls, boot, time, bodyhex] read from flash (undefined when not pending). */
export function obRead(seq: number): string[] | undefined {
  let found: string[] | undefined;
  const want = "r" + seq + ",";
  logLines(file(gen), function (l: string) {
    if (l.substr(0, want.length) !== want) return;
    const t = lineText(l);
    if (t !== null) found = t.split(",");
  });
  return found;
}

/** Removes the record with this seq (the gateway stored it). false when it was not pending. */
export function obAck(seq: number): boolean {
  if (!drop(q, seq)) return false;
  append(line("a" + seq));
  return true;
}

/** true while the record is waiting for an ack */
export function obHas(seq: number): boolean {
  return q.indexOf(seq) >= 0 || q.indexOf(-seq) >= 0;
}

export function obDepth(): number {
  return q.length;
}

/** The live records' seqs, oldest first (negative: telemetry). For tests and diagnostics. */
export function obSeqs(): number[] {
  return q.slice();
}

/** The current log generation (tests). */
export function obGen(): number {
  return gen;
}

export function obClearFull(): void {
  obFull = false;
}
