// Schema compatibility lock: protocol/schema-lock.json records every message field (number, type,
// label) and enum value ever shipped. A change to varde.proto is compatible when no locked number
// changes name/type/label, no locked field or value disappears unless its number is `reserved`, and no
// locked message or enum disappears. Adding is always fine.
//   node --import tsx protocol/lock.ts            check varde.proto against the lock (exit 1 on a break)
//   node --import tsx protocol/lock.ts --update   check, then record the current schema (additions)
//   node --import tsx protocol/lock.ts --reset    rewrite the lock from the current schema, forgetting what
//                                                 was locked: ONLY for entries that never shipped (say so
//                                                 in the commit message)
import protobuf from "protobufjs";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
export const LOCK_PATH = join(here, "schema-lock.json");
export const PROTO_PATH = join(here, "varde.proto");

export type LockedField = { number: number; type: string; label: string };
export type Lock = {
  messages: { [fullName: string]: { fields: { [name: string]: LockedField } } };
  enums: { [fullName: string]: { values: { [name: string]: number } } };
};

const strip = (n: string) => (n.startsWith(".") ? n.slice(1) : n);

function fieldInfo(f: protobuf.Field): LockedField {
  f.resolve();
  const type = f.resolvedType ? strip(f.resolvedType.fullName) : f.type;
  if (f instanceof protobuf.MapField) return { number: f.id, type: `map<${f.keyType},${type}>`, label: "map" };
  const label = f.repeated ? "repeated" : f.partOf && f.partOf.name.startsWith("_") && f.partOf.fieldsArray.length === 1 ? "optional" : "singular";
  return { number: f.id, type, label };
}

/** The lock content for a parsed schema. */
export function buildLock(root: protobuf.Root): Lock {
  root.resolveAll();
  const lock: Lock = { messages: {}, enums: {} };
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Type) {
        const fields: { [name: string]: LockedField } = {};
        for (const f of [...n.fieldsArray].sort((a, b) => a.id - b.id)) fields[f.name] = fieldInfo(f);
        lock.messages[strip(n.fullName)] = { fields };
      } else if (n instanceof protobuf.Enum) {
        lock.enums[strip(n.fullName)] = { values: { ...n.values } };
      }
      if (n instanceof protobuf.Namespace) walk(n);
    }
  };
  walk(root);
  return lock;
}

function isReserved(obj: protobuf.Type | protobuf.Enum, num: number): boolean {
  return (obj.reserved || []).some((r) => Array.isArray(r) && num >= r[0] && num <= r[1]);
}

/** Every incompatibility between the locked schema and the current one (empty = compatible). */
export function checkCompat(lock: Lock, root: protobuf.Root): string[] {
  root.resolveAll();
  const errs: string[] = [];
  for (const [msgName, m] of Object.entries(lock.messages)) {
    const t = root.lookup(msgName);
    if (!(t instanceof protobuf.Type)) {
      errs.push(`message ${msgName} was removed: shipped messages stay in varde.proto (leave it unused, add a comment)`);
      continue;
    }
    for (const [name, was] of Object.entries(m.fields)) {
      const now = t.fieldsById[was.number];
      const where = `${msgName}.${name} = ${was.number}`;
      if (!now) {
        if (!isReserved(t, was.number))
          errs.push(`${where} (${was.label} ${was.type}) was removed without reserving its number: add \`reserved ${was.number};\` (and \`reserved "${snake(name)}";\`) to ${msgName}`);
        continue;
      }
      const cur = fieldInfo(now);
      if (now.name !== name) errs.push(`${where}: number ${was.number} is now used by \`${now.name}\`; field numbers are never reused — give the new field a fresh number and reserve ${was.number}`);
      else if (cur.type !== was.type || cur.label !== was.label)
        errs.push(`${where}: was ${was.label} ${was.type}, now ${cur.label} ${cur.type}; add a new field with a fresh number instead of changing this one`);
    }
    for (const [name, was] of Object.entries(m.fields)) {
      const f = t.fields[name];
      if (f && f.id !== was.number) errs.push(`${msgName}.${name} was number ${was.number}, now ${f.id}; numbers never change (restore ${was.number})`);
    }
  }
  for (const [enumName, e] of Object.entries(lock.enums)) {
    const en = root.lookup(enumName);
    if (!(en instanceof protobuf.Enum)) {
      errs.push(`enum ${enumName} was removed: shipped enums stay in varde.proto`);
      continue;
    }
    for (const [name, num] of Object.entries(e.values)) {
      const nowName = en.valuesById[num];
      if (nowName === undefined) {
        if (!isReserved(en, num)) errs.push(`${enumName}.${name} = ${num} was removed without reserving it: add \`reserved ${num};\` to ${enumName}`);
      } else if (nowName !== name) errs.push(`${enumName} value ${num} was ${name}, now ${nowName}; enum values are never reused or renamed`);
    }
  }
  return errs;
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

export function readLock(path: string = LOCK_PATH): Lock {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** One line per field / enum, so a diff of the lock reads like a diff of the schema. */
export function lockText(lock: Lock): string {
  const J = JSON.stringify;
  const block = (entries: [string, string][]) => entries.map(([k, v]) => `   ${J(k)}: ${v}`).join(",\n");
  const msgs = Object.entries(lock.messages).map(
    ([m, v]) => `  ${J(m)}: { "fields": {\n${block(Object.entries(v.fields).map(([f, i]) => [f, J(i).replace(/,"/g, ', "').replace(/":/g, '": ')]))}\n  } }`,
  );
  const enums = Object.entries(lock.enums).map(([e, v]) => `  ${J(e)}: { "values": {\n${block(Object.entries(v.values).map(([k, n]) => [k, String(n)]))}\n  } }`);
  return `{\n "messages": {\n${msgs.join(",\n")}\n },\n "enums": {\n${enums.join(",\n")}\n }\n}\n`;
}

/** Locked entries missing from the lock file (additions not yet recorded with --update). */
export function unlocked(lock: Lock, root: protobuf.Root): string[] {
  const cur = buildLock(root);
  const out: string[] = [];
  for (const [m, v] of Object.entries(cur.messages))
    for (const f of Object.keys(v.fields)) if (!lock.messages[m]?.fields[f]) out.push(`${m}.${f}`);
  for (const [e, v] of Object.entries(cur.enums))
    for (const k of Object.keys(v.values)) if (lock.enums[e]?.values[k] === undefined) out.push(`${e}.${k}`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = protobuf.loadSync(PROTO_PATH);
  let lock: Lock = { messages: {}, enums: {} };
  try {
    lock = readLock();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (process.argv.includes("--reset")) {
    writeFileSync(LOCK_PATH, lockText(buildLock(root)));
    console.log(`rewrote ${LOCK_PATH} from varde.proto (history dropped; only for never-shipped entries)`);
    process.exit(0);
  }
  const errs = checkCompat(lock, root);
  if (errs.length) {
    console.error(`varde.proto breaks ${LOCK_PATH}:\n  ` + errs.join("\n  "));
    process.exit(1);
  }
  if (process.argv.includes("--update")) {
    // keep locked entries that are gone but reserved, so their numbers stay recorded
    const next = buildLock(root);
    for (const [m, v] of Object.entries(lock.messages))
      for (const [f, info] of Object.entries(v.fields))
        if (!next.messages[m]?.fields[f]) (next.messages[m] ??= { fields: {} }).fields[f] = { ...info, label: info.label.startsWith("reserved ") ? info.label : "reserved " + info.label };
    for (const [e, v] of Object.entries(lock.enums))
      for (const [k, n] of Object.entries(v.values)) if (next.enums[e] && next.enums[e].values[k] === undefined && !Object.values(next.enums[e].values).includes(n)) next.enums[e].values[k] = n;
    writeFileSync(LOCK_PATH, lockText(next));
    console.log(`wrote ${LOCK_PATH}`);
  } else {
    const add = unlocked(lock, root);
    console.log(add.length ? `compatible; not yet locked (run with --update): ${add.join(", ")}` : "compatible and fully locked");
  }
}
