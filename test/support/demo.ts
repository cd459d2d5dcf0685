// Runs `varde demo --scripted` as a child process with its own log folder (asynchronously, so other test
// files go on meanwhile) and collects what it printed.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const VARDE = path.resolve(import.meta.dirname, "../../bin/varde.js");

export function runDemo(args: string[]): Promise<{ code: number | null; out: string; logDir: string }> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-demo-test-"));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VARDE, "demo", "--scripted", "--log-dir", logDir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    child.on("exit", (code) => resolve({ code, out, logDir }));
  });
}
