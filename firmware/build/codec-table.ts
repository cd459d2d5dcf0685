// Per-app codec table for the firmware build (Node). The generated protocol/gen/codec.ts describes every
// message on the device link; an app uses only some Envelope members (the alarm never sends a DoseEvent
// nor receives a Schedule). The build bundles once, finds the members the app's code names, and bundles
// again with codec.ts's TABLE pruned to those members (protocol/gen/prune.ts), which saves bundle bytes.
//
// "Names" = a non-computed property access (`env.alarmAck`), an object literal key (`{ heartbeat: ... }`)
// or a string literal equal to the member name, anywhere in the bundle outside the table itself. The
// Espruino subset forbids computed keys in object literals, and the firmware reads envelope members by
// name, so a member the app handles is always named; a member named for another reason (a `battery`
// board section) only keeps a little more of the table than needed, never less.
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plugin } from "esbuild";
import { TABLE } from "../../protocol/gen/codec.ts";
import { envelopeMembers, pruneTable, tableSource } from "../../protocol/gen/prune.ts";
import type { Table } from "../../protocol/gen/wire.ts";

type Node = acorn.Node & Record<string, any>;

/** The Envelope members named in a bundle's code (see the header). */
export function membersNamed(code: string): string[] {
  const members = new Set(envelopeMembers(TABLE));
  const specs = new Set(Object.values(TABLE));
  const named = new Set<string>();
  const ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true });
  walk.full(ast, (node) => {
    const n = node as Node;
    let name: unknown;
    if (n.type === "MemberExpression" && !n.computed) name = n.property.name;
    else if (n.type === "Property" && !n.computed) name = n.key.type === "Identifier" ? n.key.name : n.key.value;
    else if (n.type === "Literal" && typeof n.value === "string" && !specs.has(n.value)) name = n.value;
    if (typeof name === "string" && members.has(name)) named.add(name);
  });
  return envelopeMembers(TABLE).filter((m) => named.has(m));
}

const CODEC_FILE = /[\\/]protocol[\\/]gen[\\/]codec\.ts$/;
const TABLE_DECL = /export const TABLE: Table = \{[\s\S]*?\n\};/;

/** esbuild plugin: loads protocol/gen/codec.ts with its TABLE pruned to `table`. */
export function codecTablePlugin(table: Table): Plugin {
  return {
    name: "varde-codec-table",
    setup(b) {
      b.onLoad({ filter: CODEC_FILE }, (args) => {
        const src = readFileSync(args.path, "utf8");
        if (!TABLE_DECL.test(src)) throw new Error(`${args.path}: no "export const TABLE: Table = {...};" to prune (did protocol/gen/generate.ts change its output?)`);
        return { contents: src.replace(TABLE_DECL, `export const TABLE: Table = ${tableSource(table)};`), loader: "ts", resolveDir: join(args.path, "..") };
      });
    },
  };
}

/** The codec table an app needs, from the code of a first (full-table) bundle. */
export function appTable(code: string): { members: string[]; table: Table } {
  const members = membersNamed(code);
  return { members, table: pruneTable(TABLE, members) };
}
