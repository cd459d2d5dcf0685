import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lockDataDir } from "./lock.ts";

describe("data_dir lock", () => {
  it("refuses a second live gateway, takes over a lock left by a dead one, releases on stop", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-lock-"));
    const lockFile = path.join(dir, "gateway.lock");
    const live = spawn("sleep", ["30"]);
    try {
      fs.writeFileSync(lockFile, String(live.pid));
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`another gateway \\(pid ${live.pid}\\) is using data_dir`));
    } finally {
      live.kill("SIGKILL");
    }
    const dead = spawnSync("true");
    fs.writeFileSync(lockFile, String(dead.pid));
    const release = lockDataDir(dir);
    expect(fs.readFileSync(lockFile, "utf8")).toBe(String(process.pid));
    release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });
});
