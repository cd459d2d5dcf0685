// Rejects a bundle that uses JavaScript Espruino 2v29 does not run. The contract is
// docs/espruino.md ("fails" and "missing" columns): the emitted bundle is parsed with acorn and
// walked; every finding gives line:column, the construct, and how to write it instead.
// This checks the bundle, not the TypeScript, because bundler helpers can introduce constructs too.
import * as acorn from "acorn";
import * as walk from "acorn-walk";

export interface EspruinoProblem {
  line: number;
  column: number;
  construct: string;
  fix: string;
  /** a few characters of the bundle around the spot (minified code is one long line) */
  near: string;
  /** where it was written, "file.ts:line:column", when a source map is available */
  source?: string;
}

export class EspruinoCheckError extends Error {
  problems: EspruinoProblem[];
  constructor(problems: EspruinoProblem[], label: string) {
    super(
      `${label}: ${problems.length} construct(s) Espruino does not support:\n` +
        problems
          .map((p) => `  ${p.source ? p.source + " (bundle " + p.line + ":" + p.column + ")" : p.line + ":" + p.column} ${p.construct} — ${p.fix}\n      near: ${p.near}`)
          .join("\n"),
    );
    this.problems = problems;
  }
}

/** Globals that do not exist on Espruino (a reference to them fails at run time). */
const MISSING_GLOBALS: Record<string, string> = {
  Map: "use a plain object keyed by string (or an array of pairs)",
  Set: "use a plain object {key: true} or an array with includes()",
  WeakMap: "use a plain object or a property on the key object",
  WeakSet: "use a flag property on the object",
  Symbol: "use a string key",
  Proxy: "write explicit getters/setters",
  Reflect: "call Object.* or the method directly",
  BigInt: "use two 32-bit numbers",
  TextEncoder: "encode UTF-8 by hand (see protocol/gen/codec.ts) or E.toUint8Array for byte strings",
  TextDecoder: "decode UTF-8 by hand or E.toString for byte strings",
  queueMicrotask: "use setTimeout(fn, 0) or Promise.resolve().then(fn)",
  setImmediate: "use setTimeout(fn, 0)",
  RangeError: "throw new Error(...) (RangeError does not exist on Espruino)",
};

/** Static members missing on Espruino: "Object.member" -> fix. */
const MISSING_STATICS: Record<string, string> = {
  "Array.from": "loop and push, or new Uint8Array(n) and fill it",
  "Array.of": "use an array literal",
  "Object.freeze": "drop it (there is no freezing on Espruino)",
  "Object.seal": "drop it",
  "Object.is": "use === (and x !== x for NaN)",
  "Object.hasOwn": "use `k in obj` on plain objects",
  "Object.getOwnPropertySymbols": "there are no symbols; use Object.keys",
  "Number.isInteger": "use Math.floor(x) === x",
  "Number.isFinite": "use isFinite(x) (global) or a range check",
  "Number.isNaN": "use x !== x",
  "Number.isSafeInteger": "use a range check",
  "Number.parseInt": "use the global parseInt",
  "Number.parseFloat": "use the global parseFloat",
  "Number.EPSILON": "write the constant 2.220446049250313e-16",
  "Number.MAX_SAFE_INTEGER": "write the constant 9007199254740991",
  "Number.MIN_SAFE_INTEGER": "write the constant -9007199254740991",
  "Date.UTC": "compute days since epoch by arithmetic",
  "Math.trunc": "use x < 0 ? Math.ceil(x) : Math.floor(x)",
  "Math.log2": "use Math.log(x) / Math.LN2",
  "Math.log10": "use Math.log(x) / Math.LN10",
  "Math.hypot": "use Math.sqrt(a*a + b*b)",
  "Math.imul": "multiply in parts (16-bit halves)",
  "Math.clz32": "count with a loop",
  "Math.fround": "use a Float32Array",
  "Math.sinh": "use (Math.exp(x) - Math.exp(-x)) / 2",
  "Math.cosh": "use (Math.exp(x) + Math.exp(-x)) / 2",
  "Math.tanh": "compute from Math.exp",
  "Math.asinh": "compute from Math.log",
  "Math.acosh": "compute from Math.log",
  "Math.atanh": "compute from Math.log",
  "Math.expm1": "use Math.exp(x) - 1",
  "Math.log1p": "use Math.log(1 + x)",
  "Math.cbrt": "use Math.pow(x, 1/3) with the sign",
  "String.raw": "write the string literally",
  "String.fromCodePoint": "use String.fromCharCode (with surrogate pairs)",
  "Promise.race": "resolve a shared flag from each promise",
  "Promise.allSettled": "wrap each promise with then/catch and use Promise.all",
  "Promise.any": "count rejections by hand",
  "process.exit": "use E.reboot() or just return",
};
for (const ta of ["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray"]) {
  MISSING_STATICS[ta + ".from"] = "new " + ta + "(n) and fill it in a loop (or new " + ta + "(array))";
  MISSING_STATICS[ta + ".of"] = "new " + ta + "([...values]) with an array literal";
}

/** Instance methods missing on Espruino (reported on any call `x.m(...)`). */
const MISSING_METHODS: Record<string, string> = {
  at: "index with x[i] (x[x.length - 1] for the last)",
  flat: "concatenate in a loop",
  flatMap: "map then concatenate in a loop",
  findLast: "loop backwards",
  findLastIndex: "loop backwards",
  lastIndexOf: "loop backwards (arrays; String.lastIndexOf with a string literal argument is allowed)",
  reduceRight: "loop backwards",
  copyWithin: "copy with set()/subarray() or a loop",
  trimStart: "use replace(/^\\s+/, \"\")",
  trimEnd: "use replace(/\\s+$/, \"\")",
  codePointAt: "use charCodeAt (and combine surrogates)",
  normalize: "drop it (no Unicode tables on Espruino)",
  localeCompare: "compare with < and >",
  matchAll: "loop with RegExp exec",
  toLocaleString: "format by hand",
  toLocaleDateString: "format by hand",
  toLocaleTimeString: "format by hand",
  finally: "call the cleanup in both then() and catch()",
};
for (const m of ["setUTCHours", "setUTCMinutes", "setUTCSeconds", "setUTCMilliseconds", "setUTCDate", "setUTCMonth", "setUTCFullYear"])
  MISSING_METHODS[m] = "do the arithmetic on the millisecond time (getTime/new Date(ms))";

/** Array iterator methods: missing on Espruino arrays; Object.keys/values/entries (one argument) are fine. */
const ITERATOR_METHODS = ["keys", "values", "entries"];

/** Globals whose .prototype is not reachable as a value on Espruino. */
const BUILTINS = ["Array", "Object", "String", "Number", "Function", "Boolean", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "ArrayBuffer", "DataView", "Date", "RegExp", "Promise", "Error", "Math", "JSON"];

const ERROR_CLASSES = ["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError"];

/** Modules the firmware may require (Espruino built-ins the simulator provides). */
const MODULES = ["Storage", "crypto"];

type Node = acorn.Node & Record<string, any>;

/** table lookup that ignores Object.prototype (so "toString" is not a listed method) */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

function memberName(n: Node): string | null {
  if (n.type !== "MemberExpression" || n.computed) return null;
  if (n.object.type !== "Identifier" || n.property.type !== "Identifier") return null;
  return n.object.name + "." + n.property.name;
}

/**
 * Parses `code` and returns every construct Espruino cannot run. An empty list means the bundle is within
 * the subset. A syntax error (code acorn cannot parse at all) is reported as one problem.
 */
export function findEspruinoProblems(code: string): EspruinoProblem[] {
  const problems: EspruinoProblem[] = [];
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const at = (pos: number, construct: string, fix: string) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    const near = code.slice(Math.max(0, pos - 25), pos + 35).replace(/\s+/g, " ");
    problems.push({ line: lo + 1, column: pos - lineStarts[lo] + 1, construct, fix, near });
  };

  let ast: Node;
  try {
    ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true }) as Node;
  } catch (e) {
    const err = e as Error & { pos?: number };
    at(err.pos ?? 0, "unparseable JavaScript: " + err.message, "fix the syntax error");
    return problems;
  }

  // Espruino's lexer: "\u{...}" is "Invalid escape sequence"; strings are 8-bit on the boards, so a
  // character above 0xFF (a \uXXXX escape, or esbuild's escape of a non-ASCII source character) keeps
  // only its low byte: "\u2265" is "e"
  const stringCheck = (pos: number, raw: string, cooked: string | null) => {
    if (/(^|[^\\])(\\\\)*\\u\{/.test(raw)) at(pos, "\\u{...} escape (Espruino: Invalid escape sequence)", "write UTF-8 bytes with \\xHH escapes (or \\uXXXX up to \\u00FF)");
    else if (cooked !== null && /[^\x00-\xff]/.test(cooked)) {
      const c = /[^\x00-\xff]/.exec(cooked)![0];
      const hex = c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
      at(pos, `character U+${hex} in a string (Espruino strings are 8-bit: it keeps only the low byte, 0x${hex.slice(2)})`, "encode the text as UTF-8 bytes (\\xHH escapes) and send it as bytes; never depend on characters above 0xFF");
    }
  };

  const fnCheck = (n: Node) => {
    if (n.async) at(n.start, "async function", "use Promise .then() chains");
    if (n.generator) at(n.start, "generator function*", "write an explicit state object / iterator by hand");
  };

  walk.fullAncestor(ast as acorn.Node, (node, _state, ancestors) => {
    const n = node as Node;
    const parent = ancestors[ancestors.length - 2] as Node | undefined;
    switch (n.type) {
      case "ObjectPattern":
      case "ArrayPattern":
        at(n.start, "destructuring", "read the fields one by one (const a = o.a)");
        break;
      case "AssignmentPattern":
        at(n.start, "default parameter / default value", "test for undefined in the body (if (b === undefined) b = 2)");
        break;
      case "RestElement":
        at(n.start, "rest parameter / rest element", "pass an array, or read `arguments`");
        break;
      case "SpreadElement":
        at(n.start, "spread (...)", "use concat/apply/Object.assign or a loop");
        break;
      case "ChainExpression":
        at(n.start, "optional chaining ?.", "test explicitly: (a && a.b)");
        break;
      case "AssignmentExpression":
        if (n.operator === "??=" || n.operator === "||=" || n.operator === "&&=")
          at(n.start, "logical assignment " + n.operator, "write it out: if (a == null) a = b");
        if (n.operator === "**=") at(n.start, "exponent assignment **=", "use a = Math.pow(a, b)");
        if (n.left.type === "MemberExpression" && !n.left.computed && n.left.property.type === "Identifier" && n.left.property.name === "length")
          at(n.start, "assignment to .length (Espruino: an array's length is read-only, TypeError \"Assignment to a constant\")", "empty an array with a.splice(0, a.length) or replace it with a new [] (keep your own count for other objects)");
        break;
      case "BinaryExpression":
        if (n.operator === "**") at(n.start, "exponent operator **", "use Math.pow(a, b)");
        break;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        fnCheck(n);
        break;
      case "AwaitExpression":
        at(n.start, "await", "use Promise .then() chains");
        break;
      case "YieldExpression":
        at(n.start, "yield", "write an explicit iterator by hand");
        break;
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        // Espruino has no per-iteration binding for `let`/`const` loop variables: a closure created in
        // the loop that reads one sees its last value
        const decl = (n.type === "ForStatement" ? n.init : n.left) as Node | null;
        if (!decl || decl.type !== "VariableDeclaration" || decl.kind === "var") break;
        const names = new Set<string>();
        for (const d of decl.declarations as Node[]) if (d.id.type === "Identifier") names.add(d.id.name);
        walk.simple(n.body as acorn.Node, {
          Function(fnNode) {
            const fn = fnNode as Node;
            // names the closure declares itself (parameters, vars) shadow the loop variable
            const own = new Set<string>();
            walk.full(fn as acorn.Node, (x, _st, type) => {
              if (x.type === "Identifier" && type === "VariablePattern") own.add((x as Node).name);
            });
            let hit = "";
            walk.simple(fn as acorn.Node, {
              Identifier(idNode) {
                const id = idNode as Node;
                if (names.has(id.name) && !own.has(id.name) && !hit) hit = id.name;
              },
            });
            if (hit) at(fn.start, `closure over loop variable ${hit} (${decl.kind} in a for loop)`, "Espruino has no per-iteration binding: pass the value to a function that returns the closure, or copy it inside a helper");
          },
        });
        if (n.type === "ForOfStatement" && n.await) at(n.start, "for await", "use Promise .then() chains");
        break;
      }
      case "LabeledStatement":
        at(n.start, "label " + n.label.name + ":", "use a flag variable or move the loop into a function and return");
        break;
      case "Property":
      case "MethodDefinition":
      case "PropertyDefinition":
        if (n.computed) at(n.start, "computed key [k]", "create the object, then assign o[k] = v");
        if (n.key && n.key.type === "PrivateIdentifier") at(n.key.start, "private member #" + n.key.name, "use a normal property (e.g. _name)");
        if (n.type === "MethodDefinition" && n.value) fnCheck(n.value as Node);
        break;
      case "TaggedTemplateExpression":
        at(n.start, "tagged template", "call the function with a plain string");
        break;
      case "PrivateIdentifier":
        at(n.start, "private member #" + n.name, "use a normal property (e.g. _name)");
        break;
      case "StaticBlock":
        at(n.start, "class static block", "run the initialisation after the class declaration");
        break;
      case "ClassDeclaration":
      case "ClassExpression":
        if (n.superClass && n.superClass.type === "Identifier" && ERROR_CLASSES.includes(n.superClass.name))
          at(n.start, "class extends " + n.superClass.name, "throw new Error(msg) and mark it with a property (e.code = ...)");
        break;
      case "MetaProperty":
        at(n.start, n.meta.name + "." + n.property.name, n.meta.name === "new" ? "pass a flag argument instead of new.target" : "not available in a bundle");
        break;
      case "Literal":
        if (n.bigint !== undefined) at(n.start, "BigInt literal", "use numbers (two 32-bit halves)");
        if (typeof n.value === "string") stringCheck(n.start, n.raw as string, n.value as string);
        break;
      case "TemplateElement":
        stringCheck(n.start, n.value.raw as string, n.value.cooked as string | null);
        break;
      case "Identifier": {
        const fix = own(MISSING_GLOBALS, n.name);
        if (!fix || !parent) break;
        // only references: not a property key, a member name, or a declaration
        if (parent.type === "MemberExpression" && parent.property === n && !parent.computed) break;
        if ((parent.type === "Property" || parent.type === "MethodDefinition" || parent.type === "PropertyDefinition") && parent.key === n && !parent.computed) break;
        if (parent.type === "VariableDeclarator" && parent.id === n) break;
        if ((parent.type === "FunctionDeclaration" || parent.type === "FunctionExpression" || parent.type === "ClassDeclaration") && parent.id === n) break;
        at(n.start, n.name + " (missing on Espruino)", fix);
        break;
      }
      case "MemberExpression": {
        const name = memberName(n);
        if (n.property.type === "PrivateIdentifier") at(n.property.start, "private member #" + n.property.name, "use a normal property (e.g. _name)");
        if (name && own(MISSING_STATICS, name)) at(n.start, name + " (missing on Espruino)", MISSING_STATICS[name]);
        if (!n.computed && n.property.type === "Identifier" && n.property.name === "BYTES_PER_ELEMENT")
          at(n.start, ".BYTES_PER_ELEMENT (missing on Espruino typed arrays)", "write the element size as a number");
        if (!n.computed && n.property.type === "Identifier" && n.property.name === "prototype" && n.object.type === "Identifier" && BUILTINS.includes(n.object.name))
          at(n.start, n.object.name + ".prototype (built-in prototypes are not values on Espruino)", "call the method on an instance, e.g. [].slice.call(x) instead of Array.prototype.slice.call(x)");
        break;
      }
      case "CallExpression": {
        const c = n.callee as Node;
        if (c.type === "MemberExpression" && !c.computed && c.property.type === "Identifier") {
          const m = c.property.name as string;
          const isStatic = memberName(c) !== null && own(MISSING_STATICS, memberName(c) as string) !== undefined;
          // String.lastIndexOf exists on Espruino (only the array one is missing): a call whose first
          // argument is a string literal is taken to be on a string
          const a0 = n.arguments[0] as Node | undefined;
          const onString = m === "lastIndexOf" && a0 !== undefined && (a0.type === "TemplateLiteral" || (a0.type === "Literal" && typeof a0.value === "string"));
          if (own(MISSING_METHODS, m) && !isStatic && !onString) at(c.property.start, "." + m + "() (missing on Espruino)", MISSING_METHODS[m]);
          if (ITERATOR_METHODS.includes(m) && n.arguments.length === 0 && !(c.object.type === "Identifier" && c.object.name === "Object"))
            at(c.property.start, "." + m + "() iterator (missing on Espruino arrays)", "loop with an index, or Object." + m + "(o) for objects");
        }
        if (c.type === "Identifier" && c.name === "require") {
          const a = n.arguments[0] as Node | undefined;
          if (!a || a.type !== "Literal" || !MODULES.includes(a.value as string))
            at(n.start, "require(" + (a && a.type === "Literal" ? JSON.stringify(a.value) : "<expression>") + ")", "only require(\"Storage\") and require(\"crypto\") exist on the device; bundle other code with esbuild");
        }
        break;
      }
    }
  });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems;
}

/**
 * Throws EspruinoCheckError listing every problem; `label` names the bundle in the message; `locate`
 * (from source-map.ts) adds the TypeScript file:line:column of each.
 */
export function checkEspruino(
  code: string,
  label = "bundle",
  locate?: (line: number, column: number) => { source: string; line: number; column: number } | null,
): void {
  const problems = findEspruinoProblems(code);
  if (locate) {
    for (const p of problems) {
      const o = locate(p.line, p.column);
      if (o) p.source = `${o.source}:${o.line}:${o.column}`;
    }
  }
  if (problems.length > 0) throw new EspruinoCheckError(problems, label);
}
