// Language traps of Espruino 2v29 (docs/espruino.md).

//# for let has no per-iteration binding
var fs = [];
for (let i = 0; i < 3; i++) fs.push(function () { return i; });
show(fs.map(function (f) { return f(); }));

//# for of let has no per-iteration binding
var fo = [];
for (let x of [1, 2, 3]) fo.push(function () { return x; });
show(fo.map(function (f) { return f(); }));

//# for in const has no per-iteration binding
var fi = [];
for (const k in { a: 1, b: 2 }) fi.push(function () { return k; });
show(fi.map(function (f) { return f(); }));

//# let in a block is block scoped
let outer = 1;
{ let outer = 2; show(outer); }
show(outer);

//# static methods are not inherited
class A { static f() { return 1; } g() { return 2; } }
class B extends A {}
show(typeof B.f, new B().g(), A.f());

//# class getters setters super and fields
class P { constructor(x) { this.x = x; } get dbl() { return this.x * 2; } set dbl(v) { this.x = v / 2; } m() { return "P" + this.x; } }
class Q extends P { constructor() { super(5); this.y = 1; } m() { return "Q" + super.m(); } }
var q = new Q();
q.dbl = 8;
show(q.dbl, q.m(), q.y, q instanceof P, Object.keys(q));

//# Array.prototype.slice.call throws
Array.prototype.slice.call([1, 2]);

//# [].slice.call works
show([].slice.call([1, 2, 3], 1));

//# slice.call on a typed array gives an Array
var sl = [].slice.call(new Uint8Array([1, 2]));
show(Array.isArray(sl), sl);

//# arguments object
function args() { return [arguments.length, arguments[1]]; }
show(args(1, 2, 3));

//# arrow functions keep this
var obj = { v: 4, f: function () { var g = () => this.v; return g(); } };
show(obj.f());

//# nullish coalescing and template literals
var z = null;
var w = 0;
show(z ?? "d", w ?? "d", `a${1 + 1}b`, `multi
line`);

//# object literal shorthand getters and methods
var val = 3;
var ol = { val, get twice() { return this.val * 2; }, m() { return "m"; } };
show(ol.val, ol.twice, ol.m(), Object.keys(ol));

//# typeof of missing globals
var names = ["Map", "Set", "WeakMap", "WeakSet", "Symbol", "Proxy", "Reflect", "BigInt", "TextEncoder", "TextDecoder", "queueMicrotask", "setImmediate", "RangeError", "Promise", "DataView", "ArrayBuffer", "Uint8ClampedArray", "Float64Array", "E", "require", "process", "print", "console", "atob", "btoa", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "changeInterval", "setWatch", "clearWatch", "digitalWrite", "digitalRead", "pinMode", "analogRead", "getTime", "setTime", "Serial1", "LoopbackA", "LoopbackB", "globalThis", "eval", "Function", "Boolean", "RegExp", "Date", "Math", "JSON", "Object", "Array", "String", "Number", "parseInt", "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent", "escape"];
var out = [];
for (var i = 0; i < names.length; i++) out.push(names[i] + ":" + eval("typeof " + names[i]));
show(out.join(" "));

//# missing and present static members
var members = ["Array.from", "Array.of", "Array.isArray", "Object.freeze", "Object.seal", "Object.is", "Object.hasOwn", "Object.keys", "Object.values", "Object.entries", "Object.fromEntries", "Object.assign", "Object.defineProperty", "Object.getPrototypeOf", "Object.setPrototypeOf", "Object.create", "Object.getOwnPropertyNames", "Object.getOwnPropertyDescriptor",
  "Number.isInteger", "Number.isFinite", "Number.isNaN", "Number.isSafeInteger", "Number.parseInt", "Number.parseFloat", "Number.EPSILON", "Number.MAX_SAFE_INTEGER", "Number.MAX_VALUE", "Number.MIN_VALUE", "Number.NaN", "Number.POSITIVE_INFINITY", "Number.NEGATIVE_INFINITY",
  "Math.trunc", "Math.log2", "Math.log10", "Math.hypot", "Math.imul", "Math.clz32", "Math.fround", "Math.sinh", "Math.cbrt", "Math.sign", "Math.pow", "Math.sqrt", "Math.random", "Math.log", "Math.exp", "Math.atan2", "Math.PI", "Math.E", "Math.LN2", "Math.LN10",
  "String.fromCharCode", "String.fromCodePoint", "String.raw", "Date.now", "Date.parse", "Date.UTC", "Promise.all", "Promise.resolve", "Promise.reject", "Promise.race", "Promise.allSettled", "Promise.any", "JSON.parse", "JSON.stringify", "Uint8Array.from", "Uint8Array.of", "Uint8Array.BYTES_PER_ELEMENT"];
var mo = [];
for (var j = 0; j < members.length; j++) mo.push(members[j] + ":" + eval("typeof " + members[j]));
show(mo.join(" "));

//# missing and present instance members
var inst = { "[]": [], "''": "", "u8": new Uint8Array(1), "{}": {}, "date": new Date(0), "num": 5, "fn": function () {}, "promise": Promise.resolve(1), "ab": new ArrayBuffer(1) };
var im = {
  "[]": ["at", "flat", "flatMap", "findLast", "findLastIndex", "lastIndexOf", "reduceRight", "copyWithin", "keys", "values", "entries", "find", "findIndex", "includes", "some", "every", "fill", "map", "filter", "reduce", "forEach", "indexOf", "join", "slice", "splice", "concat", "sort", "reverse", "shift", "unshift", "pop", "push", "toString"],
  "''": ["trimStart", "trimEnd", "codePointAt", "normalize", "localeCompare", "matchAll", "at", "padStart", "padEnd", "repeat", "startsWith", "endsWith", "includes", "replaceAll", "trim", "split", "substr", "substring", "slice", "indexOf", "lastIndexOf", "charAt", "charCodeAt", "toUpperCase", "toLowerCase", "replace", "match", "concat"],
  "u8": ["at", "findLast", "lastIndexOf", "reduceRight", "copyWithin", "keys", "values", "entries", "set", "subarray", "fill", "map", "filter", "slice", "forEach", "indexOf", "join", "reverse", "sort", "includes", "find", "findIndex", "some", "every", "reduce"],
  "{}": ["hasOwnProperty", "toString", "valueOf", "isPrototypeOf", "propertyIsEnumerable"],
  "date": ["setUTCHours", "toLocaleString", "toLocaleDateString", "toLocaleTimeString", "getTime", "toISOString", "getFullYear", "getHours", "setHours", "getTimezoneOffset", "toUTCString", "getUTCHours", "valueOf", "setTime"],
  "num": ["toFixed", "toString", "toPrecision", "toExponential"],
  "fn": ["call", "apply", "bind"],
  "promise": ["then", "catch", "finally"],
  "ab": ["slice"],
};
var ks = Object.keys(im);
for (var a = 0; a < ks.length; a++) {
  var line = [];
  for (var b = 0; b < im[ks[a]].length; b++) line.push(im[ks[a]][b] + ":" + typeof inst[ks[a]][im[ks[a]][b]]);
  show(ks[a] + " " + line.join(" "));
}

//# Object helpers
var src = { a: 1, b: 2 };
show(Object.keys(src), Object.values(src), Object.entries(src), Object.assign({ c: 3 }, src), Object.fromEntries([["x", 1]]));

//# defineProperty with enumerable false is ignored
var dp = {};
Object.defineProperty(dp, "h", { value: 1, enumerable: false });
show(Object.keys(dp), dp.h);

//# delete and in
var del = { a: 1, b: 2 };
delete del.a;
show("a" in del, "b" in del, Object.keys(del));

//# Array methods the firmware uses
var arr = [3, 1, 2];
show(arr.find(function (x) { return x > 1; }), arr.findIndex(function (x) { return x > 5; }), arr.includes(2), arr.some(function (x) { return x > 2; }), arr.every(function (x) { return x > 0; }), [0, 0].fill(7), arr.slice().sort(), arr.indexOf(2), arr.join("+"), arr.concat([4], 5));

//# Array splice shift unshift
var sp = [1, 2, 3, 4];
var rem = sp.splice(1, 2, "x");
sp.unshift(0);
var sh = sp.shift();
show(rem, sp, sh, sp.pop(), sp.length);

//# Array length assignment
var al = [1, 2, 3];
al.length = 1;
show(al, al.length);

//# sort is not stable by default comparator on numbers
show([10, 9, 1].sort(), [10, 9, 1].sort(function (a, b) { return a - b; }));

// (Not compared: when a then() callback runs. On Espruino promise reactions are queued as events that run
// after the timers already due: Promise.resolve().then(f) and setTimeout(g, 0) give g, then f. V8 runs
// them as microtasks right after the current code, and the simulator keeps that. The firmware uses no
// Promise.)

//# Promise.all and rejection handlers [async]
Promise.all([Promise.resolve(1), new Promise(function (res) { setTimeout(function () { res(2); }, 5); })]).then(function (v) {
  show(v);
  return Promise.reject(new Error("r"));
}).catch(function (e) { show("caught", e.message); done(); });

//# getters on prototypes via Object.defineProperty
function K() {}
Object.defineProperty(K.prototype, "g", { get: function () { return 9; } });
show(new K().g);

//# eval of code
show(eval("1 + 2"), eval("var ev = 3; ev * 2"));

//# new Function
var nf = new Function("a", "b", "return a + b");
show(nf(1, 2));
