// A device's flash Storage area with Espruino's semantics (the Node side; the in-device
// require("Storage") module in espruino/storage.ts is a thin layer over this).
//
// Model (follows Espruino's jsflash.c closely enough for budgets and wear to be meaningful):
// * The area is a log of files. Each file costs a 32-byte header (4-byte size + 28-byte name) plus its
//   data rounded up to 4 bytes. Replacing or erasing a file leaves its old bytes as "trash" until
//   compact() (or an automatic compaction when a write would not fit otherwise).
// * Names are 1..28 characters. A write that does not fit even after compaction throws
//   FlashFullError (in the device: an Error "Not enough free space in Storage"), as Espruino fails it.
// * Rewriting a file with identical contents is a no-op (Espruino checks this to save wear).
// * write(name, data, offset, size): offset 0 with a size creates a file of `size` bytes of 0xFF and
//   writes data at 0; a later write at an offset programs bytes in place. Like real NOR flash,
//   programming can only clear bits: stored = old & new. Writing over bytes already written corrupts them.
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

export class FlashFullError extends Error {}
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
  /** persist to this JSON file (loaded when it exists) */
  path?: string;
}

const cost = (size: number): number => HEADER_BYTES + ((size + 3) & ~3);

export function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0) throw new FlashUsageError("Storage file name must be a non-empty string");
  if (name.length > NAME_MAX) throw new FlashUsageError(`Storage file name "${name}" is ${name.length} chars; the limit is ${NAME_MAX}`);
}

export class Flash {
  readonly capacity: number;
  readonly path?: string;
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

  /**
   * Espruino Storage.write semantics (see the header comment). Throws FlashFullError when the file
   * does not fit even after compaction, FlashUsageError for a bad name/offset/size.
   */
  write(name: string, data: Uint8Array, offset?: number, size?: number, storageFileChunk = false): void {
    checkName(name);
    this.mutate("write", name);
    const old = this.live(name);
    if (offset !== undefined && offset !== null && !(offset === 0 && size !== undefined) && old) {
      // program in place
      if (offset < 0 || offset + data.length > old.data.length)
        throw new FlashUsageError(`Storage.write("${name}"): ${data.length} bytes at offset ${offset} do not fit the file's ${old.data.length} bytes (create it with write(name, data, 0, totalSize))`);
      for (let i = 0; i < data.length; i++) old.data[offset + i] &= data[i];
      this.bytesWritten += data.length;
      this.changed();
      return;
    }
    if (offset !== undefined && offset !== null && offset !== 0 && size === undefined)
      throw new FlashUsageError(`Storage.write("${name}"): offset ${offset} given but the file does not exist (create it with write(name, data, 0, totalSize))`);
    const total = size !== undefined ? size : data.length;
    const at = offset ?? 0;
    if (total < 0 || at + data.length > total)
      throw new FlashUsageError(`Storage.write("${name}"): ${data.length} bytes at offset ${at} do not fit the declared size ${total}`);
    const content = new Uint8Array(total).fill(0xff);
    content.set(data, at);
    if (old && old.data.length === content.length && old.data.every((b, i) => b === content[i])) return;
    if (old) old.trash = true;
    if (this.used() + cost(total) > this.capacity) this.compactNow();
    if (this.used() + cost(total) > this.capacity) {
      if (old) old.trash = false; // Espruino keeps the old file when the new one cannot be written
      throw new FlashFullError(`Not enough free space in Storage: "${name}" needs ${cost(total)} bytes, ${this.capacity - this.used()} free of ${this.capacity}`);
    }
    this.entries.push(storageFileChunk ? { name, data: content, trash: false, sf: true } : { name, data: content, trash: false });
    this.bytesWritten += cost(total);
    this.changed();
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
    if (this.entries.some((e) => e.trash)) {
      this.entries = this.entries.filter((e) => !e.trash);
      this.compactions++;
    }
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
    const f = new Flash({ capacity: this.capacity });
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
