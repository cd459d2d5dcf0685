// `varde fhir export` and `varde fhir validate` as an operator runs them.
import { expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(ROOT, "bin", "varde.js"), "fhir", ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e) => ({ code: e.code as number, out: String(e.stdout) + String(e.stderr) }),
  );

it("export writes the example's files; validate passes them and fails a broken one", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fhir-cli-"));
  try {
    const exp = await run(["export", "backend/fhir/example/events.jsonl", "--config", "examples/fhir.toml", "--out", dir, "--at", "2026-11-02T08:45:00Z"]);
    expect(exp.code).toBe(0);
    expect(exp.out).toMatch(/7 file\(s\) from 11 event\(s\)/);
    expect(exp.out).toMatch(/test alarm \(a drill\)/);
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(fs.readdirSync(path.join(ROOT, "docs", "examples", "fhir")).filter((f) => f.endsWith(".json")).sort());
    for (const f of files) expect(fs.readFileSync(path.join(dir, f), "utf8")).toBe(fs.readFileSync(path.join(ROOT, "docs", "examples", "fhir", f), "utf8"));
    const broken = JSON.parse(fs.readFileSync(path.join(dir, files.find((f) => f.includes("bundle"))!), "utf8"));
    delete broken.entry[1].resource.performer;
    fs.writeFileSync(path.join(dir, "zz-broken.json"), JSON.stringify(broken));
    const val = await run(["validate", dir]);
    expect(val.code).toBe(1);
    expect(val.out).toMatch(/^FAIL .*zz-broken\.json\n +VKP Bundle\.entry\[1\]\.resource\.performer: missing/m);
    expect(val.out).toMatch(/7 valid, 1 invalid/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
