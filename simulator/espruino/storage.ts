// require("Storage") inside a simulated device: Espruino 2v29's API over a Flash (../flash.ts), with its
// messages and quirks as measured on the real interpreter (test/espruino/conformance/storage*.js):
// names are cut to 28 characters; write() of an object stores JSON; writeJSON() writes keys without
// quotes ({id:1042,key:"abc"}) that readJSON() reads and JSON.parse() rejects; readJSON() of bad JSON
// throws a SyntaxError; list() shows a StorageFile once, as name + "\x01".
// Data crosses as Espruino "binary strings" (one char per byte); readArrayBuffer gives a copy (on the
// device it is memory-mapped flash, read-only either way).
//
// StorageFile (open(name, mode)) follows Espruino: the data lives in chunk files named
// name (cut to 27 chars) + String.fromCharCode(n), n = 1, 2, ..., each flash.storageFileChunk bytes
// (4064 on the boards, 992 in the Linux builds) pre-filled with 0xFF and programmed in place as text is
// appended. Text ends at the first 0xFF: writing a 0xFF byte cuts the line there, and the next append
// programs over what followed it (bits only clear), as on the device.
import { Flash, FlashWriteError, NAME_MAX } from "../flash.ts";
import { WRITEJSON_FLAGS, espruinoJSON } from "./json.ts";
import { bytesToString, toBytes, type Realm } from "./realm.ts";
import { jsonContext, parseInRealm } from "./semantics.ts";

/** `alive()` false = the device lost power mid-code: every call throws, nothing reaches flash. */
/** Data that stays in flash on the device (read() gives a reference, not a copy): for the memory estimate. */
export interface FlashDataHooks {
  string(s: string): void;
  buffer(b: object): void;
}

export function createStorageModule(realm: Realm, flash: Flash, alive: () => boolean = () => true, flashData?: FlashDataHooks): Record<string, unknown> {
  const err = (m: string): Error => realm.error(m);
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof FlashWriteError) throw err(e.message);
      if (e instanceof Error) throw err(e.message);
      throw e;
    }
  };
  const nameOf = (n: unknown): string => String(n).slice(0, NAME_MAX);
  const filterOf = (re: unknown): ((n: string) => boolean) | undefined => {
    if (re === undefined || re === null) return undefined;
    if (typeof re === "string") return (n) => n.includes(re);
    const r = re as RegExp;
    return (n) => {
      r.lastIndex = 0;
      return r.test(n);
    };
  };
  const isObject = (d: unknown) => d !== null && typeof d === "object" && !Array.isArray(d) && !ArrayBuffer.isView(d) && Object.prototype.toString.call(d) !== "[object ArrayBuffer]";

  const api = {
    read(name: string, offset?: number, length?: number): string | undefined {
      const d = flash.read(nameOf(name));
      if (!d) return undefined;
      const start = offset ?? 0;
      const end = length === undefined ? d.length : start + length;
      const str = bytesToString(d.subarray(start, end));
      flashData?.string(str);
      return str;
    },
    readJSON(name: string, noExceptions?: boolean): unknown {
      const d = flash.read(nameOf(name));
      if (!d) return undefined;
      try {
        return parseInRealm(realm, bytesToString(d), true);
      } catch (e) {
        if (noExceptions) return undefined;
        throw e;
      }
    },
    readArrayBuffer(name: string): ArrayBuffer | undefined {
      const d = flash.read(nameOf(name));
      if (!d) return undefined;
      const b = realm.arrayBuffer(d);
      flashData?.buffer(b);
      return b;
    },
    write(name: string, data: unknown, offset?: number, size?: number): boolean {
      // Espruino: an object (not an array or buffer) is written as JSON, offset and size ignored
      if (isObject(data)) {
        const json = (realm.intr.JSON.stringify as (v: unknown) => string)(data);
        guard(() => flash.write(nameOf(name), toBytes(json)));
        return true;
      }
      guard(() => flash.write(nameOf(name), toBytes(data === undefined ? "" : data), offset === undefined ? undefined : Number(offset) | 0, size === undefined ? undefined : Number(size) | 0));
      return true;
    },
    writeJSON(name: string, data: unknown): boolean {
      const s = espruinoJSON(data, WRITEJSON_FLAGS, "  ", jsonContext(realm));
      guard(() => flash.write(nameOf(name), toBytes(s)));
      return true;
    },
    list(re?: unknown, opts?: { sf?: boolean }): unknown[] {
      const f = filterOf(re);
      // a StorageFile shows once, as its first chunk's name (name + "\x01"); {sf: true} gives its name
      let names = flash.list().filter((n) => !flash.isStorageFileChunk(n) || n.charCodeAt(n.length - 1) === 1);
      if (opts && opts.sf === false) names = names.filter((n) => !flash.isStorageFileChunk(n));
      if (opts && opts.sf === true) names = names.filter((n) => flash.isStorageFileChunk(n)).map((n) => n.slice(0, -1));
      return realm.array(f ? names.filter(f) : names);
    },
    erase(name: string): void {
      flash.erase(nameOf(name));
    },
    eraseAll(): void {
      flash.eraseAll();
    },
    compact(): void {
      flash.compact();
    },
    getFree(): number {
      return flash.getFree();
    },
    getStats(): unknown {
      return realm.obj({ ...flash.getStats() });
    },
    hash(re?: unknown): number {
      return flash.hash(filterOf(re)) | 0;
    },
    debug(): void {
      /* Espruino prints the file table; nothing useful to add here */
    },
    open(name: string, mode: string): unknown {
      return openStorageFile(realm, flash, String(name), String(mode), alive);
    },
  };
  const live: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(api)) {
    live[k] = function (this: unknown, ...a: unknown[]) {
      if (!alive()) throw err("Storage: no power");
      return (f as (...x: unknown[]) => unknown).apply(this, a);
    };
  }
  return realm.obj(live);
}

/** Length of the programmed part of a chunk: up to the first 0xFF. */
function usedLength(d: Uint8Array): number {
  const i = d.indexOf(0xff);
  return i < 0 ? d.length : i;
}

/** Espruino numbers chunks 1..255 in the last character of the name. */
const MAX_CHUNK = 255;

function openStorageFile(realm: Realm, flash: Flash, name: string, mode: string, alive: () => boolean): unknown {
  name = name.slice(0, NAME_MAX - 1); // the last of the 28 name bytes numbers the chunk
  if (mode !== "r" && mode !== "w" && mode !== "a") throw realm.error(`Invalid mode "${mode}"`);
  const STORAGEFILE_CHUNK = flash.storageFileChunk;
  const chunk = (n: number): string => name + String.fromCharCode(n);
  const eraseAll = (): void => {
    for (let n = 1; n <= MAX_CHUNK && flash.exists(chunk(n)); n++) flash.erase(chunk(n));
  };
  if (mode === "w") eraseAll();
  // Reading a file that does not exist is not an error on Espruino: read()/readLine() give undefined.
  let readChunk = 1;
  let readOff = 0;

  const lastChunk = (): number => {
    let n = 0;
    while (n < MAX_CHUNK && flash.exists(chunk(n + 1))) n++;
    return n;
  };
  const readBytes = (max: number, stopAtNewline: boolean): string | undefined => {
    if (mode !== "r") throw realm.error("Can't read in this mode");
    let out = "";
    while (out.length < max) {
      const d = flash.read(chunk(readChunk));
      if (!d) break;
      if (readOff >= STORAGEFILE_CHUNK) {
        readChunk++;
        readOff = 0;
        continue;
      }
      const b = d[readOff];
      if (b === 0xff) break; // erased flash: end of file
      readOff++;
      const c = String.fromCharCode(b);
      out += c;
      if (stopAtNewline && c === "\n") break;
    }
    return out.length ? out : undefined;
  };

  const file = {
    read(len: number): string | undefined {
      return readBytes(Math.max(0, Number(len) || 0), false);
    },
    readLine(): string | undefined {
      return readBytes(Infinity, true);
    },
    getLength(): number {
      let total = 0;
      for (let n = 1; n <= MAX_CHUNK; n++) {
        const d = flash.read(chunk(n));
        if (!d) break;
        total += usedLength(d);
      }
      return total;
    },
    write(data: unknown): void {
      if (mode === "r") throw realm.error("Can't write in this mode");
      const bytes = toBytes(data === undefined || data === null ? "" : String(data));
      if (!bytes.length) return;
      let off = 0;
      try {
        while (off < bytes.length) {
          let n = lastChunk();
          let used = n ? usedLength(flash.read(chunk(n))!) : STORAGEFILE_CHUNK;
          if (used >= STORAGEFILE_CHUNK) {
            n++;
            if (n > MAX_CHUNK) throw new Error("File too big!");
            flash.write(chunk(n), new Uint8Array(0), 0, STORAGEFILE_CHUNK, true);
            used = 0;
          }
          const take = Math.min(bytes.length - off, STORAGEFILE_CHUNK - used);
          flash.program(chunk(n), used, bytes.subarray(off, off + take));
          off += take;
        }
      } catch (e) {
        throw realm.error((e as Error).message);
      }
    },
    erase(): void {
      eraseAll();
      readChunk = 1;
      readOff = 0;
    },
  };
  const live: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(file)) {
    live[k] = function (this: unknown, ...a: unknown[]) {
      if (!alive()) throw realm.error("StorageFile: no power");
      return (f as (...x: unknown[]) => unknown).apply(this, a);
    };
  }
  return realm.obj(live);
}
