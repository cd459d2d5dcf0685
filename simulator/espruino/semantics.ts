// Makes a fresh vm context behave like Espruino 2v29 where the difference can be installed at run time
// (what needs the source rewritten is in transform.ts, whose helpers are defined here). Every item was
// measured on the real interpreter (test/espruino/conformance/*.js):
//  * errors: no `name`; `new TypeError()` is not an Error; ReferenceError and SyntaxError are not Errors;
//    errors the engine throws for a bad call or property read are plain Errors ("Error: ..."); a missing
//    message is undefined;
//  * typed arrays: slice() and filter() return plain Arrays; set() drops what does not fit; subarray()
//    past the end is refused (Espruino hands back a view past the buffer's end, which V8 cannot make);
//    adding a member (u8.foo = 1) throws; ArrayBuffer has no slice();
//  * strings: String.fromCharCode keeps the low 8 bits; toUpperCase/toLowerCase change ASCII only;
//    split() ignores its limit;
//  * numbers: String(n), n.toString(radix), n.toFixed(d), Array join print Espruino's digits (numbers.ts);
//    Number()/parseFloat parse digit by digit; Math.round rounds halves away from zero;
//  * JSON.stringify / JSON.parse: Espruino's writer and lexer-based reader (json.ts);
//  * Object.defineProperty: `enumerable: false` is ignored.
import { espruinoJSON, espruinoJSONParse, JSONSyntax, PRINT_FLAGS, STRINGIFY_FLAGS, type JSONContext } from "./json.ts";
import { espruinoNumberToString, espruinoStringToFloat, espruinoToFixed } from "./numbers.ts";
import type { Realm } from "./realm.ts";
import { espruinoTransform } from "./transform.ts";

const SOURCE = String.raw`(function (h) {
  var g = globalThis, OP = Object.prototype, odp = Object.defineProperty, gpo = Object.getPrototypeOf, spo = Object.setPrototypeOf;
  var ocreate = Object.create, ogopn = Object.getOwnPropertyNames, isView = ArrayBuffer.isView, toStr = OP.toString;
  var Px = Proxy, RGet = Reflect.get, RSet = Reflect.set, PMap = Map;
  var aslice = Array.prototype.slice, afilter = Array.prototype.filter, ajoin = Array.prototype.join, apush = Array.prototype.push;
  var isArray = Array.isArray, fcc = String.fromCharCode, S0 = String, N0 = Number, mceil = Math.ceil, mfloor = Math.floor;
  function hide(o, k, v) { odp(o, k, { value: v, writable: true, configurable: true, enumerable: false }); }
  function tagOf(o) { return toStr.call(o).slice(8, -1); }

  // ---- errors
  var IE = Error;
  ["Error", "TypeError", "ReferenceError", "SyntaxError", "RangeError", "EvalError", "URIError"].forEach(function (n) {
    var P = g[n] && g[n].prototype;
    if (!P) return;
    delete P.name;
    delete P.message;
    // what the engine throws for a bad call/read is an Error on Espruino (constructor Error, "Error: ...")
    if (n !== "Error" && n !== "ReferenceError" && n !== "SyntaxError") hide(P, "constructor", IE);
  });
  function named(n) { return function toString() { return this.message === undefined ? n : n + ": " + this.message; }; }
  [g.ReferenceError, g.SyntaxError].forEach(function (C) {
    spo(C.prototype, OP);
    hide(C.prototype, "toString", named(C === g.ReferenceError ? "ReferenceError" : "SyntaxError"));
  });
  var capture = IE.captureStackTrace;
  function TypeError(m) {
    if (!(this instanceof TypeError)) return new TypeError(m);
    if (m !== undefined) hide(this, "message", m);
    if (capture) capture(this, TypeError);
  }
  TypeError.prototype = ocreate(OP);
  hide(TypeError.prototype, "constructor", TypeError);
  hide(TypeError.prototype, "toString", named("TypeError"));
  hide(g, "TypeError", TypeError);

  // ---- helpers for transform.ts
  function fieldError(k, cls) { return new IE('Field or method "' + S0(k) + '" does not already exist, and can\'t create it on ' + cls); }
  var SP = S0.prototype, NP = N0.prototype;
  function isIndex(k) { return typeof k === "number" ? k >= 0 && k % 1 === 0 : /^(0|[1-9][0-9]*)$/.test(k); }
  hide(g, "__vardeGet", function (o, k) {
    if (typeof k === "number" && k >= 0 && k % 1 === 0) return o[k];
    var t = typeof o;
    if (typeof k !== "symbol") {
      if (t === "string") { if (isIndex(k) || k in SP) return o[k]; throw fieldError(k, "String"); }
      if (t === "number") { if (k in NP) return o[k]; throw fieldError(k, "Number"); }
      if (t === "object" && o !== null && isView(o) && tagOf(o) !== "DataView") { if (isIndex(k) || k in o) return o[k]; throw fieldError(k, tagOf(o)); }
    }
    return o[k];
  });
  hide(g, "__vardeTransform", h.transform);
  hide(g, "__vardeTypedArg", function (a) {
    if (typeof a === "string") throw new IE("Unsupported first argument of type string");
    return a;
  });
  hide(g, "__vardeSetLength", function (o, v) {
    if (isArray(o)) throw new TypeError("Assignment to a constant");
    if (o !== null && typeof o === "object" && isView(o)) throw fieldError("length", tagOf(o));
    o.length = v;
    return v;
  });
  hide(g, "__vardeStatics", function (C) {
    var skip = { length: 1, name: 1, prototype: 1, arguments: 1, caller: 1 };
    for (var p = gpo(C); p && p !== Function.prototype; p = gpo(p)) {
      var ks = ogopn(p);
      for (var i = 0; i < ks.length; i++) if (!skip[ks[i]] && !OP.hasOwnProperty.call(C, ks[i])) odp(C, ks[i], { value: undefined, writable: true, configurable: true, enumerable: false });
    }
    return C;
  });
  var builtinNames = new PMap(), views = new PMap();
  h.hidden.forEach(function (n) {
    var C = g[n];
    if (!C) return;
    var own = {};
    ogopn(C.prototype).forEach(function (k) { own[k] = 1; });
    builtinNames.set(C, own);
  });
  hide(g, "__vardeProto", function (C) {
    var own = builtinNames.get(C);
    if (!own) return C.prototype;
    var v = views.get(C);
    if (!v) {
      var real = C.prototype;
      v = new Px(real, {
        get: function (t, k) { return typeof k === "string" && own[k] && k !== "toString" && k !== "constructor" ? undefined : RGet(t, k); },
        set: function (t, k, val) { if (typeof k === "string") delete own[k]; return RSet(t, k, val); },
      });
      views.set(C, v);
    }
    return v;
  });

  // ---- typed arrays
  var TAP = gpo(Uint8Array.prototype);
  hide(TAP, "slice", function slice(b, e) { return aslice.call(this, b, e); });
  hide(TAP, "filter", function filter(f, t) { return afilter.call(this, f, t); });
  var tset = TAP.set, tsub = TAP.subarray;
  hide(TAP, "set", function set(src, off) {
    off = off === undefined ? 0 : N0(off) | 0;
    var n = src.length, room = this.length - off;
    if (n <= room) return tset.call(this, src, off);
    for (var i = 0; i < room; i++) this[off + i] = src[i];
  });
  hide(TAP, "subarray", function subarray(b, e) {
    if (e !== undefined && e > this.length)
      throw new IE("subarray(" + b + ", " + e + ") of a " + this.length + "-element array: Espruino returns a view reaching past the end of the buffer (reads give 0), which the simulator does not model; clamp the end");
    return tsub.call(this, b, e);
  });
  delete ArrayBuffer.prototype.slice;
  spo(TAP, new Px(OP, {
    set: function (t, k, v, r) {
      if (typeof k === "string" && r !== null && typeof r === "object" && isView(r) && tagOf(r) !== "DataView" && !(k in r)) throw fieldError(k, tagOf(r));
      return RSet(t, k, v, r);
    },
  }));

  // ---- numbers as text
  function fmt(v) { return typeof v === "number" ? h.fmt(v, 10) : v; }
  function join(sep) {
    var a = [];
    for (var i = 0; i < this.length; i++) { var x = this[i]; apush.call(a, x === undefined || x === null ? "" : fmt(x)); }
    return ajoin.call(a, sep === undefined ? "," : sep);
  }
  hide(Array.prototype, "join", join);
  hide(TAP, "join", join);
  hide(NP, "toString", function toString(radix) {
    var n = N0.prototype.valueOf.call(this);
    var r = radix === undefined ? 10 : N0(radix);
    if (!(r >= 2 && r <= 36)) r = 10;
    return h.fmt(n, r);
  });
  hide(NP, "toFixed", function toFixed(d) { return h.toFixed(N0.prototype.valueOf.call(this), d); });
  function toNumber(v) {
    if (typeof v !== "string") return N0(v);
    if (v === "") return 0;
    var r = h.strToFloat(v);
    return r.end === v.length ? r.value : NaN;
  }
  var N = function Number(v) {
    var n = arguments.length ? toNumber(v) : 0;
    return this instanceof N ? new N0(n) : n;
  };
  ogopn(N0).forEach(function (k) { if (k !== "prototype" && k !== "length" && k !== "name") odp(N, k, Object.getOwnPropertyDescriptor(N0, k)); });
  N.prototype = NP;
  hide(NP, "constructor", N);
  hide(g, "Number", N);
  hide(g, "parseFloat", function parseFloat(s) { return h.strToFloat(S0(s)).value; });
  hide(Math, "round", function round(x) {
    x = +x;
    if (x !== x || x === Infinity || x === -Infinity || (x === 0 && 1 / x < 0)) return x;
    var y = x + (x < 0 ? -0.5 : 0.5);
    var i = y < 0 ? mceil(y) : mfloor(y);
    return i === 0 && y < 0 ? -0 : i;
  });

  // ---- strings
  var Str = function String(v) {
    var s = arguments.length ? (typeof v === "number" ? h.fmt(v, 10) : S0(v)) : "";
    return this instanceof Str ? new S0(s) : s;
  };
  Str.prototype = SP;
  hide(SP, "constructor", Str);
  hide(Str, "fromCharCode", function fromCharCode() {
    var a = [];
    for (var i = 0; i < arguments.length; i++) apush.call(a, N0(arguments[i]) & 255);
    return fcc.apply(null, a);
  });
  ogopn(S0).forEach(function (k) { if (!(k in Str)) odp(Str, k, Object.getOwnPropertyDescriptor(S0, k)); });
  hide(g, "String", Str);
  function ascii(from, to) {
    return function () {
      var s = S0(this), o = "";
      for (var i = 0; i < s.length; i++) { var c = s.charCodeAt(i); o += c >= from && c <= from + 25 ? fcc(c + to - from) : s[i]; }
      return o;
    };
  }
  hide(SP, "toUpperCase", ascii(97, 65));
  hide(SP, "toLowerCase", ascii(65, 97));
  var ssplit = SP.split;
  hide(SP, "split", function split(sep) { return ssplit.call(this, sep); });

  // ---- JSON
  hide(JSON, "stringify", function stringify(v, replacer, space) { return h.stringify(v, space); });
  hide(JSON, "parse", function parse(text) { return h.parse(S0(text), false); });

  // ---- built-in objects are functions on Espruino (typeof E, Math, JSON, process, console: "function")
  var ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor;
  function asFunction(o) {
    var f = () => undefined;
    ownKeys(o).forEach(function (k) { if (k !== "name" && k !== "length") odp(f, k, gopd(o, k)); });
    return f;
  }
  h.asFunction = asFunction;
  hide(g, "Math", asFunction(Math));
  hide(g, "JSON", asFunction(JSON));
  ["E", "process", "console"].forEach(function (n) { if (g[n] && typeof g[n] === "object") g[n] = asFunction(g[n]); });

  // ---- objects
  hide(Object, "defineProperty", function defineProperty(o, k, d) {
    if (d !== null && typeof d === "object" && d.enumerable !== true) {
      var c = {};
      for (var x in d) c[x] = d[x];
      if ("get" in d) c.get = d.get;
      if ("set" in d) c.set = d.set;
      if ("value" in d) c.value = d.value;
      c.enumerable = true;
      d = c;
    }
    return odp(o, k, d);
  });
})`;

/** Installs the semantics into a realm (call before strip.ts removes Proxy, Map and Reflect). */
/** What the JSON writer needs to know about a realm (names of global classes, its Object.prototype). */
export function jsonContext(realm: Realm): JSONContext {
  return {
    globalNameOf: (ctor) => {
      for (const k of Object.getOwnPropertyNames(realm.global)) {
        const d = Object.getOwnPropertyDescriptor(realm.global, k);
        if (d && "value" in d && d.value === ctor) return k;
      }
      return undefined;
    },
    objectToString: realm.intr.Object.prototype.toString,
    objectProto: realm.intr.Object.prototype,
  };
}

/** `onCode` sees the text of every direct eval (the memory estimate reads functions' sources). */
export function installEspruinoSemantics(realm: Realm, hiddenPrototypes: string[], onCode?: (code: string) => void): void {
  const ctx = jsonContext(realm);
  const h = realm.obj({
    fmt: (n: number, radix: number) => espruinoNumberToString(n, radix),
    toFixed: (n: number, d: unknown) => espruinoToFixed(n, Number(d)),
    strToFloat: (s: string) => realm.obj({ ...espruinoStringToFloat(s) }),
    stringify: (v: unknown, space: unknown) => {
      let ws = "";
      if (typeof space === "number") ws = " ".repeat(Math.max(0, Math.min(10, Math.trunc(space))));
      else if (space !== undefined && space !== null) ws = String(space).slice(0, 10);
      const flags = ws ? STRINGIFY_FLAGS | 2 | 4 : STRINGIFY_FLAGS; // ALL_NEWLINES | PRETTY with whitespace
      return espruinoJSON(v, flags, ws || "  ", ctx);
    },
    parse: (text: string, liberal: boolean) => parseInRealm(realm, text, liberal),
    transform: (code: unknown) => {
      if (typeof code !== "string") return code;
      const t = espruinoTransform(code);
      onCode?.(t);
      return t;
    },
  });
  h.hidden = realm.array(hiddenPrototypes);
  (realm.run(SOURCE, "semantics.js") as (h: unknown) => void)(h);
}

/** JSON.parse / Storage.readJSON inside a realm: values and SyntaxErrors of that realm. */
export function parseInRealm(realm: Realm, text: string, liberal: boolean): unknown {
  try {
    return espruinoJSONParse(text, liberal, { array: () => realm.array([]), object: () => realm.obj({}) });
  } catch (e) {
    if (e instanceof JSONSyntax) throw e.cls === "SyntaxError" ? realm.syntaxError(e.message) : realm.error(e.message);
    throw e;
  }
}

/** print()/console.log of one value on Espruino (strings as they are). */
export function printedValue(realm: Realm, v: unknown): string {
  if (typeof v === "string") return v;
  return espruinoJSON(v, PRINT_FLAGS, "  ", jsonContext(realm));
}
