// The firmware build (Node): bundles firmware/<kind>/main.ts for one board with esbuild into one
// minified script, checks it against what Espruino runs (check-espruino.ts), checks the size budget
// from the board file and the protocol's size caps, and writes dist/firmware/<board>.js.
//
// The bundle is shaped for Espruino's RAM (docs/firmware-memory.md): esbuild's cjs output WITHOUT a
// wrapper, so the app's top-level functions and variables are globals of the interpreter (a wrapper
// would add a scope link to every function and a scope chain to every call); every board value is a
// per-leaf define (BOARD.pins.button -> "D0") and every generated protocol key or enum a const enum,
// so constants are literals in the code, which runs from flash; minified names are 1-2 characters
// (a name of 5+ characters costs a second JsVar). The build refuses a top-level name that would shadow
// an Espruino global (E, D0-D99, fs ...), any BOARD left over (a table used as a value), and a firmware
// version or board id longer than the protocol's string caps.
//
// esbuild: target es2022 (Espruino has classes, fields, arrow functions, let/const, `??`), with the
// constructs Espruino lacks but esbuild can rewrite marked unsupported so they are lowered (`?.`,
// `??=`/`||=`/`&&=`, `**`). Anything esbuild cannot lower (destructuring, spread helpers, async...)
// reaches the checker, which rejects it with line:column. Type-only class fields are dropped
// (useDefineForClassFields false) so they cost no bundle bytes.
import { build } from "esbuild";
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBoard, firmwareBoard, type Board } from "../../hardware/boards.ts";
import { checkEspruino } from "./check-espruino.ts";
import { locator, type Locator } from "./source-map.ts";
import { parse } from "acorn";
import { MAX_FIRMWARE_BYTES, MAX_BOARD_BYTES } from "../../protocol/caps.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = join(ROOT, "dist", "firmware");

export interface BuildOptions {
  /** output directory (default dist/firmware) */
  outDir?: string;
  /** do not write the file (tests) */
  noWrite?: boolean;
  /** firmware version (default: package.json version) */
  version?: string;
}

export interface BuildResult {
  board: Board;
  /** path written (or that would be written) */
  path: string;
  code: string;
  /** bundle size in bytes */
  bytes: number;
  budget: number;
  version: string;
}

export class FirmwareBuildError extends Error {}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
}

/** The protocol's size caps check, when protocol/size-caps.ts exists (owned by the protocol helper). */
async function sizeCaps(): Promise<void> {
  const file = join(ROOT, "protocol", "size-caps.ts");
  if (!existsSync(file)) return;
  const mod = await import(file);
  if (typeof mod.checkSizeCaps === "function") mod.checkSizeCaps();
}

/** Bundles one entry file (no checks). `define` maps global names to JS source. */
export async function bundleEntry(entry: string, define: Record<string, string>): Promise<string> {
  return (await bundleWithMap(entry, define)).code;
}

/** Like bundleEntry, plus a locator from bundle positions to TypeScript sources (paths relative to the repo). */
export async function bundleWithMap(entry: string, define: Record<string, string>): Promise<{ code: string; locate: Locator }> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    // cjs keeps require("Storage") literal (iife/esm would add a require shim using Proxy); no wrapper:
    // the entry exports nothing, so esbuild emits plain top-level declarations
    format: "cjs",
    platform: "neutral",
    minify: true,
    target: "es2022",
    supported: { "optional-chain": false, "logical-assignment": false, "exponent-operator": false },
    charset: "ascii",
    legalComments: "none",
    logLevel: "silent",
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    external: ["Storage", "crypto"],
    define,
    sourcemap: "external",
    sourceRoot: "",
    outfile: join(ROOT, "dist", "firmware", "bundle.js"), // names the outputs; nothing is written
  });
  const js = out.outputFiles.find((f) => f.path.endsWith(".js"))!;
  const map = out.outputFiles.find((f) => f.path.endsWith(".map"));
  const text = js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "");
  const raw = map ? JSON.parse(map.text) : { sources: [], mappings: "" };
  // sources are relative to the map's directory: make them relative to the repository
  raw.sources = raw.sources.map((src: string) => relative(ROOT, join(ROOT, "dist", "firmware", src)));
  return { code: text.trimEnd() + "\n", locate: locator(raw, 0) };
}

/** Every leaf of the board as an esbuild define: BOARD.pins.button -> "D0" (JSON source text). */
export function boardDefines(board: Board): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(prefix + "." + k, x);
    } else out[prefix] = JSON.stringify(v);
  };
  walk("BOARD", firmwareBoard(board));
  return out;
}

/** Espruino globals a 1-3 character minified name could shadow (checked on the real interpreter too). */
export function shadowsEspruinoGlobal(name: string): boolean {
  return /^(E|fs|D\d{1,2}|A\d{1,2}|BTN\d?|LED\d?|NRF|SPI\d?|I2C\d?|USB|Pin)$/.test(name);
}

/** Names the bundle declares at its top level (they become interpreter globals). */
export function topLevelNames(code: string): string[] {
  const ast = parse(code, { ecmaVersion: 2022, sourceType: "script" }) as any;
  const names: string[] = [];
  for (const n of ast.body) {
    if (n.type === "FunctionDeclaration" || n.type === "ClassDeclaration") names.push(n.id.name);
    if (n.type === "VariableDeclaration") for (const d of n.declarations) if (d.id.type === "Identifier") names.push(d.id.name);
  }
  return names;
}

/** Builds, checks and (unless noWrite) writes the bundle for a board id or board .toml path. */
export async function buildFirmware(boardId: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const board = loadBoard(boardId);
  const version = opts.version ?? packageVersion();
  const entry = join(ROOT, "firmware", board.kind, "main.ts");
  if (!existsSync(entry))
    throw new FirmwareBuildError(`${board.file}: kind "${board.kind}" has no app: ${relative(ROOT, entry)} does not exist`);
  const define = { ...boardDefines(board), FIRMWARE_VERSION: JSON.stringify(version) };
  if (Buffer.byteLength(version) > MAX_FIRMWARE_BYTES)
    throw new FirmwareBuildError(`firmware version "${version}" is longer than ${MAX_FIRMWARE_BYTES} bytes (protocol/caps.ts); shorten package.json's version`);
  if (Buffer.byteLength(board.id) > MAX_BOARD_BYTES)
    throw new FirmwareBuildError(`${board.file}: id "${board.id}" is longer than ${MAX_BOARD_BYTES} bytes (protocol/caps.ts); shorten it`);
  const { code, locate } = await bundleWithMap(entry, define).catch((e: Error) => {
    throw new FirmwareBuildError(`esbuild failed for ${board.id} (${relative(ROOT, entry)}):\n${e.message}`);
  });
  const left = [...new Set(code.match(/\bBOARD(\.\w+)*/g) ?? [])];
  if (left.length)
    throw new FirmwareBuildError(
      `${board.id}: the bundle still names ${left.join(", ")}: the code uses a board value the board file lacks, or a whole table ` +
        `(e.g. BOARD.pins) as a value; name leaves (BOARD.pins.button) and add the key to ${board.file}`,
    );
  const shadow = topLevelNames(code).filter(shadowsEspruinoGlobal);
  if (shadow.length)
    throw new FirmwareBuildError(`${board.id}: minified top-level names shadow Espruino globals: ${shadow.join(", ")}; rename or add a reference so esbuild avoids them`);
  const label = `${board.id} bundle (${relative(ROOT, entry)})`;
  checkEspruino(code, label, locate);
  const bytes = Buffer.byteLength(code, "utf8");
  const budget = board.memory.bundle_budget;
  if (bytes > budget)
    throw new FirmwareBuildError(
      `${label} is ${bytes} bytes, over the budget of ${budget} (${board.file}: memory.bundle_budget); shrink the app or raise the budget if the board's flash allows`,
    );
  await sizeCaps();
  const outDir = opts.outDir ?? DIST;
  const path = join(outDir, board.id + ".js");
  if (!opts.noWrite) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path, code);
  }
  return { board, path, code, bytes, budget, version };
}
