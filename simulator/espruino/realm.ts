// The boundary between Node and a device's vm context. Values the firmware sees must come from the
// context's own realm (its Object, Array, Uint8Array, Error), otherwise `instanceof`, prototypes and
// error handling inside the firmware behave differently from a device. Host functions are wrapped in
// in-context functions so the firmware never holds a Node function object (and its Node `constructor`).
import vm from "node:vm";

export interface Intrinsics {
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Uint8Array: Uint8ArrayConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  Error: ErrorConstructor;
  TypeError: TypeErrorConstructor;
  SyntaxError: SyntaxErrorConstructor;
  JSON: JSON;
  Date: DateConstructor;
  Function: FunctionConstructor;
}

type HostFn = (this: unknown, ...args: any[]) => unknown;

export class Realm {
  readonly ctx: vm.Context;
  readonly intr: Intrinsics;
  readonly global: Record<string, unknown>;
  private readonly wrapFactory: (h: HostFn) => Function;
  private readonly dispatchSet: (fn: unknown, args: unknown[], self: unknown) => void;
  private readonly dispatchScript = new vm.Script("__vardeRun()", { filename: "varde-dispatch" });
  /** >0 while code of this device is running (host calls back into the context run directly then) */
  depth = 0;

  constructor() {
    // afterEvaluate: the context has its own microtask queue, drained after every dispatch, so a
    // promise callback runs right after the event that resolved it, at the same virtual time.
    this.ctx = vm.createContext({}, { name: "espruino", microtaskMode: "afterEvaluate", codeGeneration: { strings: true, wasm: false } });
    this.global = vm.runInContext("globalThis", this.ctx);
    this.intr = vm.runInContext("({Object, Array, Uint8Array, ArrayBuffer, Error, TypeError, SyntaxError, JSON, Date, Function})", this.ctx);
    this.wrapFactory = vm.runInContext("(function (h) { return function () { return h.apply(this, arguments); }; })", this.ctx);
    const slot = vm.runInContext(
      `(function () {
        var s = null;
        Object.defineProperty(globalThis, "__vardeRun", { enumerable: false, configurable: false, writable: false,
          value: function () { var c = s; s = null; return c[0].apply(c[2], c[1]); } });
        return function (f, a, t) { s = [f, a, t]; };
      })()`,
      this.ctx,
    );
    this.dispatchSet = slot;
  }

  /** An in-context function that calls the host function; host Errors become context Errors. */
  fn(h: HostFn): Function {
    const realm = this;
    return this.wrapFactory(function (this: unknown, ...args: unknown[]) {
      try {
        return h.apply(this, args);
      } catch (e) {
        if (e instanceof Error) throw realm.error(e.message);
        throw e;
      }
    });
  }

  /** A context object with these properties; functions are wrapped with fn(). */
  obj(props: Record<string, unknown> = {}): Record<string, any> {
    const o = new this.intr.Object() as Record<string, unknown>;
    for (const k of Object.keys(props)) {
      const v = props[k];
      o[k] = typeof v === "function" && !(v instanceof this.intr.Function) ? this.fn(v as HostFn) : v;
    }
    return o;
  }

  /** Like obj(), but a function object: Espruino's built-in objects (E, Math, AES...) are functions (typeof). */
  fnObj(props: Record<string, unknown> = {}): Record<string, any> {
    const o = vm.runInContext("(() => undefined)", this.ctx) as Record<string, unknown>;
    for (const k of Object.keys(props)) {
      const v = props[k];
      o[k] = typeof v === "function" && !(v instanceof this.intr.Function) ? this.fn(v as HostFn) : v;
    }
    return o;
  }

  array(items: unknown[]): unknown[] {
    const a = new this.intr.Array() as unknown[];
    for (const x of items) a.push(x);
    return a;
  }

  error(message: string): Error {
    return new this.intr.Error(message);
  }

  /** a SyntaxError of the context (on Espruino not an Error: JSON.parse, readJSON) */
  syntaxError(message: string): Error {
    return new this.intr.SyntaxError(message);
  }

  bytes(u8: Uint8Array): Uint8Array {
    const out = new this.intr.Uint8Array(u8.length);
    out.set(u8);
    return out;
  }

  arrayBuffer(u8: Uint8Array): ArrayBuffer {
    return this.bytes(u8).buffer as ArrayBuffer;
  }

  /** Runs source in the context (top level), microtasks drained after. */
  run(code: string, filename: string): unknown {
    this.depth++;
    try {
      return compiled(code, filename).runInContext(this.ctx);
    } finally {
      this.depth--;
    }
  }

  /**
   * Calls a context function as an event (timer, watch, serial data...). From the host it goes through a
   * script evaluation so the context's microtasks run right after; from inside the context (re-entrant)
   * it is a plain call. Errors propagate to the caller.
   */
  call(fn: unknown, args: unknown[] = [], self?: unknown): unknown {
    if (this.depth > 0) return (fn as Function).apply(self, args);
    // apply() only reads the elements, so a host array does not leak into the context
    this.dispatchSet(fn, args, self);
    this.depth++;
    try {
      return this.dispatchScript.runInContext(this.ctx);
    } finally {
      this.depth--;
    }
  }
}

// Compiled scripts are context-independent: a bundle booted a thousand times (power-cut runs) is
// compiled once. Small sources (REPL lines, callbacks) are not worth caching.
const scriptCache = new Map<string, vm.Script>();
const CACHE_MIN_CHARS = 2048;
const CACHE_MAX = 16;
function compiled(code: string, filename: string): vm.Script {
  if (code.length < CACHE_MIN_CHARS) return new vm.Script(code, { filename });
  const key = filename + "\0" + code;
  let s = scriptCache.get(key);
  if (!s) {
    s = new vm.Script(code, { filename });
    if (scriptCache.size >= CACHE_MAX) scriptCache.delete(scriptCache.keys().next().value as string);
    scriptCache.set(key, s);
  }
  return s;
}

/** Bytes from anything Espruino accepts as data: string of byte-chars, number, array, typed array, ArrayBuffer, {data,count}. */
export function toBytes(value: unknown): Uint8Array {
  const out: number[] = [];
  const add = (v: unknown): void => {
    if (v === undefined || v === null) return;
    if (typeof v === "string") {
      for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 0xff);
    } else if (typeof v === "number" || typeof v === "boolean") {
      out.push(Number(v) & 0xff);
    } else if (ArrayBuffer.isView(v)) {
      const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      for (let i = 0; i < b.length; i++) out.push(b[i]);
    } else if (Object.prototype.toString.call(v) === "[object ArrayBuffer]") {
      const b = new Uint8Array(v as ArrayBuffer);
      for (let i = 0; i < b.length; i++) out.push(b[i]);
    } else if (Array.isArray(v)) {
      for (const x of v) add(x);
    } else if (typeof v === "object" && "data" in (v as object)) {
      const o = v as { data: unknown; count?: number };
      const n = typeof o.count === "number" ? o.count : 1;
      for (let i = 0; i < n; i++) add(o.data);
    } else {
      add(String(v));
    }
  };
  add(value);
  return Uint8Array.from(out);
}

/** Bytes -> Espruino "binary string" (one char per byte). */
export function bytesToString(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 4096)));
  return s;
}
