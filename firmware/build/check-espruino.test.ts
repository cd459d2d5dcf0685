import { describe, it, expect } from "vitest";
import { findEspruinoProblems, checkEspruino, EspruinoCheckError } from "./check-espruino.ts";

const bad: Array<[string, string, RegExp]> = [
  ["object destructuring", "var o={a:1};var {a}=o;", /destructuring/],
  ["array destructuring", "var [x,y]=[1,2];", /destructuring/],
  ["destructuring parameter", "function f({a}){return a}", /destructuring/],
  ["for-of destructuring", "for (const [k,v] of [[1,2]]) print(k)", /destructuring/],
  ["default parameter", "function f(a,b=2){return a+b}", /default parameter/],
  ["rest parameter", "function f(...r){return r}", /rest parameter/],
  ["spread call", "f(...[1,2])", /spread/],
  ["object spread", "var o={...p}", /spread/],
  ["optional chaining", "var x=a?.b", /optional chaining/],
  ["optional call", "a.b?.()", /optional chaining/],
  ["??=", "a??=1", /logical assignment \?\?=/],
  ["||=", "a||=1", /logical assignment/],
  ["**", "var x=2**3", /exponent operator/],
  ["**=", "x**=3", /exponent assignment/],
  ["async", "async function f(){}", /async function/],
  ["await", "async function f(){await g()}", /await/],
  ["generator", "function* g(){yield 1}", /generator/],
  ["label", "a: for(;;){break a}", /label a:/],
  ["computed key", "var o={[k]:1}", /computed key/],
  ["tagged template", "tag`x`", /tagged template/],
  ["private field", "class A{#x=1; get(){return this.#x}}", /private member #x/],
  ["extends Error", "class E2 extends Error{}", /class extends Error/],
  ["new.target", "function F(){return new.target}", /new\.target/],
  ["new Map()", "var m=new Map()", /Map \(missing on Espruino\)/],
  ["Set", "var s=new Set([1])", /Set \(missing/],
  ["Symbol", "var s=Symbol('x')", /Symbol/],
  ["WeakMap", "new WeakMap()", /WeakMap/],
  ["Proxy/Reflect/BigInt", "new Proxy({}, {});Reflect.ownKeys({});BigInt(1)", /Proxy/],
  ["Array.from", "var a=Array.from([1])", /Array\.from/],
  ["Uint8Array.from", "Uint8Array.from([1])", /Uint8Array\.from/],
  ["Object.freeze", "Object.freeze({})", /Object\.freeze/],
  ["Number.isInteger", "Number.isInteger(1)", /Number\.isInteger/],
  ["Date.UTC", "Date.UTC(2020,1,1)", /Date\.UTC/],
  ["Math.trunc", "Math.trunc(1.5)", /Math\.trunc/],
  ["TextEncoder", "new TextEncoder()", /TextEncoder/],
  ["queueMicrotask", "queueMicrotask(f)", /queueMicrotask/],
  ["setImmediate", "setImmediate(f)", /setImmediate/],
  ["Promise.race", "Promise.race([])", /Promise\.race/],
  [".finally", "p.finally(f)", /\.finally\(\)/],
  ["prototype call", "Array.prototype.slice.call(arguments)", /Array\.prototype/],
  [".at(", "[1].at(-1)", /\.at\(\)/],
  [".flat(", "[[1]].flat()", /\.flat\(\)/],
  ["array lastIndexOf", "[1,2].lastIndexOf(x)", /\.lastIndexOf\(\)/],
  ["array iterator", "for (var k of a.keys()) print(k)", /iterator/],
  ["unknown module", "require('fs')", /require\("fs"\)/],
  ["BigInt literal", "var b=10n", /BigInt literal/],
  ["closure over a for-let variable", "for (let i = 0; i < 3; i++) setTimeout(function () { print(i); }, 10);", /closure over loop variable i/],
  ["arrow over a for-of const", "for (const x of a) fs.push(() => x);", /closure over loop variable x/],
  ["\\u{...} in a string", 'var s = "\\u{1F600}";', /\\u\{\.\.\.\} escape \(Espruino: Invalid escape sequence\)/],
  ["\\u{...} in a template", "var s = `x\\u{41}${1}`;", /\\u\{\.\.\.\} escape/],
  ["a character above 0xFF (esbuild writes non-ASCII text as \\uXXXX)", 'var s = "\\u2265 5";', /character U\+2265 in a string .*low byte, 0x65/],
  ["BYTES_PER_ELEMENT", "var n = Uint8Array.BYTES_PER_ELEMENT;", /BYTES_PER_ELEMENT/],
  ["array length assignment", "q.length = 0;", /assignment to \.length/],
];

describe("checkEspruino", () => {
  for (const [name, code, re] of bad) {
    it("fails on " + name, () => {
      const problems = findEspruinoProblems(code);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.map((p) => p.construct).join("\n")).toMatch(re);
    });
  }

  it("gives line:column, the construct and the fix in the error", () => {
    let err: unknown;
    try {
      checkEspruino("var ok = 1;\nvar m = new Map();", "test.js");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EspruinoCheckError);
    expect((err as Error).message).toMatch(/test\.js: 1 construct/);
    expect((err as Error).message).toMatch(/2:13 Map \(missing on Espruino\) — use a plain object/);
  });

  it("passes the subset Espruino runs", () => {
    const ok = `
      (function(){
        "use strict";
        let a = 1; const b = () => a; var s = \`x\${a}\`;
        class A { x = 1; static y = 2; get z() { return this.x; } m() { return super.toString; } }
        class B extends A { constructor() { super(); } }
        for (const c of [1,2]) a += c;
        for (var k in {p:1}) a++;
        var n = null ?? 1;
        try { throw new Error("e"); } catch { a = 0; }
        var o = { a, m() { return 1; }, get g() { return 2; } };
        Object.keys(o); Object.entries(o); Object.values(o); Object.assign({}, o);
        [1].find(function(x){ return x; }); [1].includes(1); "ab".padStart(3); [].slice.call(o);
        new Uint8Array(4).fill(0).subarray(1); new DataView(new ArrayBuffer(4)).getUint32(0);
        Math.pow(2, 3); Promise.all([Promise.resolve(1)]).then(function(){}).catch(function(){});
        require("Storage").read("x"); require("crypto").SHA256("x");
        var Map2 = 1; o.Map = 2; var q = { Set: 1 };
        "a,b".lastIndexOf(",", 2);
        var u = "\\u00e9\\x41\\\\u{41}", n = q.length;
        for (let i = 0; i < 3; i++) { var f = function (j) { return j; }; f(i); }
        for (let e = 0; e < 3; e++) [1].forEach(function (e) { print(e); });
        for (var v = 0; v < 3; v++) setTimeout(function () { print(v); }, 1);
      })();`;
    expect(findEspruinoProblems(ok)).toEqual([]);
  });

  it("reports a syntax error as a problem", () => {
    expect(findEspruinoProblems("var = ;")[0].construct).toMatch(/unparseable/);
  });
});
