// Differential conformance: the same snippets run on the simulator and on the real interpreter, and
// must print the same thing. Snippet files (test/espruino/conformance/*.js) hold cases:
//
//   //# typed slice returns a plain Array
//   var s = new Uint8Array([1, 2, 3]).slice(1);
//   show(Array.isArray(s), s);
//
//   //# a timer fires [async]
//   setTimeout(function () { show("fired"); done(); }, 5);
//
// Every case becomes a function in ONE program (one interpreter run per build: starting one costs
// ~0.2 s under qemu). Helpers available to a case:
//   show(a, b, ...)  prints a representation of each value that does not depend on print()'s own
//                    formatting: strings with \xHH escapes, typed arrays as Uint8Array[1,2], ...
//   err(fn)          runs fn, prints "!threw <class>: <message>" or "no error" (only for errors whose
//                    message comes from an Espruino library function the simulator reproduces)
//   done()           ends an [async] case
// An exception that escapes a case prints "!threw <class>" without the message: engine messages
// (V8's "x is not a function" against Espruino's 'Function "x" not found!') are not modelled; the class
// is (which of Error/TypeError/ReferenceError/SyntaxError it is an instance of).
// Snippet files are read as bytes (latin1), so a UTF-8 "æ" in a snippet is two characters on both sides,
// as it is in a bundle on the device.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { VirtualClock } from "../../simulator/clock.ts";
import { SimDevice } from "../../simulator/device.ts";
import { Flash } from "../../simulator/flash.ts";
import { ESPRUINO_FLASH_BYTES, EspruinoSandbox, type EspruinoBuild } from "../support/espruino.ts";

export const SNIPPET_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "conformance");

export interface Case {
  /** "file/name" */
  id: string;
  async: boolean;
  body: string;
}

/** The cases of one snippet file, in order. */
export function parseSnippets(file: string, text: string): Case[] {
  const out: Case[] = [];
  const base = path.basename(file, ".js");
  let cur: Case | null = null;
  for (const line of text.split("\n")) {
    const m = /^\/\/# (.+?)\s*(\[async\])?\s*$/.exec(line);
    if (m) {
      cur = { id: `${base}/${m[1]}`, async: !!m[2], body: "" };
      if (out.some((c) => c.id === cur!.id)) throw new Error(`${file}: two cases named "${m[1]}"`);
      out.push(cur);
    } else if (cur) cur.body += line + "\n";
    else if (line.trim() && !line.startsWith("//")) throw new Error(`${file}: code before the first "//# name" line: ${line}`);
  }
  return out;
}

/** Every case of every snippet file (or of the files named). */
export function loadCases(files?: string[]): Case[] {
  const names = files ?? fs.readdirSync(SNIPPET_DIR).filter((f) => f.endsWith(".js")).sort();
  return names.flatMap((f) => parseSnippets(f, fs.readFileSync(path.join(SNIPPET_DIR, f), "latin1")));
}

const PRELUDE = String.raw`
// no ">" prompt between outputs: output printed from a timer while the prompt is shown is framed by
// prompt and erase sequences whose order depends on timing (seen under load); the simulator's program
// run has no REPL and so no echo() and no prompt
if (typeof echo !== "undefined") echo(0);
function __cls(e) {
  if (e === null || typeof e !== "object") return typeof e + " " + __r(e);
  var k = [];
  if (e instanceof Error) k.push("Error");
  if (e instanceof TypeError) k.push("TypeError");
  if (e instanceof ReferenceError) k.push("ReferenceError");
  if (e instanceof SyntaxError) k.push("SyntaxError");
  return k.length ? k.join("+") : "object";
}
var __TA = ["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray"];
var __TC = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array, Uint8ClampedArray];
function __str(s) {
  var o = '"';
  for (var i = 0; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (c === 34) o += '\\"'; else if (c === 92) o += "\\\\";
    else if (c < 32 || c > 126) o += "\\x" + (c < 16 ? "0" : "") + c.toString(16);
    else o += s[i];
  }
  return o + '"';
}
function __r(v) {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  var t = typeof v;
  if (t === "string") return __str(v);
  if (t === "number" || t === "boolean") return String(v);
  if (t === "function") return "<function>";
  for (var i = 0; i < __TA.length; i++) {
    if (v instanceof __TC[i]) {
      var a = [];
      for (var j = 0; j < v.length; j++) a.push(__r(v[j]));
      return __TA[i] + "[" + a.join(",") + "]";
    }
  }
  if (v instanceof ArrayBuffer) return "ArrayBuffer(" + __r(new Uint8Array(v)) + ")";
  if (v instanceof Date) return "Date(" + v.getTime() + ")";
  if (Array.isArray(v)) {
    var b = [];
    for (var k = 0; k < v.length; k++) b.push(__r(v[k]));
    return "[" + b.join(",") + "]";
  }
  if (t === "object") {
    var ks = Object.keys(v), c = [];
    for (var m = 0; m < ks.length; m++) c.push(__str(ks[m]) + ":" + __r(v[ks[m]]));
    return "{" + c.join(",") + "}";
  }
  return t;
}
function show() {
  var s = [];
  for (var i = 0; i < arguments.length; i++) s.push(__r(arguments[i]));
  print(s.join(" "));
}
function err(f) {
  try { f(); print("no error"); } catch (e) { print("!threw " + __cls(e) + ": " + (e && typeof e === "object" ? e.message : e)); }
}
function __go(i) {
  for (var c = __get(i); c; c = __get(i)) {
    i++;
    print("@@case " + c[0]);
    if (c[1]) {
      var fin = false, j = i;
      var done = function () { if (fin) return; fin = true; setTimeout(function () { __go(j); }, 1); };
      try { c[2](done); } catch (e) { print("!threw " + __cls(e)); done(); }
      return;
    }
    try { c[2](); } catch (e) { print("!threw " + __cls(e)); }
  }
  print("@@end");
}
`;

/**
 * One program running the cases in order. Each case's function is created only when it runs, so the
 * program's RAM stays small on the 2,630-JsVar build: it runs from flash as .bootcde. The cases sit in
 * switch statements of 16 (Espruino finds a case by skipping over the code of the ones before it, so
 * one switch over all cases would re-read the whole program for every case).
 */
export function program(cases: Case[]): string {
  const parts = [PRELUDE];
  const groups = Math.ceil(cases.length / 16);
  for (let g = 0; g < groups; g++) {
    parts.push(`function __g${g}(i) {\n  switch (i) {\n`);
    cases.slice(g * 16, g * 16 + 16).forEach((c, j) => parts.push(`  case ${g * 16 + j}: return [${JSON.stringify(c.id)}, ${c.async}, function (done) {\n${c.body}}];\n`));
    parts.push("  }\n  return null;\n}\n");
  }
  parts.push(`var __groups = [${Array.from({ length: groups }, (_, g) => "__g" + g).join(", ")}];\n`);
  parts.push("function __get(i) { var g = __groups[i >> 4]; return g ? g(i) : null; }\n__go(0);\n");
  return parts.join("");
}

/** Output of a run split per case id (text each case printed); "@@end" missing = the run broke off. */
export function splitOutput(output: string): { cases: Map<string, string>; complete: boolean; before: string } {
  const cases = new Map<string, string>();
  const parts = output.split(/^@@case (.*)\n/m);
  const before = parts[0];
  let complete = false;
  for (let i = 1; i < parts.length; i += 2) {
    let text = parts[i + 1] ?? "";
    const end = text.indexOf("@@end\n");
    if (end >= 0) {
      complete = true;
      text = text.slice(0, end);
    }
    cases.set(parts[i], text);
  }
  return { cases, complete, before };
}

/** The simulated board that stands for an interpreter build (its flash sized like the interpreter's file). */
export function simBoardFor(build: Exclude<EspruinoBuild, "linux">): Board {
  const b = loadBoard(build === "nrf52" ? "alarm-nrf52" : "dispenser-esp32");
  // the interpreter's flash is a 256 KiB file whatever the board; Storage figures compare only at equal size
  return { ...b, memory: { ...b.memory, storage_bytes: ESPRUINO_FLASH_BYTES } };
}

/** Runs a program on a simulated device of `board` in virtual time; returns its console output. */
export function runOnSimulator(code: string, board: Board, maxVirtualMs = 600_000): string {
  const clock = new VirtualClock();
  // Espruino's Linux builds have 1 KiB flash pages (FLASH_PAGE_SIZE 1024) where the boards have 4 KiB: it sets
  // the StorageFile chunk size (992 bytes here) and where a compaction starts.
  const dev = new SimDevice({ board, clock, flash: new Flash({ capacity: board.memory.storage_bytes, pageBytes: 1024 }), memoryRefreshMs: 0 });
  dev.install(code);
  dev.powerOn();
  for (let t = 0; t < maxVirtualMs && !dev.output.includes("@@end\n"); t += 1000) clock.runFor(1000);
  dev.powerOff();
  return dev.output;
}

/**
 * Runs a program on the real interpreter as the simulator runs it: written to a fresh flash as .bootcde,
 * then booted (code from flash costs far less RAM than a file run). Returns the console output.
 */
export async function runOnInterpreter(code: string, build: EspruinoBuild, timeoutMs = 180_000): Promise<string> {
  const box = await EspruinoSandbox.create(build);
  try {
    await box.writeStorage({ ".bootcde": code });
    const dev = await box.boot();
    try {
      await dev.waitFor(/^@@end$|OUT OF MEMORY|ASSERT/m, timeoutMs);
      return dev.output;
    } finally {
      await dev.kill();
    }
  } finally {
    await box.dispose();
  }
}
