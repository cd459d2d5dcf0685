// The firmware build (Node): bundles firmware/<kind>/main.ts for one board with esbuild into one
// minified IIFE (esbuild cjs output wrapped in a function), checks it against what Espruino runs (check-espruino.ts), checks the size budget from
// the board file and the protocol's size caps, and writes dist/firmware/<board>.js.
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
import { appTable, codecTablePlugin } from "./codec-table.ts";
import type { Plugin } from "esbuild";

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
  /** the Envelope members the app names: the bundle's codec table holds only these (codec-table.ts) */
  codecMembers: string[];
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

/** The IIFE wrapper put around esbuild's output (its length shifts line-1 columns of the map). */
const WRAP_HEAD = "(function(){";
const WRAP_TAIL = "})();\n";

/** Bundles one entry file into the IIFE text (no checks). `define` maps global names to JS source. */
export async function bundleEntry(entry: string, define: Record<string, string>): Promise<string> {
  return (await bundleWithMap(entry, define)).code;
}

/** Like bundleEntry, plus a locator from bundle positions to TypeScript sources (paths relative to the repo). */
export async function bundleWithMap(entry: string, define: Record<string, string>, plugins: Plugin[] = []): Promise<{ code: string; locate: Locator }> {
  const out = await build({
    plugins,
    entryPoints: [entry],
    bundle: true,
    write: false,
    // cjs keeps require("Storage") literal (iife/esm would add a require shim using Proxy); the
    // result is wrapped in an IIFE below so nothing leaks into Espruino's global scope.
    format: "cjs",
    platform: "node",
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
  return { code: WRAP_HEAD + text.trimEnd() + WRAP_TAIL, locate: locator(raw, WRAP_HEAD.length) };
}

/** Builds, checks and (unless noWrite) writes the bundle for a board id or board .toml path. */
export async function buildFirmware(boardId: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const board = loadBoard(boardId);
  const version = opts.version ?? packageVersion();
  const entry = join(ROOT, "firmware", board.kind, "main.ts");
  if (!existsSync(entry))
    throw new FirmwareBuildError(`${board.file}: kind "${board.kind}" has no app: ${relative(ROOT, entry)} does not exist`);
  const define = { BOARD: JSON.stringify(firmwareBoard(board)), FIRMWARE_VERSION: JSON.stringify(version) };
  const esbuildFailed = (e: Error) => {
    throw new FirmwareBuildError(`esbuild failed for ${board.id} (${relative(ROOT, entry)}):\n${e.message}`);
  };
  // twice: the first bundle shows which Envelope members the app names, the second carries a codec
  // table pruned to them
  const full = await bundleWithMap(entry, define).catch(esbuildFailed);
  let app: ReturnType<typeof appTable>;
  try {
    app = appTable(full.code);
  } catch (e) {
    app = { members: [], table: {} };
  }
  const { code, locate } = app.members.length > 0 ? await bundleWithMap(entry, define, [codecTablePlugin(app.table)]).catch(esbuildFailed) : full;
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
  return { board, path, code, bytes, budget, version, codecMembers: app.members };
}
