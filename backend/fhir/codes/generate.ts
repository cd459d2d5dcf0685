// Regenerates the VKP code lists in this folder (one JSON file per CodeSystem) from unchanged copies of
// the FHIR XML files of HL7Norway/Velferdsteknologi, folder VKP-R4, at the commit named in SOURCE below.
//   node --import tsx backend/fhir/codes/generate.ts [dir-with-the-xml-copies]   (default: shared/research/vkp beside the repository)
// The JSON is the data the code mapping (gateway/codes.ts) and the FHIR exporter are checked against;
// when VKP publishes a new list, copy its files, update SOURCE and rerun: the mapping tests then name
// every code whose display or existence changed.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const SOURCE = { repository: "HL7Norway/Velferdsteknologi", folder: "VKP-R4", commit: "9d28b9e", commitDate: "2025-11-18" };

/** The code systems Varde uses; file names as in the upstream folder. */
export const FILES = [
  "vkp-alert-code-v090.codesystem.xml",
  "vkp-medicationdispense-events-v090.codesystem.xml",
  "vkp-message-event-v090.codesystem.xml",
];

export interface Concept { code: string; display: string; definition: string }
export interface CodeList {
  url: string;
  version: string;
  name: string;
  source: typeof SOURCE & { file: string };
  concepts: Concept[];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

function unescapeXml(s: string): string {
  return s
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The value attribute of the first <name value="..."/> in xml (undefined when absent). */
function valueOf(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}\\s+value="([^"]*)"\\s*/>`).exec(xml);
  return m ? unescapeXml(m[1]) : undefined;
}

/** Parses a FHIR CodeSystem in XML (flat concept lists, as every VKP list is). */
export function parseCodeSystem(file: string, xml: string): CodeList {
  const head = xml.split("<concept>")[0];
  const url = valueOf(head, "url");
  const version = valueOf(head, "version");
  const name = valueOf(head, "name");
  if (!url || !version || !name) throw new Error(`${file}: not a CodeSystem with url, version and name`);
  const concepts: Concept[] = [];
  for (const m of xml.matchAll(/<concept>([\s\S]*?)<\/concept>/g)) {
    const code = valueOf(m[1], "code");
    const display = valueOf(m[1], "display");
    if (code === undefined || display === undefined) throw new Error(`${file}: a concept without code or display`);
    if (/<concept>/.test(m[1])) throw new Error(`${file}: nested concepts are not supported`);
    concepts.push({ code, display, definition: valueOf(m[1], "definition") ?? "" });
  }
  return { url, version, name, source: { ...SOURCE, file: `${SOURCE.folder}/CodeSystem/${file}` }, concepts };
}

/** JSON file name for an upstream XML file: vkp-alert-code-v090.codesystem.xml -> vkp-alert-code-v090.json. */
export function jsonName(file: string): string {
  return file.replace(/\.codesystem\.xml$/, ".json");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? path.join(HERE, "..", "..", "..", "..", "shared", "research", "vkp");
  for (const f of FILES) {
    const src = path.join(dir, f);
    if (!fs.existsSync(src)) {
      console.error(`${src}: missing; pass the folder holding the VKP-R4 CodeSystem XML copies as the first argument`);
      process.exit(2);
    }
    const list = parseCodeSystem(f, fs.readFileSync(src, "utf8"));
    const out = path.join(HERE, jsonName(f));
    fs.writeFileSync(out, JSON.stringify(list, null, 2) + "\n");
    console.log(`${out}: ${list.concepts.length} concepts (${list.url})`);
  }
}
