// Per-app codec tables (Node, used by the firmware build): the generated TABLE (codec.ts) describes every
// message on the device link, but an app sends and receives only some Envelope members (an alarm button
// never sees a Schedule). pruneTable keeps the Envelope members an app names and the messages reachable
// from them, so the bundle carries a smaller table. Wire effect: none for the kept members; a pruned
// member arriving anyway is an unknown field to decodeWith (skipped), and encodeWith never looks at
// properties the table does not list. The table format is documented in wire.ts.
import type { Table } from "./wire.ts";

interface Entry {
  num: string;
  name: string;
  kind: string;
  ref: string;
  mod: string;
  text: string;
}

function entries(spec: string): Entry[] {
  return spec
    .split("|")
    .slice(1)
    .map((text) => {
      const [num, name, kind, ref = "", mod = ""] = text.split(","); // trailing empty ref/mod are left out
      return { num, name, kind, ref, mod, text };
    });
}

/** Names of Envelope's oneof members (the message bodies), in field order. */
export function envelopeMembers(table: Table): string[] {
  return entries(table.Envelope).filter((e) => e.mod.startsWith("o")).map((e) => e.name);
}

/**
 * The table with only the Envelope oneof members in `keep` (other Envelope fields always stay) and the
 * messages reachable from Envelope through what is left. Throws on a name that is not a member.
 */
export function pruneTable(table: Table, keep: Iterable<string>): Table {
  const members = new Set(envelopeMembers(table));
  const want = new Set(keep);
  for (const m of want) if (!members.has(m)) throw new Error(`pruneTable: "${m}" is not an Envelope member (members: ${[...members].join(", ")})`);
  const specs: Table = {};
  specs.Envelope = entries(table.Envelope)
    .filter((e) => !e.mod.startsWith("o") || want.has(e.name))
    .map((e) => "|" + e.text)
    .join("");
  const todo = ["Envelope"];
  while (todo.length > 0) {
    const type = todo.pop()!;
    for (const e of entries(specs[type] ?? table[type])) {
      if (e.kind !== "m" || specs[e.ref] !== undefined) continue;
      specs[e.ref] = table[e.ref];
      todo.push(e.ref);
    }
  }
  // keep the generated order (Envelope first, then declaration order)
  const out: Table = {};
  for (const type of Object.keys(table)) if (specs[type] !== undefined) out[type] = specs[type];
  return out;
}

/** TypeScript source of a table, in the form generate.ts writes into codec.ts. */
export function tableSource(table: Table): string {
  return "{\n" + Object.keys(table).map((t) => `  ${t}: ${JSON.stringify(table[t])},\n`).join("") + "}";
}
