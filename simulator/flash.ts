// A device's flash Storage area with Espruino's semantics (the Node side; the in-device
// require("Storage") module in espruino/storage.ts is a thin layer over this).
//
// Model (follows Espruino's jsflash.c closely enough for budgets and wear to be meaningful):
// * The area is a log of files. Each file costs a 32-byte header (4-byte size + 28-byte name) plus its
//   data rounded up to 4 bytes. Replacing or erasing a file leaves its old bytes as "trash" until
//   compact() (or an automatic compaction when a write would not fit otherwise).
// * Names are 1..28 characters (the device's Storage module cuts longer names to 28, as Espruino does).
// * write(name, data, offset, size) is jsfWriteFile() of Espruino 2v29 (src/jsflash.c):
//   - offset 0 (or none): a new file of `size` bytes (default: the data's length) unless the file exists
//     with that size and the bytes to write are still erased (0xFF), in which case it is written in
//     place; identical contents are a no-op (no wear); otherwise the old file becomes trash first;
//   - offset > 0: the file must exist ("Unable to find or create file"), the data must fit its size
//     ("Too much data for file size") and land on erased bytes ("File already written with different
//     data"); a file is never extended;
//   - size 0 and no data: "Can't create zero length file".
//   When the new file does not fit, the area is compacted first, but only if that would make room
//   (free + trash data > needed); otherwise, or if it still does not fit, FlashFullError ("Unable to find
//   or create file"): the old file is gone by then, as on the device. Errors are FlashWriteError with
//   Espruino's message.
// * StorageFile chunks are programmed with program(): like NOR flash, bits only clear (old & new).
// * compact() prints what Espruino prints ("Compacting... " + a spinner char per 16 KiB moved + "\n")
//   through onConsole, so console output matches the device's.
// * Atomicity: one call (write, erase, compact) is atomic: it happens completely or not at all. A
//   power cut lands between two calls — between two clock events (SimDevice.powerOff from a test or
//   scenario) or, with SimDevice.cutPowerAtFlashOp(n), just before the n-th mutating call, in the
//   middle of the firmware's own code. So firmware that spreads one record over two calls (data, then
//   an index) sees the first without the second, and must recover from it. Torn writes inside one
//   call (half a page programmed) are not modelled.
// * Persistence: with `path`, the whole area is saved (JSON, written to a temp file then renamed) after
//   every change, so it survives a simulator process restart.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Board } from "../hardware/boards.ts";

export const NAME_MAX = 28;
export const HEADER_BYTES = 32;

/** A write Espruino refuses (the message is Espruino's). */
export class FlashWriteError extends Error {}
/** The file does not fit, even after compaction: "Unable to find or create file". */
export class FlashFullError extends FlashWriteError {}
export class FlashUsageError extends Error {}

interface Entry {
  name: string;
  data: Uint8Array;
  trash: boolean;
  /** a StorageFile chunk (Espruino's JSFF_STORAGEFILE header flag) */
  sf?: boolean;
}

export interface FlashStats {
  totalBytes: number;
  freeBytes: number;
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
}

export interface FlashOptions {
  /** size of the Storage area in bytes */
  capacity: number;
  /** flash page size: 4096 on the boards (Puck.js, ESP32), 1024 in Espruino's Linux builds. Sets the
   *  StorageFile chunk size (page - 32, at most 4064) and where a compaction starts. */
  pageBytes?: number;
  /** persist to this JSON file (loaded when it exists) */
  path?: string;
}

const cost = (size: number): number => HEADER_BYTES + ((size + 3) & ~3);

function erased(d: Uint8Array, from: number, len: number): boolean {
  for (let i = from; i < from + len && i < d.length; i++) if (d[i] !== 0xff) return false;
  return true;
}

export function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0) throw new FlashUsageError("Storage file name must be a non-empty string");
  if (name.length > NAME_MAX) throw new FlashUsageError(`Storage file name "${name}" is ${name.length} chars; the limit is ${NAME_MAX}`);
}

export class Flash {
  readonly capacity: number;
  readonly pageBytes: number;
  readonly path?: string;
  /** console output of flash operations (Espruino prints its compaction progress) */
  onConsole: ((text: string) => void) | null = null;
  private entries: Entry[] = [];
  /** bytes written to flash so far (wear indicator) */
  bytesWritten = 0;
  /** number of compactions, automatic or requested */
  compactions = 0;
  /** number of mutating calls so far (write, erase, eraseAll, compact) */
  mutations = 0;
  /**
   * Called before every mutating call; if it throws, the call does not happen. SimDevice uses it to
   * cut power at the Nth flash operation, i.e. in the middle of the firmware's own JavaScript.
   */
  beforeMutate: ((op: "write" | "erase" | "eraseAll" | "compact", name?: string) => void) | null = null;

  private mutate(op: "write" | "erase" | "eraseAll" | "compact", name?: string): void {
    if (this.beforeMutate) this.beforeMutate(op, name);
    this.mutations++;
  }

  constructor(opts: FlashOptions) {
    if (!(opts.capacity > 0)) throw new FlashUsageError(`flash capacity must be > 0 bytes (got ${opts.capacity})`);
    this.capacity = opts.capacity;
    this.pageBytes = opts.pageBytes ?? 4096;
    this.path = opts.path;
    if (opts.path && existsSync(opts.path)) this.load(opts.path);
  }

  /** A flash area of the board's storage_bytes, optionally persisted at `path`. */
  static forBoard(board: Board, path?: string): Flash {
    return new Flash({ capacity: board.memory.storage_bytes, path });
  }

  private live(name: string): Entry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (!e.trash && e.name === name) return e;
    }
    return undefined;
  }

  private used(): number {
    let n = 0;
    for (const e of this.entries) n += cost(e.data.length);
    return n;
  }

  /** contents of a file (a copy), or undefined */
  read(name: string): Uint8Array | undefined {
    const e = this.live(name);
    return e ? e.data.slice() : undefined;
  }

  exists(name: string): boolean {
    return this.live(name) !== undefined;
  }

  /** whether a live file is a StorageFile chunk */
  isStorageFileChunk(name: string): boolean {
    return this.live(name)?.sf === true;
  }

  /** size in bytes of a file, or undefined */
  size(name: string): number | undefined {
    return this.live(name)?.data.length;
  }

  /** Names of live files in write order, optionally filtered. */
  list(filter?: (name: string) => boolean): string[] {
    const out: string[] = [];
    for (const e of this.entries) if (!e.trash && (!filter || filter(e.name))) out.push(e.name);
    return out;
  }

  /** Bytes of data a StorageFile chunk holds: Espruino's STORAGEFILE_CHUNKSIZE. */
  get storageFileChunk(): number {
    return Math.min(this.pageBytes, 4096) - HEADER_BYTES;
  }

  /** Espruino's Storage.write (jsfWriteFile; see the header comment). Throws FlashWriteError / FlashFullError. */
  write(name: string, data: Uint8Array, offset?: number, size?: number, storageFileChunk = false): void {
    checkName(name);
    this.mutate("write", name);
    const off = offset ?? 0;
    let total = size ?? 0;
    if (off < 0 || total < 0) throw new FlashWriteError(`Storage.write("${name}"): negative offset or size`);
    if (total === 0) total = data.length;
    if (total === 0) throw new FlashWriteError("Can't create zero length file");
    let file = this.live(name);
    const sf = storageFileChunk;
    if (off === 0 && (!file || (file.sf === true) !== sf || file.data.length !== total || !erased(file.data, 0, total))) {
      if (file && (file.sf === true) === sf && file.data.length === total && data.length === total && file.data.every((b, i) => b === data[i])) return;
      if (file) file.trash = true;
      file = this.create(name, total, sf);
    }
    if (!file) throw new FlashFullError("Unable to find or create file");
    if (off + data.length > file.data.length) throw new FlashWriteError("Too much data for file size");
    if (!erased(file.data, off, data.length)) throw new FlashWriteError("File already written with different data");
    file.data.set(data, off);
    this.bytesWritten += data.length;
    this.changed();
  }

  /** Programs bytes into an existing file in place, as StorageFile does: bits only clear (old & new). */
  program(name: string, offset: number, data: Uint8Array): void {
    this.mutate("write", name);
    const f = this.live(name);
    if (!f || offset < 0 || offset + data.length > f.data.length) throw new FlashUsageError(`program("${name}", ${offset}): outside the file`);
    for (let i = 0; i < data.length; i++) f.data[offset + i] &= data[i];
    this.bytesWritten += data.length;
    this.changed();
  }

  /** _jsfCreateFile: a new file of `size` bytes of 0xFF at the end of the log, compacting first if that makes room. */
  private create(name: string, size: number, sf: boolean): Entry | undefined {
    const need = cost(size);
    if (this.used() + need > this.capacity) {
      // Espruino compacts "only if it is sure there would be enough space": free space (as it counts
      // it) + trashed data > needed. Its count adds, for the end of the log and then for every page
      // start after it, the bytes from there to the end of the area (it rescans page by page and sums),
      // so it over-counts as soon as the free space spans a page boundary: then it compacts whenever
      // there is trash at all. (_jsfCreateFile / jsfGetSpaceLeftInPage in src/jsflash.c)
      let trashData = 0;
      for (const e of this.entries) if (e.trash) trashData += e.data.length;
      const end = this.capacity;
      let counted = 0;
      for (let a = this.used(); a < end; a = (Math.floor(a / this.pageBytes) + 1) * this.pageBytes) counted += end - a;
      if (need < counted + trashData && trashData > 0) this.compactNow();
      if (this.used() + need > this.capacity) return undefined;
    }
    const e: Entry = sf ? { name, data: new Uint8Array(size).fill(0xff), trash: false, sf: true } : { name, data: new Uint8Array(size).fill(0xff), trash: false };
    this.entries.push(e);
    this.bytesWritten += HEADER_BYTES;
    return e;
  }

  /** Erases a file (its bytes become trash until compaction). Erasing a missing file is fine. */
  erase(name: string): void {
    this.mutate("erase", name);
    const e = this.live(name);
    if (!e) return;
    e.trash = true;
    this.changed();
  }

  eraseAll(): void {
    this.mutate("eraseAll");
    this.entries = [];
    this.changed();
  }

  /** Reclaims trash. */
  compact(): void {
    this.mutate("compact");
    this.compactNow();
    this.changed();
  }

  private compactNow(): void {
    if (!this.entries.some((e) => e.trash)) return;
    // what Espruino prints: it copies the live files from the first page holding trash, printing a
    // spinner character each time the copy position passes another 16 KiB (jsfCompactInternal)
    // It starts at the last page before the first trash whose first bytes are a file header (no file
    // straddles its start: jsfGetStorageStats' lastUnbrokenPageStart), usually the start of the area.
    let text = "Compacting... ";
    let addr = 0;
    let start = -1;
    let unbroken = 0;
    const at: number[] = [];
    for (const e of this.entries) {
      if (addr % this.pageBytes === 0) unbroken = addr;
      if (e.trash && start < 0) start = unbroken;
      at.push(addr);
      addr += cost(e.data.length);
    }
    let last = 0;
    this.entries.forEach((e, i) => {
      if (e.trash || at[i] < start) return;
      const progress = (at[i] - start) >> 14;
      if (progress !== last) {
        text += "\b" + "/-\\|"[progress & 3];
        last = progress;
      }
    });
    this.entries = this.entries.filter((e) => !e.trash);
    this.compactions++;
    this.onConsole?.(text + "\n");
  }

  /** Bytes free at the end of the log (trash is not free until compacted). */
  getFree(): number {
    return this.capacity - this.used();
  }

  getStats(): FlashStats {
    let fileBytes = 0, fileCount = 0, trashBytes = 0, trashCount = 0;
    for (const e of this.entries) {
      if (e.trash) {
        trashBytes += cost(e.data.length);
        trashCount++;
      } else {
        fileBytes += cost(e.data.length);
        fileCount++;
      }
    }
    return { totalBytes: this.capacity, freeBytes: this.capacity - fileBytes - trashBytes, fileBytes, fileCount, trashBytes, trashCount };
  }

  /** 32-bit hash over the names and contents of the live files accepted by the filter. */
  hash(filter?: (name: string) => boolean): number {
    let h = 0x811c9dc5;
    const mix = (b: number): void => {
      h ^= b;
      h = Math.imul(h, 0x01000193) >>> 0;
    };
    for (const name of this.list(filter).sort()) {
      for (let i = 0; i < name.length; i++) mix(name.charCodeAt(i) & 0xff);
      const d = this.live(name)!.data;
      mix(d.length & 0xff);
      mix((d.length >> 8) & 0xff);
      for (const b of d) mix(b);
    }
    return h;
  }

  /** Deep copy (e.g. to fork a device's state in a test). */
  clone(path?: string): Flash {
    const f = new Flash({ capacity: this.capacity, pageBytes: this.pageBytes });
    f.entries = this.entries.map((e) => ({ ...e, data: e.data.slice() }));
    (f as { path?: string }).path = path;
    return f;
  }

  private changed(): void {
    if (this.path) this.save(this.path);
  }

  /** Writes the area to `path` atomically (temp file + rename). */
  save(path: string): void {
    const doc = {
      format: "varde-flash-1",
      capacity: this.capacity,
      bytesWritten: this.bytesWritten,
      entries: this.entries.map((e) => ({ name: e.name, trash: e.trash, sf: e.sf === true, data: Buffer.from(e.data).toString("base64") })),
    };
    const tmp = path + ".tmp";
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, path);
  }

  private load(path: string): void {
    let doc: { format?: string; capacity?: number; bytesWritten?: number; entries?: Array<{ name: string; trash: boolean; sf?: boolean; data: string }> };
    try {
      doc = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new FlashUsageError(`${path}: not a readable flash image (${(e as Error).message}); delete it to start with empty flash`);
    }
    if (doc.format !== "varde-flash-1" || !Array.isArray(doc.entries))
      throw new FlashUsageError(`${path}: not a Varde flash image (format "${doc.format}"); delete it or pass another --flash path`);
    if (doc.capacity !== this.capacity)
      throw new FlashUsageError(`${path}: flash image is ${doc.capacity} bytes but the board has ${this.capacity}; use a flash file made for this board`);
    this.entries = doc.entries.map((e) => ({ name: e.name, trash: e.trash, sf: e.sf === true, data: new Uint8Array(Buffer.from(e.data, "base64")) }));
    this.bytesWritten = doc.bytesWritten ?? 0;
  }
}
