// The JsVars a program uses on Espruino 2v29, for process.memory() and E.getSizeOf(). Espruino stores
// everything in fixed-size blocks (JsVars); V8 does not, so the simulator walks what the program can
// reach and counts the blocks Espruino would allocate for it, structure by structure, following
// src/jsvar.c and what the real interpreter measures (test/espruino/memory-calibration.test.ts holds the
// figure within 10 % of the real one on a representative set of programs):
//   * a name (variable, property, parameter): 1 block holding 4 characters, +1 per further
//     `extChars` (9 on a Puck.js-sized build, 10 on an ESP32-sized one); an array index: 1;
//   * a small integer (|n| < 2^(refBits-1)) is stored inside its name; a boolean inside an array index;
//     any other number, true/false, null: +1; undefined: nothing;
//   * a string: 1 block of `strChars` (8 / 9) + 1 per `extChars`; a string read from flash
//     (Storage.read) is a reference: 1;
//   * an object or array: 1 + its names and values; an instance of a class: +2 ("__proto__");
//   * a typed array: view 1 + ArrayBuffer 1 + its bytes: a string up to the break-even length
//     (strChars + extChars), a flat string above it (1 + bytes / block size);
//   * a function made from code in flash: 1 + parameter names + 2 for the code reference (nothing for an
//     empty body); made inside another function: +1 for its scope link, and a scope-chain array when
//     nested deeper; each function call whose scope a closure keeps: 1 + the names of ALL its locals
//     (Espruino keeps the whole scope, V8 only what is captured: values of uncaptured locals are not
//     seen here); a class: constructor + prototype (5) + its methods;
//   * a built-in class the program uses (Uint8Array, Date, DataView...) is created in the root on first
//     use: its name + 6; timers, watches and event listeners cost what the interpreter keeps for them.
// Roots are the program's globals (and hidden \xFF globals of simulated libraries) plus what the
// runtime holds for it (timers, watches, listeners). Closure variables are read through Node's
// inspector ([[Scopes]]); which function a closure belongs to and what its enclosing functions declare
// come from the program's source (acorn).
import inspector from "node:inspector";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import type { Realm } from "./realm.ts";

/** Block layout of a build with `jsvars` JsVars (src/jsutils.h: JSVARREF_BITS and friends, 32-bit). */
export interface JsVarLayout {
  jsvars: number;
  refBits: number;
  /** bytes per JsVar */
  varBytes: number;
  /** characters in a name block */
  nameChars: number;
  /** characters in the first block of a string */
  strChars: number;
  /** characters in each further block (STRING_EXT) */
  extChars: number;
  /** byte count above which array buffers use a flat string */
  flatBreakEven: number;
  /** integers stored inside a name: intMin..intMax */
  intMin: number;
  intMax: number;
}

export function jsVarLayout(jsvars: number): JsVarLayout {
  const table: Array<[number, number, number, number]> = [
    // max vars, ref bits, refcount bits, pack bits
    [254, 8, 6, 8],
    [1023, 10, 6, 2],
    [2047, 11, 4, 0],
    [4095, 12, 8, 0],
    [8191, 13, 4, 0],
    [16383, 14, 8, 0],
    [65535, 16, 8, 0],
  ];
  const [, refBits, rc, pack] = table.find((t) => jsvars <= t[0]) ?? table[table.length - 1];
  const nameChars = 4;
  const strChars = nameChars + ((refBits * 3 + pack) >> 3);
  const extChars = nameChars + ((refBits * 3 + pack + rc) >> 3);
  return {
    jsvars,
    refBits,
    varBytes: extChars + 4, // data + 2 bytes of flags + the last reference
    nameChars,
    strChars,
    extChars,
    flatBreakEven: strChars + extChars,
    intMin: -(1 << (refBits - 1)),
    intMax: (1 << (refBits - 1)) - 1,
  };
}

/**
 * Built-ins Espruino creates in its root the first time a program uses them (measured: a class used
 * with `new` costs its name + 6 — the constructor, "prototype", the prototype object, "constructor";
 * an object used for a method costs its name + 1).
 */
const FIRST_USE_CLASSES = ["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray", "ArrayBuffer", "DataView", "Date"];
const FIRST_USE_OBJECTS: Record<string, number> = { Math: 3, JSON: 2 };
/** the typed arrays' shared prototype ("ArrayBufferView", 9) on the first member access of a typed array;
 *  "String" on first use: 3 for String.fromCharCode, 8 with its prototype on a string's first method call */
const TYPED_ARRAY_PROTO = 9;
const STRING_PROTO = 8;
const STRING_CLASS = 3;
const TYPED_ARRAY_MEMBERS = ["subarray", "set", "fill", "buffer", "byteLength", "byteOffset"];
const STRING_METHODS = ["charCodeAt", "charAt", "substr", "substring", "split", "padStart", "padEnd", "toUpperCase", "toLowerCase", "replace", "startsWith", "endsWith", "trim", "repeat"];

/** What the interpreter keeps for each timer, watch and listener, besides the callback (measured). */
export const HELD_COST = { timeout: 5, interval: 7, watch: 14, listener: 6, serialListener: 17, module: 3 } as const;

const FN_SKIP = new Set(["length", "name", "prototype", "arguments", "caller"]);

let session: inspector.Session | null = null;
function post<T>(method: string, params: object): T {
  if (!session) {
    session = new inspector.Session();
    session.connect();
  }
  let out: T | undefined;
  let err: Error | null = null;
  // A session on the main thread answers synchronously.
  session.post(method, params, (e, r) => {
    err = e;
    out = r as T;
  });
  if (err) throw err;
  return out as T;
}

interface RemoteObject {
  objectId?: string;
  description?: string;
}

export interface FunctionInspection {
  /** where V8 says the function is: its parameter list's "(" (or the class keyword), 0-based */
  location?: { line: number; column: number };
  /** variables kept alive by its closures (innermost first), as materialised scope objects */
  scopes: Array<{ key: string; vars: Record<string, unknown> }>;
}

/** [[FunctionLocation]] and [[Scopes]] of a function, through Node's inspector. */
export function inspectFunction(fn: Function, withScopes = true): FunctionInspection {
  const g = globalThis as Record<string, unknown>;
  g.__vardeMemProbe = fn;
  const out: FunctionInspection = { scopes: [] };
  try {
    const fnRef = post<{ result: RemoteObject }>("Runtime.evaluate", { expression: "globalThis.__vardeMemProbe", objectGroup: "varde-mem" });
    if (!fnRef.result.objectId) return out;
    const props = post<{ internalProperties?: Array<{ name: string; value?: RemoteObject & { value?: { lineNumber: number; columnNumber: number } } }> }>("Runtime.getProperties", { objectId: fnRef.result.objectId, ownProperties: true });
    const loc = props.internalProperties?.find((p) => p.name === "[[FunctionLocation]]")?.value?.value;
    if (loc) out.location = { line: loc.lineNumber, column: loc.columnNumber };
    const scopes = props.internalProperties?.find((p) => p.name === "[[Scopes]]")?.value;
    if (!withScopes || !scopes?.objectId) return out;
    const list = post<{ result: Array<{ name: string; value?: RemoteObject }> }>("Runtime.getProperties", { objectId: scopes.objectId, ownProperties: true });
    for (const sc of list.result) {
      if (!sc.value?.objectId || /^(Global|Script)/.test(sc.value.description ?? "") || !/^\d+$/.test(sc.name)) continue;
      post("Runtime.callFunctionOn", {
        objectId: sc.value.objectId,
        functionDeclaration: "function () { globalThis.__vardeMemOut = this.object; }",
        objectGroup: "varde-mem",
      });
      const vars = g.__vardeMemOut as Record<string, unknown> | undefined;
      g.__vardeMemOut = undefined;
      if (vars) out.scopes.push({ key: (sc.value.description ?? "") + ":" + Object.keys(vars).join(","), vars });
    }
    return out;
  } finally {
    g.__vardeMemProbe = undefined;
    post("Runtime.releaseObjectGroup", { objectGroup: "varde-mem" });
  }
}

/** Variables kept alive by a function's closures (innermost first), as materialised scope objects. */
export function closureScopes(fn: Function): Array<{ key: string; vars: Record<string, unknown> }> {
  return inspectFunction(fn).scopes;
}

// ---- what the source says about a function --------------------------------------------------------

interface FnNode {
  /** source index and start offset: identifies the function in the program */
  key: string;
  params: string[];
  bodyEmpty: boolean;
  /** names a call of it keeps in its scope: parameters, var, function declarations, top-level let/const/class */
  locals: string[];
  /** what a local is set to where it is declared, when the source says (a literal, a function) */
  inits: Map<string, N>;
  /** enclosing functions, outermost first */
  enclosing: FnNode[];
}

type N = acorn.Node & Record<string, any>;

function paramNames(params: N[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    if (p.type === "Identifier") out.push(p.name);
    else if (p.type === "AssignmentPattern" && p.left.type === "Identifier") out.push(p.left.name);
    else if (p.type === "RestElement" && p.argument.type === "Identifier") out.push(p.argument.name);
  }
  return out;
}

function localsOf(fn: N, inits: Map<string, N>): string[] {
  const names = new Set(paramNames(fn.params as N[]));
  const body = fn.body as N;
  if (body.type !== "BlockStatement") return [...names];
  for (const st of body.body as N[]) {
    if (st.type === "FunctionDeclaration" && st.id) {
      names.add(st.id.name);
      inits.set(st.id.name, st);
    }
    if (st.type === "ClassDeclaration" && st.id) names.add(st.id.name);
    if (st.type === "VariableDeclaration" && st.kind !== "var")
      for (const d of st.declarations as N[])
        if (d.id.type === "Identifier") {
          names.add(d.id.name);
          if (d.init) inits.set(d.id.name, d.init);
        }
  }
  // var anywhere in the body, not inside nested functions
  const visit = (n: N): void => {
    if (!n || typeof n.type !== "string") return;
    if (n !== body && /Function/.test(n.type)) return;
    if (n.type === "VariableDeclaration" && n.kind === "var")
      for (const d of n.declarations as N[])
        if (d.id.type === "Identifier") {
          names.add(d.id.name);
          if (d.init && !inits.has(d.id.name)) inits.set(d.id.name, d.init);
        }
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) v.forEach((c) => c && typeof c === "object" && visit(c as N));
      else if (v && typeof v === "object" && typeof (v as N).type === "string" && k !== "parent") visit(v as N);
    }
  };
  visit(body);
  return [...names];
}

function bodyEmpty(fn: N): boolean {
  const b = fn.body as N;
  return b.type === "BlockStatement" && (b.body as N[]).length === 0;
}

interface ParsedSource {
  text: string;
  /** function nodes by start offset */
  fns: Map<number, FnNode>;
  /** identifiers the source references (for built-ins created on first use) */
  identifiers: Set<string>;
}

function parseSource(text: string, index: number): ParsedSource | null {
  let ast: N;
  try {
    ast = acorn.parse(text, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true, allowHashBang: true }) as N;
  } catch {
    return null;
  }
  const fns = new Map<number, FnNode>();
  const identifiers = new Set<string>();
  walk.fullAncestor(ast as acorn.Node, (node, _st, ancestors) => {
    const n = node as N;
    if (n.type === "Identifier") identifiers.add(n.name);
    // (acorn-walk does not visit the name of a non-computed member: x.subarray)
    if (n.type === "MemberExpression" && !n.computed && n.property.type === "Identifier") identifiers.add(n.property.name);
    if (n.type !== "FunctionDeclaration" && n.type !== "FunctionExpression" && n.type !== "ArrowFunctionExpression") return;
    const enclosing: FnNode[] = [];
    for (const a of ancestors.slice(0, -1) as N[]) {
      const f = fns.get(a.start);
      if (f && /Function/.test(a.type)) enclosing.push(f);
    }
    const inits = new Map<string, N>();
    fns.set(n.start, { key: index + ":" + n.start, params: paramNames(n.params as N[]), bodyEmpty: bodyEmpty(n), locals: localsOf(n, inits), inits, enclosing });
  });
  // fullAncestor visits children first: resolve enclosing chains in a second pass, outermost first
  walk.fullAncestor(ast as acorn.Node, (node, _st, ancestors) => {
    const n = node as N;
    const f = fns.get(n.start);
    if (!f || !/Function/.test(n.type)) return;
    f.enclosing = (ancestors.slice(0, -1) as N[]).filter((a) => /Function/.test(a.type) && fns.has(a.start)).map((a) => fns.get(a.start)!);
  });
  return { text, fns, identifiers };
}

function countLines(text: string, upTo: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < upTo; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** The program's code: what the runtime ran (boot files, eval'd text), parsed on demand. */
export class SourceRegistry {
  private texts: string[] = [];
  private parsed: Array<ParsedSource | null | undefined> = [];
  private byFnText = new Map<string, FnNode | null>();

  add(text: string): void {
    if (text.length < 2 || this.texts.includes(text)) return;
    this.texts.push(text);
    this.byFnText.clear(); // a text that was unique may not be any more
  }

  private source(i: number): ParsedSource | null {
    if (this.parsed[i] === undefined) this.parsed[i] = parseSource(this.texts[i], i);
    return this.parsed[i] ?? null;
  }

  /**
   * The function node whose source text is `fnText` (Function.prototype.toString of a program
   * function); when the same text occurs more than once, the one at V8's `location` (see
   * inspectFunction: the parameter list's "(" or the class keyword).
   */
  find(fnText: string, location?: { line: number; column: number }): FnNode | null {
    const hit = this.byFnText.get(fnText);
    if (hit !== undefined) return hit;
    const candidates: Array<{ src: ParsedSource; at: number }> = [];
    for (let i = 0; i < this.texts.length; i++) {
      for (let at = this.texts[i].indexOf(fnText); at >= 0; at = this.texts[i].indexOf(fnText, at + 1)) {
        const src = this.source(i);
        if (src) candidates.push({ src, at });
      }
    }
    const nodeAt = (c: { src: ParsedSource; at: number }): FnNode | null => {
      const direct = c.src.fns.get(c.at);
      if (direct) return direct;
      // a method (m() {...}) is listed by the start of its function, the "(": look just after the key
      const paren = fnText.indexOf("(");
      for (const [start, f] of c.src.fns) if (start > c.at && start <= c.at + paren) return f;
      return null;
    };
    if (candidates.length === 1) {
      const f = nodeAt(candidates[0]);
      this.byFnText.set(fnText, f);
      return f;
    }
    if (!candidates.length) {
      this.byFnText.set(fnText, null);
      return null;
    }
    if (location) {
      const arrowBare = /^[A-Za-z_$][\w$]*\s*=>/.test(fnText);
      const lead = /^class\b/.test(fnText) || arrowBare ? 0 : Math.max(0, fnText.indexOf("("));
      for (const c of candidates) {
        const pos = c.at + lead;
        const before = c.src.text.lastIndexOf("\n", pos - 1);
        const line = countLines(c.src.text, pos);
        if (line === location.line && pos - (before + 1) === location.column) return nodeAt(c);
      }
    }
    return nodeAt(candidates[0]);
  }

  identifiers(): Set<string> {
    const all = new Set<string>();
    for (let i = 0; i < this.texts.length; i++) for (const id of this.source(i)?.identifiers ?? []) all.add(id);
    return all;
  }
}

/** What the runtime holds for the program: callbacks and the bookkeeping blocks around them. */
export interface HeldByRuntime {
  callbacks: unknown[];
  /** blocks the interpreter keeps for timers, watches and listeners besides the callbacks */
  overhead: number;
}

export class MemoryEstimator {
  private builtins = new WeakSet<object>();
  private builtinGlobals = new Set<string>();
  private marked = false;
  readonly sources = new SourceRegistry();
  private flashStrings = new Set<string>();
  private flashBuffers = new WeakSet<object>();
  /** blocks the interpreter itself uses at start (root, built-in objects, the console) */
  baseline: number;

  constructor(
    private readonly realm: Realm,
    readonly layout: JsVarLayout = jsVarLayout(2630),
    private readonly opts: { closures: boolean } = { closures: true },
  ) {
    this.baseline = baselineFor(layout);
  }

  /**
   * Call once the context's globals are installed: the global names present now are "the interpreter".
   * The objects reachable from them are collected lazily, on the first estimate (most runs never ask).
   */
  markBuiltins(extraRoots: unknown[] = []): void {
    for (const k of Object.getOwnPropertyNames(this.realm.global)) this.builtinGlobals.add(k);
    this.extraBuiltinRoots.push(...extraRoots);
  }

  private extraBuiltinRoots: unknown[] = [];

  /** a string the program got from flash (Storage.read): on the device it is a reference to flash */
  noteFlashString(s: string): void {
    if (s.length <= this.layout.strChars) return;
    if (this.flashStrings.size > 256) this.flashStrings.clear();
    this.flashStrings.add(s);
  }

  /** an ArrayBuffer mapped from flash (Storage.readArrayBuffer) */
  noteFlashBuffer(b: object): void {
    this.flashBuffers.add(b);
  }

  private collectBuiltins(): void {
    if (this.marked) return;
    this.marked = true;
    const g = this.realm.global;
    this.builtins.add(g);
    const stack: unknown[] = [Object.getPrototypeOf(g), ...this.extraBuiltinRoots];
    for (const k of this.builtinGlobals) {
      const d = Object.getOwnPropertyDescriptor(g, k);
      if (d) stack.push("value" in d ? d.value : d.get);
    }
    while (stack.length) {
      const o = stack.pop();
      if ((typeof o !== "object" && typeof o !== "function") || o === null || this.builtins.has(o)) continue;
      this.builtins.add(o);
      stack.push(Object.getPrototypeOf(o));
      for (const k of Object.getOwnPropertyNames(o)) {
        // a sloppy function's `arguments` is its live call's arguments (e.g. E.getSizeOf's value)
        if (typeof o === "function" && (k === "arguments" || k === "caller")) continue;
        const d = Object.getOwnPropertyDescriptor(o, k);
        if (!d) continue;
        if ("value" in d) stack.push(d.value);
        else stack.push(d.get, d.set);
      }
    }
  }

  /** JsVars in use: baseline + built-ins created on first use + the program's globals + what the runtime holds. */
  usage(held: HeldByRuntime | unknown[] = []): number {
    return this.measure(held).usage;
  }

  /** usage() with the parts it is made of */
  measure(held: HeldByRuntime | unknown[] = []): { usage: number; parts: MemoryBreakdown } {
    this.collectBuiltins();
    const h: HeldByRuntime = Array.isArray(held) ? { callbacks: held, overhead: 0 } : held;
    const w = new Walk(this, this.builtins, this.opts.closures);
    const g = this.realm.global;
    for (const k of Object.getOwnPropertyNames(g)) {
      if (this.builtinGlobals.has(k) || k.startsWith("__varde")) continue;
      const d = Object.getOwnPropertyDescriptor(g, k);
      if (!d) continue;
      w.total += w.name(k) + ("value" in d ? w.value(d.value, false) : 0);
    }
    for (const r of h.callbacks) w.total += w.value(r, false);
    w.parts.held += h.overhead;
    let firstUse = 0;
    const ids = this.sources.identifiers();
    for (const c of FIRST_USE_CLASSES) if (ids.has(c)) firstUse += w.nameOf(c) + 6;
    for (const [c, n] of Object.entries(FIRST_USE_OBJECTS)) if (ids.has(c)) firstUse += n;
    if (FIRST_USE_CLASSES.some((c) => c !== "Date" && c !== "DataView" && ids.has(c)) && TYPED_ARRAY_MEMBERS.some((m) => ids.has(m))) firstUse += TYPED_ARRAY_PROTO;
    if (STRING_METHODS.some((m) => ids.has(m))) firstUse += STRING_PROTO;
    else if (ids.has("String")) firstUse += STRING_CLASS;
    w.parts.builtins = firstUse;
    return { usage: this.baseline + firstUse + h.overhead + w.total, parts: w.parts };
  }

  /** E.getSizeOf(v): vars used by one value (closures included). */
  sizeOf(v: unknown): number {
    this.collectBuiltins();
    return new Walk(this, this.builtins, this.opts.closures).value(v, false);
  }

  isFlashString(s: string): boolean {
    return this.flashStrings.has(s);
  }

  isFlashBuffer(b: object): boolean {
    return this.flashBuffers.has(b);
  }
}

/** The interpreter's own blocks right after boot on the Linux builds (measured: 39 on 2,630 vars, 38 on 16,383). */
function baselineFor(layout: JsVarLayout): number {
  return layout.refBits <= 12 ? 39 : 38;
}

/** What an estimate is made of (vars per kind), to see where a program's memory goes. */
export interface MemoryBreakdown {
  names: number;
  functions: number;
  scopes: number;
  objects: number;
  typedArrays: number;
  strings: number;
  numbers: number;
  held: number;
  builtins: number;
}

const TYPED_TAGS = new Set(["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray"]);

class Walk {
  total = 0;
  readonly parts: MemoryBreakdown = { names: 0, functions: 0, scopes: 0, objects: 0, typedArrays: 0, strings: 0, numbers: 0, held: 0, builtins: 0 };
  private seen = new WeakSet<object>();
  private scopes = new Set<string>();
  private readonly L: JsVarLayout;

  constructor(
    private readonly est: MemoryEstimator,
    private readonly builtins: WeakSet<object>,
    private readonly closures: boolean,
  ) {
    this.L = est.layout;
  }

  /** blocks of a name (string key or array index) */
  nameOf(key: string): number {
    if (/^(0|[1-9][0-9]*)$/.test(key) && Number(key) <= 0x7fffffff) return 1;
    const n = key.length;
    return 1 + (n > this.L.nameChars ? Math.ceil((n - this.L.nameChars) / this.L.extChars) : 0);
  }

  name(key: string): number {
    const n = this.nameOf(key);
    this.parts.names += n;
    return n;
  }

  stringCost(len: number): number {
    return len <= this.L.strChars ? 1 : 1 + Math.ceil((len - this.L.strChars) / this.L.extChars);
  }

  private bytesCost(len: number): number {
    return len > this.L.flatBreakEven ? 1 + Math.ceil(len / this.L.varBytes) : this.stringCost(len);
  }

  /** blocks for a value held by a name; `indexName`: the name is an array index (booleans fit in it) */
  value(v: unknown, indexName: boolean): number {
    switch (typeof v) {
      case "undefined":
        return 0;
      case "boolean":
        if (indexName) return 0;
        this.parts.numbers++;
        return 1;
      case "number": {
        if (Number.isInteger(v) && v >= this.L.intMin && v <= this.L.intMax) return 0;
        this.parts.numbers++;
        return 1;
      }
      case "string": {
        const n = this.est.isFlashString(v) ? 1 : this.stringCost(v.length);
        this.parts.strings += n;
        return n;
      }
      case "symbol":
      case "bigint":
        return 1;
      case "object":
      case "function":
        if (v === null) {
          this.parts.numbers++;
          return 1;
        }
        return this.object(v);
    }
    return 0;
  }

  private props(o: object, skip: (k: string) => boolean, isArray: boolean): number {
    let n = 0;
    for (const k of Object.getOwnPropertyNames(o)) {
      if (skip(k)) continue;
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      const index = isArray && /^(0|[1-9][0-9]*)$/.test(k);
      n += this.name(k);
      if ("value" in d) n += this.value(d.value, index);
      else n += 1 + (d.get ? 1 + this.value(d.get, false) : 0) + (d.set ? 1 + this.value(d.set, false) : 0); // getter/setter block + "get"/"set" names
    }
    return n;
  }

  private object(o: object): number {
    if (this.builtins.has(o) || this.seen.has(o)) return 0;
    this.seen.add(o);
    const tag = Object.prototype.toString.call(o).slice(8, -1);
    if (TYPED_TAGS.has(tag) && ArrayBuffer.isView(o)) {
      const view = o as unknown as ArrayBufferView;
      // a further view on a buffer (subarray, new Uint8Array(buf, off, len)) is one more block
      const n = 1 + this.buffer(view.buffer);
      this.parts.typedArrays += n;
      return n;
    }
    if (tag === "ArrayBuffer") {
      const n = this.buffer(o as ArrayBuffer, true);
      this.parts.typedArrays += n;
      return n;
    }
    if (tag === "DataView") {
      const n = 9 + this.buffer((o as DataView).buffer);
      this.parts.typedArrays += n;
      return n;
    }
    if (tag === "Date") {
      this.parts.objects += 5;
      return 5; // object, "ms" and its float, "__proto__"
    }
    if (typeof o === "function") return this.fn(o as Function);
    const isArray = Array.isArray(o);
    let n = 1;
    this.parts.objects++;
    n += this.props(o, (k) => (isArray && k === "length") || (tag === "Error" && k === "stack"), isArray);
    const proto = Object.getPrototypeOf(o);
    if (proto && !this.builtins.has(proto)) n += this.name("__proto__") + this.value(proto, false);
    return n;
  }

  private buffer(b: ArrayBufferLike, counted = false): number {
    if (this.seen.has(b) && !counted) return 0;
    this.seen.add(b);
    if (this.est.isFlashBuffer(b)) return 2;
    return 1 + this.bytesCost(b.byteLength);
  }

  private fn(f: Function): number {
    let text = "";
    try {
      text = Function.prototype.toString.call(f);
    } catch {
      /* a proxy or other exotic function */
    }
    if (/\{\s*\[native code\]\s*\}$/.test(text)) {
      this.parts.functions++;
      return 1;
    }
    const isClass = /^class\b/.test(text);
    let inspection: FunctionInspection | null = null;
    const inspect = (): FunctionInspection => {
      if (!inspection) {
        try {
          inspection = inspectFunction(f, this.closures);
        } catch {
          inspection = { scopes: [] };
        }
      }
      return inspection;
    };
    const node = this.est.sources.find(text, this.closures ? inspect().location : undefined);
    let n = 1;
    let params: string[];
    let empty: boolean;
    if (isClass) {
      // the constructor's parameters and body decide its cost; the prototype object comes with the class
      const ctor = /\bconstructor\s*\(([^)]*)\)\s*\{(\s*\})?/.exec(text);
      params = ctor ? ctor[1].split(",").map((s) => s.trim()).filter(Boolean) : [];
      empty = !ctor || !!ctor[2];
    } else if (node) {
      params = node.params;
      empty = node.bodyEmpty;
    } else {
      const m = /^[^(]*\(([^)]*)\)/.exec(text);
      params = m ? m[1].split(",").map((s) => s.trim().replace(/=.*$/, "")).filter(Boolean) : [];
      empty = /\{\s*\}$/.test(text);
    }
    for (const p of params) n += this.name(p);
    if (!empty) n += 2; // "\xFFcod" and the reference to the code in flash
    this.parts.functions += n;
    // own members other than the built-in ones (statics, properties set on the function)
    n += this.props(f, (k) => FN_SKIP.has(k), false);
    // prototype: classes always have one; a function's only once the program adds to it
    const d = Object.getOwnPropertyDescriptor(f, "prototype");
    const proto = d && "value" in d ? (d.value as object | undefined) : undefined;
    if (proto && typeof proto === "object" && !this.builtins.has(proto)) {
      const own = Object.getOwnPropertyNames(proto).filter((k) => k !== "constructor");
      if (isClass || own.length) {
        if (!this.seen.has(proto)) {
          this.seen.add(proto);
          const p = this.name("prototype") + 1 + this.name("constructor") + this.props(proto, (k) => k === "constructor", false);
          this.parts.objects += p;
          n += p;
        }
      }
    }
    if (node && !isClass) n += this.scopeCost(node, this.closures ? inspect().scopes : []);
    return n;
  }

  /** blocks of a value the source gives literally (for locals V8 no longer holds) */
  private staticCost(n: N, depth: number): number {
    switch (n.type) {
      case "Literal":
        if (typeof n.value === "string") return this.stringCost(n.value.length);
        if (typeof n.value === "number") return Number.isInteger(n.value) && n.value >= this.L.intMin && n.value <= this.L.intMax ? 0 : 1;
        return 1; // true, false, null, regex
      case "ArrayExpression": {
        let c = 1;
        for (const e of n.elements as Array<N | null>) if (e) c += 1 + (e.type === "Literal" && (typeof e.value === "boolean" || (typeof e.value === "number" && Number.isInteger(e.value) && e.value >= this.L.intMin && e.value <= this.L.intMax)) ? 0 : this.staticCost(e, depth));
        return c;
      }
      case "ObjectExpression": {
        let c = 1;
        for (const p of n.properties as N[]) {
          if (p.type !== "Property" || p.computed) continue;
          const key = p.key.type === "Identifier" ? p.key.name : String(p.key.value);
          c += this.nameOf(key) + this.staticCost(p.value, depth);
        }
        return c;
      }
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression": {
        let c = 1;
        for (const p of paramNames(n.params as N[])) c += this.nameOf(p);
        if (!bodyEmpty(n)) c += 2;
        return c + 1 + (depth >= 2 ? 1 + depth : 0);
      }
      default:
        return 0;
    }
  }

  private scopeCost(node: FnNode, captured: Array<{ key: string; vars: Record<string, unknown> }>): number {
    const depth = node.enclosing.length;
    if (depth === 0) return 0;
    let n = 1; // "\xFFsco"
    if (depth >= 2) n += 1 + depth; // the scope-chain array and its indices
    for (const enc of node.enclosing) {
      // the V8 scope that holds this function's locals, if any of them were captured
      const v8 = captured.find((s) => Object.keys(s.vars).length > 0 && Object.keys(s.vars).every((k) => enc.locals.includes(k)));
      let key = enc.key;
      if (v8) {
        for (const [k, val] of Object.entries(v8.vars)) {
          if ((typeof val === "object" && val !== null) || typeof val === "function") key += "|" + k + "#" + idOf(val as object);
          else key += "|" + k + "=" + String(val);
        }
      }
      if (this.scopes.has(key)) continue;
      this.scopes.add(key);
      let s = 1; // the scope object
      for (const local of enc.locals) {
        s += this.name(local);
        if (v8 && local in v8.vars) s += this.value(v8.vars[local], false);
        else {
          // V8 dropped it (nothing captures it), Espruino keeps it with the scope: estimate from the source
          // (not functions: a local function is usually reachable some other way and counted there)
          const init = enc.inits.get(local);
          if (init && !/Function/.test(init.type)) s += this.staticCost(init, depth + 1);
        }
      }
      this.parts.scopes += s;
      n += s;
    }
    return n;
  }
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}
