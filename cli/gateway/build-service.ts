// Builds the gateway process into dist/gateway/ (part of `make build`): one ES module bundled by esbuild
// from cli/gateway/service.ts (the `varde gateway` runner without commander), plus protocol/varde.proto beside it (protocol/schema.ts loads it next to itself).
// The service runs compiled JavaScript: no TypeScript loader in memory at run time (about 40 MB less
// resident than running the sources through tsx). npm packages stay external (native modules such as
// better-sqlite3 and serialport cannot be bundled); they load from node_modules above dist/.
//   node --import tsx cli/gateway/build-service.ts          → dist/gateway/varde-gateway.mjs
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const GATEWAY_BUNDLE = path.join(ROOT, "dist", "gateway", "varde-gateway.mjs");

export async function buildGateway(out = GATEWAY_BUNDLE): Promise<{ file: string; bytes: number }> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`; // renamed into place: a process starting meanwhile never reads half a file
  await build({
    entryPoints: [path.join(ROOT, "cli", "gateway", "service.ts")],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    legalComments: "none",
    logLevel: "error",
    banner: { js: "// Varde gateway — built by cli/gateway/build-service.ts from cli/gateway/service.ts; do not edit" },
  });
  const proto = path.join(path.dirname(out), "varde.proto");
  fs.copyFileSync(path.join(ROOT, "protocol", "varde.proto"), `${proto}.${process.pid}.tmp`);
  fs.renameSync(`${proto}.${process.pid}.tmp`, proto);
  fs.renameSync(tmp, out);
  return { file: out, bytes: fs.statSync(out).size };
}

/** Newest modification time of the sources that go into the bundle. */
export function sourcesNewestMs(): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|proto)$/.test(e.name) && !e.name.endsWith(".test.ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(path.join(ROOT, "gateway"));
  walk(path.join(ROOT, "cli"));
  walk(path.join(ROOT, "protocol"));
  return newest;
}

/** Builds the bundle when it is missing or older than its sources (tests that spawn the process call this). */
export async function ensureGatewayBundle(): Promise<string> {
  if (!fs.existsSync(GATEWAY_BUNDLE) || fs.statSync(GATEWAY_BUNDLE).mtimeMs < sourcesNewestMs()) await buildGateway();
  return GATEWAY_BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const r = await buildGateway();
  console.log(`gateway    ${path.relative(ROOT, r.file)}: ${r.bytes} bytes`);
}
