// Espruino semantics that V8 cannot be configured for, applied to the program's source before it runs
// (boot code from flash: .boot0-3, .bootcde). Each rewrite reproduces what Espruino 2v29 does, as measured
// on the real interpreter (test/espruino/conformance/*.js):
//
//  1. `for (let|const x ...)` (for;;, for-of, for-in) has NO per-iteration binding: closures made in the
//     loop all see the last value.  for (let i = 0; ...) B  ->  {let i; for (i = 0; ...) B}
//  2. Strings are 8-bit: a \uXXXX escape keeps the low 8 bits ("\u2265" is "e", 0x65).  String
//     literals and template text with characters above 0xFF are rewritten with those bytes.
//  3. Number literals with "." or an exponent are parsed digit by digit (numbers.ts espruinoStringToFloat),
//     not correctly rounded: 123.456e10 is 1234559999999.9998 on the device.
//  4. Static members are not inherited: `class B extends A {}` leaves B.f undefined.
//  5. Built-in prototypes hold no methods as values: Array.prototype.slice is undefined (while
//     [].slice works), so Array.prototype.slice.call(x) throws. `Builtin.prototype` -> a view that shows
//     only what the program added.
//  6. `array.length = n` throws TypeError "Assignment to a constant"; on a typed array an Error.
//  8. Typed arrays have no BYTES_PER_ELEMENT (V8's cannot be deleted): `X.BYTES_PER_ELEMENT` reads give
//     undefined; `new Uint8Array("abc")` throws (V8 gives an empty array).
//  7. Reading a missing member through [] on a string, a number or a typed array throws
//     ('Field or method "foo" does not already exist, and can't create it on String'); a static read
//     ("abc".foo) gives undefined. `o[k]` reads become __vardeGet(o, k) (a fast path for integer keys).
// The helpers are installed by semantics.ts. Code that does not parse (acorn, latest ECMAScript) runs
// unchanged. Code given to a direct eval() is rewritten when it runs; `new Function(...)` code is not.
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { espruinoStringToFloat } from "./numbers.ts";

export const HELPERS = {
  get: "__vardeGet",
  setLength: "__vardeSetLength",
  statics: "__vardeStatics",
  proto: "__vardeProto",
  typedArg: "__vardeTypedArg",
  transform: "__vardeTransform",
} as const;

const TYPED_ARRAYS = ["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray"];

/** globals whose .prototype hides its built-in methods on Espruino (Object, Boolean and Error keep theirs) */
export const HIDDEN_PROTOTYPES = [
  "Array", "String", "Number", "Function", "ArrayBuffer", "DataView", "Date", "RegExp", "Promise",
  "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray",
];

interface Edit {
  at: number;
  end: number;
  text: string;
  /** order among edits at the same position: lower first in the output */
  seq: number;
}

type N = acorn.Node & Record<string, any>;

const cache = new Map<string, string>();
const CACHE_MAX = 16;

function byteString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(s.charCodeAt(i) & 0xff);
  return out;
}

function quoted(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}

function templateRaw(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x60) out += "\\`";
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x24 && s[i + 1] === "{") out += "\\$";
    else if ((c >= 0x20 && c < 0x7f) || c === 10) out += s[i];
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out;
}

/** Rewrites `code` (see the header). Cached: a bundle booted many times is parsed once. */
export function espruinoTransform(code: string): string {
  const hit = cache.get(code);
  if (hit !== undefined) return hit;
  let out = code;
  try {
    out = rewrite(code);
  } catch {
    out = code;
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(code, out);
  return out;
}

function rewrite(code: string): string {
  const ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true, allowHashBang: true }) as N;
  const edits: Edit[] = [];
  let seq = 0;
  const insert = (at: number, text: string) => edits.push({ at, end: at, text, seq: seq++ });
  const replace = (at: number, end: number, text: string) => edits.push({ at, end, text, seq: seq++ });
  const find = (ch: string, from: number) => {
    const i = code.indexOf(ch, from);
    if (i < 0) throw new Error("transform: lost " + ch);
    return i;
  };

  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const n = node as N;
    const parent = ancestors[ancestors.length - 2] as N | undefined;
    switch (n.type) {
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        const decl = (n.type === "ForStatement" ? n.init : n.left) as N | null;
        if (!decl || decl.type !== "VariableDeclaration" || decl.kind === "var") break;
        const names: string[] = [];
        for (const d of decl.declarations as N[]) if (d.id.type === "Identifier") names.push(d.id.name);
        if (names.length !== decl.declarations.length) break; // destructuring: rejected by the build check
        const outer = parent && parent.type === "LabeledStatement" ? parent : n;
        insert(outer.start, "{let " + names.join(",") + ";");
        replace(decl.start, decl.start + decl.kind.length, "");
        insert(outer.end, "}");
        break;
      }
      case "Literal": {
        if (typeof n.value === "string" && /[^\x00-\xff]/.test(n.value)) replace(n.start, n.end, quoted(byteString(n.value)));
        else if (typeof n.value === "number" && /^[0-9.]/.test(n.raw) && /[.eE]/.test(n.raw) && !/^0[xXbBoO]/.test(n.raw)) {
          const v = espruinoStringToFloat(n.raw).value;
          if (v !== n.value) replace(n.start, n.end, "(" + String(v) + ")");
        }
        break;
      }
      case "TemplateElement": {
        const cooked = n.value.cooked as string | null;
        if (cooked && /[^\x00-\xff]/.test(cooked)) replace(n.start, n.end, templateRaw(byteString(cooked)));
        break;
      }
      case "ClassDeclaration":
        if (n.superClass && n.id) insert(n.end, `;${HELPERS.statics}(${n.id.name});`);
        break;
      case "ClassExpression":
        if (n.superClass) {
          insert(n.start, HELPERS.statics + "(");
          insert(n.end, ")");
        }
        break;
      case "NewExpression": {
        const a0 = n.arguments[0] as N | undefined;
        const numeric = a0 && a0.type === "Literal" && typeof a0.value === "number";
        if (n.callee.type === "Identifier" && TYPED_ARRAYS.includes(n.callee.name) && a0 && !numeric && a0.type !== "ArrayExpression" && a0.type !== "SpreadElement") {
          insert(a0.start, HELPERS.typedArg + "(");
          insert(a0.end, ")");
        }
        break;
      }
      case "CallExpression": {
        // direct eval stays direct (it sees the caller's scope); its code is rewritten too
        const a0 = n.arguments[0] as N | undefined;
        if (n.callee.type === "Identifier" && n.callee.name === "eval" && a0 && a0.type !== "SpreadElement") {
          insert(a0.start, HELPERS.transform + "(");
          insert(a0.end, ")");
        }
        break;
      }
      case "MemberExpression": {
        if (n.optional) break;
        // 8. BYTES_PER_ELEMENT
        if (!n.computed && n.property.type === "Identifier" && n.property.name === "BYTES_PER_ELEMENT" && !(parent && parent.type === "AssignmentExpression" && parent.left === n)) {
          insert(n.start, "(");
          const dot = find(".", n.object.end);
          replace(dot, n.end, ", undefined)");
          break;
        }
        // 5. Builtin.prototype (not as an assignment target)
        if (!n.computed && n.property.type === "Identifier" && n.property.name === "prototype" && n.object.type === "Identifier" && HIDDEN_PROTOTYPES.includes(n.object.name)) {
          if (parent && parent.type === "AssignmentExpression" && parent.left === n) break;
          replace(n.start, n.end, `${HELPERS.proto}(${n.object.name})`);
          break;
        }
        // 7. computed reads
        if (!n.computed || !parent) break;
        if (n.property.type === "Literal" && typeof n.property.value === "number" && Number.isInteger(n.property.value) && n.property.value >= 0) break;
        if (parent.type === "AssignmentExpression" && parent.left === n) break;
        if (parent.type === "UpdateExpression") break;
        if (parent.type === "UnaryExpression" && parent.operator === "delete") break;
        if ((parent.type === "CallExpression" || parent.type === "NewExpression") && parent.callee === n) break;
        if ((parent.type === "ForInStatement" || parent.type === "ForOfStatement") && parent.left === n) break;
        if (parent.type === "TaggedTemplateExpression" && parent.tag === n) break;
        if (n.object.type === "Super") break;
        insert(n.start, HELPERS.get + "(");
        const open = find("[", n.object.end);
        replace(open, open + 1, ",");
        replace(n.end - 1, n.end, ")");
        break;
      }
      case "AssignmentExpression": {
        const l = n.left as N;
        if (n.operator !== "=" || l.type !== "MemberExpression" || l.computed || l.property.type !== "Identifier" || l.property.name !== "length") break;
        insert(n.start, HELPERS.setLength + "(");
        const dot = find(".", l.object.end);
        const eq = find("=", l.property.end);
        replace(dot, eq + 1, ",");
        insert(n.end, ")");
        break;
      }
    }
  });
  if (!edits.length) return code;
  // apply from the end. Nodes are visited children first, so at one position an enclosing node's edit
  // has the higher seq; applying it last puts its text first: __vardeSetLength(__vardeGet(a,k),0)
  edits.sort((a, b) => b.at - a.at || a.seq - b.seq);
  let s = code;
  for (const e of edits) s = s.slice(0, e.at) + e.text + s.slice(e.end);
  return s;
}
