// An ESTIMATE of the JsVars a program would use on Espruino, for process.memory() and E.getSizeOf().
// Espruino stores everything in fixed-size blocks (JsVars: 13 bytes on nRF52, 16 on ESP32); V8 does not,
// so the simulator walks what the program can reach and counts roughly as Espruino would:
//   * a property or array element: 1 var (name + small value), +1 if the value is a non-integer number
//   * a string value: 1 var per 12 characters (at least 1)
//   * an object or array: 1 var, plus its properties
//   * a typed array: 2 vars (view + ArrayBuffer) plus 1 per 12 bytes of buffer
//   * a function: 2 vars (the function and a reference to its code, which stays in flash when the
//     bundle runs from .bootcde) plus its properties and the variables its closures keep alive
//   * a baseline for the interpreter's own state at start-up (BASELINE_VARS)
// Roots are the globals the program added plus everything the simulator holds for it (timers, watches,
// event listeners). Closure variables are not reachable by reflection; they are read through Node's
// inspector ([[Scopes]] of each function), so a bundle whose state lives in an IIFE is still counted.
// Treat the figure as a budget check within ±30%, not as the device's exact number.
import inspector from "node:inspector";
import type { Realm } from "./realm.ts";

export const BASELINE_VARS = 120;

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

/** Variables kept alive by a function's closures, as materialised scope objects. */
export function closureScopes(fn: Function): Array<{ key: string; vars: Record<string, unknown> }> {
  const g = globalThis as Record<string, unknown>;
  g.__vardeMemProbe = fn;
  try {
    const fnRef = post<{ result: RemoteObject }>("Runtime.evaluate", { expression: "globalThis.__vardeMemProbe", objectGroup: "varde-mem" });
    if (!fnRef.result.objectId) return [];
    const props = post<{ internalProperties?: Array<{ name: string; value?: RemoteObject }> }>("Runtime.getProperties", { objectId: fnRef.result.objectId, ownProperties: true });
    const scopes = props.internalProperties?.find((p) => p.name === "[[Scopes]]")?.value;
    if (!scopes?.objectId) return [];
    const list = post<{ result: Array<{ name: string; value?: RemoteObject }> }>("Runtime.getProperties", { objectId: scopes.objectId, ownProperties: true });
    const out: Array<{ key: string; vars: Record<string, unknown> }> = [];
    for (const s of list.result) {
      if (!s.value?.objectId || /^(Global|Script)/.test(s.value.description ?? "") || !/^\d+$/.test(s.name)) continue;
      post("Runtime.callFunctionOn", {
        objectId: s.value.objectId,
        functionDeclaration: "function () { globalThis.__vardeMemOut = this.object; }",
        objectGroup: "varde-mem",
      });
      const vars = g.__vardeMemOut as Record<string, unknown> | undefined;
      g.__vardeMemOut = undefined;
      if (vars) out.push({ key: (s.value.description ?? "") + ":" + Object.keys(vars).join(","), vars });
    }
    return out;
  } finally {
    g.__vardeMemProbe = undefined;
    post("Runtime.releaseObjectGroup", { objectGroup: "varde-mem" });
  }
}

export class MemoryEstimator {
  private builtins = new WeakSet<object>();
  private builtinGlobals = new Set<string>();

  constructor(
    private readonly realm: Realm,
    private readonly opts: { closures: boolean } = { closures: true },
  ) {}

  private marked = false;

  /**
   * Call once the context's globals are installed: the global names present now are "the interpreter".
   * The objects reachable from them are collected lazily, on the first estimate (most runs never ask).
   */
  markBuiltins(): void {
    for (const k of Object.getOwnPropertyNames(this.realm.global)) this.builtinGlobals.add(k);
  }

  private collectBuiltins(): void {
    if (this.marked) return;
    this.marked = true;
    const g = this.realm.global;
    this.builtins.add(g);
    const stack: unknown[] = [Object.getPrototypeOf(g)];
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

  /** Estimated JsVars in use: baseline + the program's globals + extra roots (callbacks held by the simulator). */
  usage(extraRoots: unknown[]): number {
    return this.measure(extraRoots).usage;
  }

  /** usage() with the parts it is made of */
  measure(extraRoots: unknown[]): { usage: number; parts: MemoryBreakdown } {
    this.collectBuiltins();
    const w = new Walk(this.builtins, this.opts.closures);
    const g = this.realm.global;
    for (const k of Object.getOwnPropertyNames(g)) {
      if (this.builtinGlobals.has(k) || k.startsWith("__varde")) continue;
      const d = Object.getOwnPropertyDescriptor(g, k);
      w.total += 1 + (d && "value" in d ? w.value(d.value) : 0);
    }
    for (const r of extraRoots) w.total += w.value(r);
    return { usage: BASELINE_VARS + w.total, parts: w.parts };
  }

  /** E.getSizeOf(v): vars used by one value (closures included). */
  sizeOf(v: unknown): number {
    this.collectBuiltins();
    return new Walk(this.builtins, this.opts.closures).value(v);
  }
}

/** What an estimate is made of (vars per kind), to see where a program's memory goes. */
export interface MemoryBreakdown {
  functions: number;
  objects: number;
  typedArrays: number;
  strings: number;
  properties: number;
  closureVars: number;
}

class Walk {
  total = 0;
  readonly parts: MemoryBreakdown = { functions: 0, objects: 0, typedArrays: 0, strings: 0, properties: 0, closureVars: 0 };
  private seen = new WeakSet<object>();
  private scopes = new Set<string>();

  constructor(
    private readonly builtins: WeakSet<object>,
    private readonly closures: boolean,
  ) {}

  value(v: unknown): number {
    switch (typeof v) {
      case "undefined":
      case "boolean":
        return 0;
      case "number":
        return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 0 : 1;
      case "string": {
        const n = Math.max(1, Math.ceil(v.length / 12));
        this.parts.strings += n;
        return n;
      }
      case "symbol":
      case "bigint":
        return 1;
      case "object":
      case "function":
        if (v === null) return 0;
        return this.object(v);
    }
    return 0;
  }

  private object(o: object): number {
    if (this.builtins.has(o) || this.seen.has(o)) return 0;
    this.seen.add(o);
    if (ArrayBuffer.isView(o)) {
      const n = 2 + Math.ceil(o.byteLength / 12);
      this.parts.typedArrays += n;
      return n;
    }
    if (Object.prototype.toString.call(o) === "[object ArrayBuffer]") {
      try {
        return 1 + Math.ceil((o as ArrayBuffer).byteLength / 12);
      } catch {
        // a prototype object carrying the ArrayBuffer tag, not a buffer: count it as an object
      }
    }
    const isFn = typeof o === "function";
    const isArr = Array.isArray(o);
    let n = isFn ? 2 : 1;
    if (isFn) this.parts.functions += 2;
    else this.parts.objects += 1;
    for (const k of Object.getOwnPropertyNames(o)) {
      if (isArr && k === "length") continue;
      if (isFn && FN_SKIP.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      this.parts.properties++;
      n += 1 + ("value" in d ? this.value(d.value) : this.value(d.get) + this.value(d.set));
    }
    const proto = Object.getPrototypeOf(o);
    if (proto) n += this.value(proto);
    if (isFn) {
      const p = (o as { prototype?: unknown }).prototype;
      if (p && typeof p === "object" && Object.getOwnPropertyNames(p).some((k) => k !== "constructor")) n += this.value(p);
      else if (p && typeof p === "object") this.seen.add(p);
      if (this.closures) n += this.closureVars(o as Function);
    }
    return n;
  }

  private closureVars(fn: Function): number {
    let n = 0;
    let scopes: Array<{ key: string; vars: Record<string, unknown> }>;
    try {
      scopes = closureScopes(fn);
    } catch {
      return 0;
    }
    for (const s of scopes) {
      const firstObj = Object.values(s.vars).find((x) => (typeof x === "object" && x !== null) || typeof x === "function");
      let key = s.key;
      if (firstObj) {
        // tell apart two instances of the same closure by the identity of an object they hold
        const id = objectIds.get(firstObj as object) ?? nextObjectId++;
        objectIds.set(firstObj as object, id);
        key += "#" + id;
      }
      if (this.scopes.has(key)) continue;
      this.scopes.add(key);
      for (const name of Object.keys(s.vars)) {
        this.parts.closureVars++;
        n += 1 + this.value(s.vars[name]);
      }
    }
    return n;
  }
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
