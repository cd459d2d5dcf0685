// How `varde flash` lays out a device's Storage so that a device never boots half a bundle.
//
//   .bootcde     the Varde boot loader below (small, rewritten only when it changes)
//   varde.a/.b   two app slots; the bundle is uploaded (in chunks) to the slot NOT in use
//   varde.boot   JSON pointer {"f":"varde.b","n":<bytes>,"h":"<sha-256 hex>","v":"<firmware version>","b":"<board id>"}
//   varde.id     JSON identity {"id":n,"key":"<64 hex>","kind":"alarm"} (docs/architecture.md)
//
// Update: stage the new bundle into the idle slot, read its SHA-256 back from the device, then switch
// by rewriting the pointer: one small Storage.write. When the flash cannot hold two bundles, the
// running app is given up first (pointer erased, then its slot): an interrupted upload then leaves a
// device at the REPL, still never running a partial bundle. At boot the loader runs the pointed slot only if
// its length and SHA-256 match the pointer, so an upload cut at any point leaves either the old app
// (pointer not yet switched) or, if the pointer itself is torn, the REPL with a message: never a
// partial bundle. The loader evals the app at global scope (a direct eval at the top level of
// .bootcde), as the bundle would run had it been .bootcde itself.
// The loader and the expressions run on the device, so they are written in the Espruino subset
// (docs/architecture.md; test/tech/boot-layout.test.ts runs the firmware build's check on them).
// Resume: an upload cut short leaves the idle slot at full length with its tail still erased (0xFF);
// a retry of the same bundle compares per-piece digests and continues at the first erased piece.
import { createHash } from "node:crypto";

export const SLOTS = ["varde.a", "varde.b"] as const;
export const POINTER = "varde.boot";
export const IDENTITY = "varde.id";

/** Device-side expression: SHA-256 of string `c` as 64 lowercase hex chars. */
const SHA_HEX = 'function(c){var a=new Uint8Array(require("crypto").SHA256(c)),s="";for(var i=0;i<a.length;i++)s+=(256+a[i]).toString(16).substr(1);return s;}';

export const LOADER =
  "// Varde boot loader (written by varde flash; see cli/tech/boot-layout.ts)\n" +
  "function _vardeApp(){var S=require(\"Storage\"),b=S.readJSON(\"varde.boot\",1),c=b&&S.read(b.f);" +
  "if(c!==undefined&&c.length===b.n&&(" + SHA_HEX + ")(c)===b.h)return c;" +
  "return 'print(\"Varde: no verified app in flash (varde.boot); staying in the REPL. Run varde flash.\")';}\n" +
  "eval(_vardeApp());\n";

export interface BootPointer {
  f: string;
  n: number;
  h: string;
  v: string;
  b: string;
}

/** The idle slot: the one the current pointer does not name. */
export function idleSlot(current: BootPointer | null): string {
  return current && current.f === SLOTS[0] ? SLOTS[1] : SLOTS[0];
}

/** Expression: what flash needs to know before staging (sizes of both slots: a resumable upload). */
export function stateExpr(): string {
  return '(function(){var S=require("Storage"),a=S.read("varde.a"),b=S.read("varde.b");return {free:S.getFree(),boot:S.readJSON("varde.boot",1)||null,id:S.readJSON("varde.id",1)||null,loader:S.read(".bootcde")===' +
    JSON.stringify(LOADER) + ",bootcde:(function(c){return c===undefined?null:c.length;})(S.read(\".bootcde\")),slots:{\"varde.a\":a===undefined?null:a.length,\"varde.b\":b===undefined?null:b.length}};})()";
}

/**
 * Expression: a 32-bit digest (first 4 bytes of SHA-256) of every `chunk`-byte piece of a Storage file,
 * so an interrupted upload can resume at the first piece that differs.
 */
export function chunkDigestsExpr(file: string, chunk: number): string {
  return "(function(){var c=require(\"Storage\").read(" + JSON.stringify(file) + "),o=[],h;if(c===undefined)return null;for(var i=0;i<c.length;i+=" + chunk +
    "){h=new Uint8Array(require(\"crypto\").SHA256(c.substr(i," + chunk + ")));o.push(((h[0]<<24)|(h[1]<<16)|(h[2]<<8)|h[3])>>>0);}return o;})()";
}

/** The same digest on this side: of the bundle's pieces, or of erased flash (0xFF) of a piece's length. */
export function chunkDigest(data: string): number {
  return createHash("sha256").update(data, "latin1").digest().readUInt32BE(0);
}

/**
 * Where an upload of `code` can resume, given the device's digests of the staged file (same length):
 * the first piece that differs, provided it and every later piece are still erased (flash can only be
 * programmed where it is erased). -1: not resumable, stage from the start. pieces: all done.
 */
export function resumePoint(code: string, chunk: number, device: number[]): number {
  const pieces = Math.ceil(code.length / chunk);
  if (device.length !== pieces) return -1;
  let k = 0;
  while (k < pieces && device[k] === chunkDigest(code.substr(k * chunk, chunk))) k++;
  for (let j = k; j < pieces; j++) {
    const len = Math.min(chunk, code.length - j * chunk);
    if (device[j] !== chunkDigest("\xff".repeat(len))) return -1;
  }
  return k;
}

/** Expression: length and SHA-256 of a Storage file (null when missing). */
export function hashExpr(file: string): string {
  return "(function(){var c=require(\"Storage\").read(" + JSON.stringify(file) + ");if(c===undefined)return null;return {n:c.length,h:(" +
    SHA_HEX + ")(c)};})()";
}

/** Slots no pointer names: left-overs of earlier (maybe interrupted) uploads, free to erase. */
export function unusedSlots(current: BootPointer | null): string[] {
  return SLOTS.filter((s) => !current || s !== current.f);
}

/** Expression: erase files, optionally compact, and report free bytes. */
export function eraseExpr(files: string[], compact: boolean): string {
  return "(function(){var S=require(\"Storage\");" + files.map((f) => "S.erase(" + JSON.stringify(f) + ");").join("") + (compact ? "S.compact();" : "") + "return S.getFree();})()";
}

/**
 * Expression: give up the running app to make room (when the flash cannot hold two bundles): the pointer
 * goes first, so from here until the next commit the loader finds no app and the device boots to the
 * REPL, never into a partial bundle.
 */
export function dropActiveExpr(activeSlot: string): string {
  return "(function(){var S=require(\"Storage\");S.erase(\"varde.boot\");S.erase(" + JSON.stringify(activeSlot) + ");S.compact();return S.getFree();})()";
}

/**
 * Expression: put the loader in place of a .bootcde that is not ours (an app saved by other tools) to
 * make room: from here until the commit the device boots to the REPL, never a partial bundle.
 */
export function installLoaderExpr(): string {
  return "(function(){var S=require(\"Storage\");S.write(\".bootcde\"," + JSON.stringify(LOADER) + ");S.compact();return S.getFree();})()";
}

/** Expression: write identity and loader, then switch the pointer (the commit point). Returns "ok". */
export function commitExpr(identity: { id: number; key: string; kind: string }, pointer: BootPointer): string {
  return "(function(){var S=require(\"Storage\");S.writeJSON(\"varde.id\"," + JSON.stringify(identity) + ");" +
    "if(S.read(\".bootcde\")!==" + JSON.stringify(LOADER) + ")S.write(\".bootcde\"," + JSON.stringify(LOADER) + ");" +
    "S.writeJSON(\"varde.boot\"," + JSON.stringify(pointer) + ");return \"ok\";})()";
}

/** Bytes a Storage file of `size` bytes takes (Espruino: 32-byte header, data rounded up to 4). */
export function storageCost(size: number): number {
  return 32 + ((size + 3) & ~3);
}
