// Whether a console input line is complete enough to run, as Espruino decides it (jsiCountBracketsInInput):
// every ( [ { is closed and no string, template or comment is left open. Anything else that does not
// tokenize (a real syntax error) counts as complete, so running it reports the error instead of waiting
// forever for more input.
import { tokenizer } from "acorn";

export function isCompleteInput(code: string): boolean {
  let depth = 0;
  try {
    for (const tok of tokenizer(code, { ecmaVersion: "latest", allowHashBang: true })) {
      const label = tok.type.label;
      if (label === "(" || label === "[" || label === "{" || label === "${") depth++;
      else if (label === ")" || label === "]" || label === "}") depth--;
    }
  } catch (e) {
    return !/Unterminated/.test((e as Error).message);
  }
  return depth <= 0;
}
