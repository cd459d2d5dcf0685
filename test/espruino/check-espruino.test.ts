// The build's Espruino check (firmware/build/check-espruino.ts) against the real interpreter: every
// construct it rejects really fails (or behaves differently) on Espruino 2v29, and a sample of what it
// accepts really runs there with the same result as on a full JavaScript engine (V8).
// Each snippet is self-contained and evaluates to a value. V8 runs it (proving it is valid, working
// JavaScript); the nrf52 interpreter runs it inside eval() in its own function (so a syntax error stays
// one snippet's); the outputs are compared.
import vm from "node:vm";
import { beforeAll, expect, it } from "vitest";
import { findEspruinoProblems } from "../../firmware/build/check-espruino.ts";
import { describeEspruino, EspruinoSandbox, jsString } from "../support/espruino.ts";

/** [construct, snippet, what the checker says] — the checker rejects these and Espruino must fail them */
const REJECTED: Array<[string, string, RegExp]> = [
  ["object destructuring", "var o = {a: 1}; var {a} = o; a", /destructuring/],
  ["array destructuring", "var [x, y] = [1, 2]; x + y", /destructuring/],
  ["destructuring parameter", "function f({a}) { return a; } f({a: 3})", /destructuring/],
  ["for-of destructuring", "var s = 0; for (const [k, v] of [[1, 2]]) s += k + v; s", /destructuring/],
  ["default parameter", "function f(a, b = 2) { return a + b; } f(1)", /default parameter/],
  ["rest parameter", "function f(...r) { return r.length; } f(1, 2)", /rest parameter/],
  ["spread call", "function f(a, b) { return a + b; } f(...[1, 2])", /spread/],
  ["array spread", "var a = [1, ...[2, 3]]; a.length", /spread/],
  ["object spread", "var p = {a: 1}; var o = {...p}; o.a", /spread/],
  ["optional chaining", "var a = {b: 1}; a?.b", /optional chaining/],
  ["optional call", "var a = {b: function () { return 2; }}; a.b?.()", /optional chaining/],
  ["??=", "var a = null; a ??= 1; a", /logical assignment \?\?=/],
  ["||=", "var a = 0; a ||= 1; a", /logical assignment \|\|=/],
  ["&&=", "var a = 1; a &&= 2; a", /logical assignment &&=/],
  ["**", "2 ** 3", /exponent operator/],
  ["**=", "var x = 2; x **= 3; x", /exponent assignment/],
  ["async function", "async function f() { return 1; } typeof f", /async function/],
  ["await", "async function f() { await 1; } typeof f", /await/],
  ["generator", "function* g() { yield 1; } g().next().value", /generator/],
  ["label", "var n = 0; outer: for (;;) { n++; break outer; } n", /label outer:/],
  ["computed key", "var k = 'x'; var o = {[k]: 1}; o.x", /computed key/],
  ["tagged template", "function tag(s, v) { return [s.length, v]; } tag`a${1}b`", /tagged template/],
  ["private field", "class A { #x = 1; get() { return this.#x; } } new A().get()", /private member #x/],
  ["class static block", "class A { static { A.x = 1; } } A.x", /class static block/],
  ["class extends Error", "class E2 extends Error {} var e = new E2('m'); [e instanceof E2, e instanceof Error, String(e)]", /class extends Error/],
  ["new.target", "function F() { return new.target === F; } new F() && 1", /new\.target/],
  ["Map", "new Map([[1, 2]]).size", /Map \(missing/],
  ["Set", "new Set([1, 1]).size", /Set \(missing/],
  ["WeakMap", "typeof new WeakMap()", /WeakMap/],
  ["Symbol", "typeof Symbol('x')", /Symbol/],
  ["Proxy", "typeof new Proxy({}, {})", /Proxy/],
  ["Reflect", "Reflect.ownKeys({a: 1}).length", /Reflect/],
  ["BigInt()", "typeof BigInt(1)", /BigInt/],
  ["BigInt literal", "typeof 10n", /BigInt literal/],
  ["TextEncoder", "new TextEncoder().encode('a').length", /TextEncoder/],
  ["queueMicrotask", "queueMicrotask(function () {}); 1", /queueMicrotask/],
  ["setImmediate", "typeof setImmediate", /setImmediate/],
  ["RangeError", "new RangeError('x') instanceof Error", /RangeError/],
  ["Array.from", "Array.from([1, 2]).length", /Array\.from/],
  ["Array.of", "Array.of(1, 2).length", /Array\.of/],
  ["Uint8Array.from", "Uint8Array.from([1]).length", /Uint8Array\.from/],
  ["Object.freeze", "Object.freeze({a: 1}).a", /Object\.freeze/],
  ["Object.is", "Object.is(1, 1)", /Object\.is/],
  ["Object.hasOwn", "Object.hasOwn({a: 1}, 'a')", /Object\.hasOwn/],
  ["Number.isInteger", "Number.isInteger(1)", /Number\.isInteger/],
  ["Number.MAX_SAFE_INTEGER", "Number.MAX_SAFE_INTEGER > 0", /Number\.MAX_SAFE_INTEGER/],
  ["Date.UTC", "Date.UTC(2020, 1, 1) > 0", /Date\.UTC/],
  ["Math.trunc", "Math.trunc(1.5)", /Math\.trunc/],
  ["Math.imul", "Math.imul(3, 4)", /Math\.imul/],
  ["String.fromCodePoint", "String.fromCodePoint(65)", /String\.fromCodePoint/],
  ["String.raw", "String.raw`a\\nb`.length", /String\.raw|tagged template/],
  ["Promise.race", "typeof Promise.race([])", /Promise\.race/],
  [".finally()", "typeof Promise.resolve(1).finally(function () {})", /\.finally\(\)/],
  ["Array.prototype.x.call", "Array.prototype.slice.call([1, 2]).length", /Array\.prototype/],
  [".at()", "[1, 2].at(-1)", /\.at\(\)/],
  [".flat()", "[[1], [2]].flat().length", /\.flat\(\)/],
  [".findLast()", "[1, 2].findLast(function (x) { return x < 2; })", /\.findLast\(\)/],
  ["array lastIndexOf", "var a = [1, 2, 1]; a.lastIndexOf(1)", /\.lastIndexOf\(\)/],
  [".trimStart()", "' a'.trimStart()", /\.trimStart\(\)/],
  ["array iterator", "var s = 0; for (var k of [5, 6].keys()) s += k; s", /iterator/],
  ["closure over a for-let variable", "var fs = []; for (let i = 0; i < 3; i++) fs.push(function () { return i; }); fs[0]()", /closure over loop variable i/],
  ["arrow over a for-of const", "var fs = []; for (const x of [1, 2]) fs.push(() => x); fs[0]()", /closure over loop variable x/],
  ["\\u{...} in a string", '"\\u{41}"', /\\u\{\.\.\.\} escape/],
  ["\\u{...} in a template", "`a\\u{41}`", /\\u\{\.\.\.\} escape/],
  ["a character above 0xFF", '"\\u2265".charCodeAt(0)', /character U\+2265/],
  ["BYTES_PER_ELEMENT", "Uint8Array.BYTES_PER_ELEMENT", /BYTES_PER_ELEMENT/],
  ["array length assignment", "var a = [1, 2]; a.length = 0; a.length", /assignment to \.length/],
];

/** a sample of what the checker accepts: Espruino must give V8's result */
const ACCEPTED: Array<[string, string]> = [
  ["let and const", "let a = 1; const b = 2; { let a = 5; } a + b"],
  ["arrow keeps this", "var o = {v: 4, f: function () { return (() => this.v)(); }}; o.f()"],
  ["class, extends, super, getter, static", "class A { constructor(x) { this.x = x; } get d() { return this.x * 2; } static s() { return 7; } } class B extends A { constructor() { super(3); } m() { return super.constructor === A; } } [new B().d, A.s(), new B().m()]"],
  ["template literal", "var n = 2; `n=${n + 1}`"],
  ["for-of over an array and a typed array", "var s = 0; for (var x of [1, 2]) s += x; for (var y of new Uint8Array([3])) s += y; s"],
  ["for-in", "var k = []; for (var p in {a: 1, b: 2}) k.push(p); k.join()"],
  ["nullish ??", "var z = null; z ?? 5"],
  ["catch without a binding", "var r = 0; try { throw 1; } catch { r = 2; } r"],
  ["shorthand and methods", "var v = 3; var o = {v, m() { return this.v + 1; }}; o.m()"],
  ["[].slice.call", "[].slice.call([1, 2, 3], 1).length"],
  ["string helpers", "['ab'.padStart(4, '0'), 'a'.repeat(3), 'abc'.includes('b'), 'a-b'.replaceAll('-', '+')]"],
  ["Object helpers", "var o = {a: 1, b: 2}; [Object.keys(o).length, Object.values(o)[1], Object.entries(o)[0][0], Object.assign({}, o).b]"],
  ["typed arrays and DataView", "var u = new Uint8Array([1, 2, 3, 4]); var d = new DataView(u.buffer); [u.subarray(1, 3).length, d.getUint16(0), d.getUint32(0, true)]"],
  ["Math.pow and friends", "[Math.pow(2, 10), Math.floor(-1.5), Math.max(1, 3)]"],
  ["\\uXXXX up to 0xFF", '"\\u00e9".charCodeAt(0)'],
  ["string lastIndexOf", "'a,b,c'.lastIndexOf(',')"],
  ["JSON round trip", "JSON.parse(JSON.stringify({a: [1, 'x', null]})).a[1]"],
  ["closure over a var loop variable", "var fs = []; for (var i = 0; i < 3; i++) fs.push(function () { return i; }); fs[0]()"],
  ["for-let without closures", "var s = 0; for (let i = 0; i < 3; i++) s += i; s"],
];

const RUNNER = `function __t(n, c) {
  try { var r = (function () { return eval(c); })(); print("@@" + n + " OK " + JSON.stringify(r)); }
  catch (e) { print("@@" + n + " ERR"); }
}
`;

function program(snippets: Array<[string, string]>): string {
  return RUNNER + snippets.map(([n, c]) => `__t(${jsString(n)}, ${jsString(c)});`).join("\n") + "\n";
}

function results(output: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of output.split("\n")) {
    const r = /^@@(.*) (OK .*|ERR)$/.exec(line);
    if (r) m.set(r[1], r[2]);
  }
  return m;
}

/** the snippets on V8 (plain Node vm, not the simulator) */
function onV8(snippets: Array<[string, string]>): Map<string, string> {
  let out = "";
  // the Node globals a firmware might reach for (V8 alone does not have them)
  vm.runInNewContext(program(snippets), { print: (s: string) => (out += s + "\n"), TextEncoder, queueMicrotask, setImmediate });
  return results(out);
}

const ALL: Array<[string, string]> = [...REJECTED.map(([n, c]) => [n, c] as [string, string]), ...ACCEPTED];

it("the checker rejects each construct of the table and accepts the sample", () => {
  for (const [name, code, re] of REJECTED) {
    const found = findEspruinoProblems(code).map((p) => p.construct).join("\n");
    expect(found, `${name}: ${code}`).toMatch(re);
  }
  for (const [name, code] of ACCEPTED) expect(findEspruinoProblems(code), `${name}: ${code}`).toEqual([]);
});

it("every snippet is valid JavaScript that works on V8", () => {
  const v8 = onV8(ALL);
  for (const [name] of ALL) expect(v8.get(name), name).toMatch(/^OK /);
});

describeEspruino("the Espruino check against the real interpreter", () => {
  let real: Map<string, string>;
  let v8: Map<string, string>;
  beforeAll(async () => {
    v8 = onV8(ALL);
    const box = await EspruinoSandbox.create("nrf52");
    try {
      const r = await box.run(program(ALL));
      real = results(r.output);
    } finally {
      await box.dispose();
    }
  }, 120_000);

  for (const [name, code] of REJECTED) {
    it(`rejected: ${name} really fails or differs on Espruino`, () => {
      expect(real.get(name), `${code} did not run on the interpreter`).toBeDefined();
      expect(real.get(name), `${code} gives V8's result on Espruino: the checker should accept it`).not.toBe(v8.get(name));
    });
  }
  for (const [name, code] of ACCEPTED) {
    it(`accepted: ${name} runs on Espruino as on V8`, () => {
      expect(real.get(name), code).toBe(v8.get(name));
    });
  }
});
