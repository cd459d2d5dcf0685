// Espruino semantic trap, reproduced: `for (let i ...; ...; ...)` has NO per-iteration binding on
// Espruino, so closures created in the loop all see the last value (docs/espruino.md).
// V8 gives each iteration its own `i`; to behave like the device, the simulator rewrites
//   for (let a = x, b; test; update) body      into      { let a = x, b; for (; test; update) body }
// before running boot code: one binding for the whole loop, as on Espruino. for...of / for...in are
// left alone. If the code does not parse (acorn, latest ECMAScript) it runs unchanged.
import * as acorn from "acorn";
import * as walk from "acorn-walk";

const cache = new Map<string, string>();
const CACHE_MAX = 16;

interface Edit {
  start: number;
  end: number;
  text: string;
  /** at one offset, edits applied first end up last: opens (0) go after closes (2) of a loop just before */
  order: number;
}

export function hoistLoopLets(code: string): string {
  const hit = cache.get(code);
  if (hit !== undefined) return hit;
  let out = code;
  try {
    const ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true });
    const edits: Edit[] = [];
    walk.ancestor(ast, {
      ForStatement(node, _state, ancestors) {
        const f = node as acorn.ForStatement;
        const init = f.init;
        if (!init || init.type !== "VariableDeclaration" || init.kind !== "let") return;
        const parent = ancestors[ancestors.length - 2];
        if (parent && parent.type === "LabeledStatement") return; // `continue label` needs the label on the loop
        // "{" + declaration + ";" at the loop's start, the declaration removed from the head, "}" at the end
        edits.push({ start: f.start, end: f.start, text: "{" + code.slice(init.start, init.end) + ";", order: 0 });
        edits.push({ start: init.start, end: init.end, text: "", order: 1 });
        edits.push({ start: f.end, end: f.end, text: "}", order: 2 });
      },
    });
    if (edits.length) {
      // apply from the end so earlier offsets stay valid
      edits.sort((a, b) => b.start - a.start || a.order - b.order);
      let s = code;
      for (const e of edits) s = s.slice(0, e.start) + e.text + s.slice(e.end);
      out = s;
    }
  } catch {
    out = code;
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(code, out);
  return out;
}
