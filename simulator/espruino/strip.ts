// Removes from a fresh vm context what Espruino 2v29 does not have (docs/espruino.md, the
// "fails"/"missing" columns), so a bundle that reaches for it fails loudly in the simulator as it
// would on the device: `new Map()` -> ReferenceError "Map is not defined", `Array.from(x)` ->
// TypeError "Array.from is not a function". Engine internals keep their own references (for...of still
// works through the internal iterator symbol), only the names a program can reach are deleted.
import vm from "node:vm";

/** global bindings Espruino lacks */
export const MISSING_GLOBALS = [
  "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Symbol", "Proxy", "Reflect", "BigInt",
  "BigInt64Array", "BigUint64Array", "TextEncoder", "TextDecoder", "queueMicrotask", "setImmediate",
  "clearImmediate", "structuredClone", "SharedArrayBuffer", "Atomics", "WebAssembly", "Intl",
  "RangeError", "EvalError", "URIError", "AggregateError", "escape", "unescape",
];

/** static and prototype members Espruino lacks, as "Owner.member"; "%TypedArray%" is the typed arrays' parent */
export const MISSING_MEMBERS = [
  "Array.from", "Array.of",
  "Array.prototype.at", "Array.prototype.flat", "Array.prototype.flatMap", "Array.prototype.findLast",
  "Array.prototype.findLastIndex", "Array.prototype.lastIndexOf", "Array.prototype.reduceRight",
  "Array.prototype.copyWithin", "Array.prototype.keys", "Array.prototype.values", "Array.prototype.entries",
  "Array.prototype.toReversed", "Array.prototype.toSorted", "Array.prototype.toSpliced", "Array.prototype.with",
  "%TypedArray%.from", "%TypedArray%.of",
  "%TypedArray%.prototype.at", "%TypedArray%.prototype.findLast", "%TypedArray%.prototype.findLastIndex",
  "%TypedArray%.prototype.lastIndexOf", "%TypedArray%.prototype.reduceRight", "%TypedArray%.prototype.copyWithin",
  "%TypedArray%.prototype.keys", "%TypedArray%.prototype.values", "%TypedArray%.prototype.entries",
  "%TypedArray%.prototype.toReversed", "%TypedArray%.prototype.toSorted", "%TypedArray%.prototype.with",
  "Object.freeze", "Object.seal", "Object.is", "Object.hasOwn", "Object.isFrozen", "Object.isSealed",
  "Object.groupBy",
  "Number.isInteger", "Number.isFinite", "Number.isNaN", "Number.isSafeInteger", "Number.parseInt",
  "Number.parseFloat", "Number.EPSILON", "Number.MAX_SAFE_INTEGER", "Number.MIN_SAFE_INTEGER",
  "Date.UTC", "Date.prototype.setUTCHours", "Date.prototype.toLocaleString", "Date.prototype.toLocaleDateString",
  "Date.prototype.toLocaleTimeString",
  "Math.trunc", "Math.log2", "Math.log10", "Math.hypot", "Math.imul", "Math.clz32", "Math.fround",
  "Math.sinh", "Math.cosh", "Math.tanh", "Math.asinh", "Math.acosh", "Math.atanh", "Math.cbrt", "Math.expm1",
  "Math.log1p",
  "String.raw", "String.fromCodePoint",
  "String.prototype.trimStart", "String.prototype.trimEnd", "String.prototype.trimLeft", "String.prototype.trimRight",
  "String.prototype.codePointAt", "String.prototype.normalize", "String.prototype.localeCompare",
  "String.prototype.matchAll", "String.prototype.at", "String.prototype.isWellFormed", "String.prototype.toWellFormed",
  "Promise.race", "Promise.allSettled", "Promise.any", "Promise.withResolvers", "Promise.prototype.finally",
];

const STRIP_SOURCE = `(function (globals, members) {
  var g = globalThis;
  var TA = Object.getPrototypeOf(Uint8Array);
  for (var i = 0; i < members.length; i++) {
    var path = members[i].split(".");
    var owner = path[0] === "%TypedArray%" ? TA : g[path[0]];
    for (var j = 1; j < path.length - 1 && owner; j++) owner = owner[path[j]];
    if (owner) delete owner[path[path.length - 1]];
  }
  for (var k = 0; k < globals.length; k++) delete g[globals[k]];
  // Number's constants (EPSILON, MAX_SAFE_INTEGER...) cannot be deleted, so Number itself is replaced by
  // a function with only the members Espruino has; number literals keep working through the engine.
  var N0 = Number;
  var N = function Number(v) {
    var n = arguments.length ? N0(v) : 0;
    return this instanceof N ? new N0(n) : n;
  };
  N.prototype = N0.prototype;
  ["MAX_VALUE", "MIN_VALUE", "NaN", "POSITIVE_INFINITY", "NEGATIVE_INFINITY"].forEach(function (k) { N[k] = N0[k]; });
  g.Number = N;
})`;

/** Deletes the missing names inside `ctx`. Run it after everything that needs them is set up. */
export function stripMissing(ctx: vm.Context): void {
  const fn = vm.runInContext(STRIP_SOURCE, ctx) as (g: string[], m: string[]) => void;
  fn(MISSING_GLOBALS, MISSING_MEMBERS);
}
