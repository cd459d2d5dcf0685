// The completion script, run by bash itself: commands, each command's options, board ids (only alarm
// boards for the demo), kinds and files.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const VARDE = path.resolve(import.meta.dirname, "../../bin/varde.js");

describe("varde completion bash", () => {
  const script = spawnSync(process.execPath, [VARDE, "completion", "bash"], { encoding: "utf8", timeout: 30_000 }).stdout;
  /** what bash completes for the words typed so far (the last one is being typed) */
  const complete = (...typed: string[]): string[] => {
    const words = ["varde", ...typed].map((w) => `'${w}'`).join(" ");
    const r = spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _varde; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8", cwd: path.resolve(import.meta.dirname, "../..") });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  };

  it("completes commands, options and their values", () => {
    expect(complete("pro")).toEqual(["probe", "provision"]);
    expect(complete("--v")).toEqual(["--version"]);
    expect(complete("gateway", "--")).toEqual(["--config", "--help", "--log-format", "--quiet"]);
    expect(complete("gateway", "--log-format", "")).toEqual(["json", "pretty"]);
    expect(complete("provision", "--kind", "d")).toEqual(["dispenser"]);
    expect(complete("flash", "--board", "")).toEqual(["alarm-esp32", "alarm-nrf52", "dispenser-esp32"]);
    expect(complete("demo", "--board", "")).toEqual(["alarm-esp32", "alarm-nrf52"]);
    expect(complete("build", "alarm")).toEqual(["alarm-esp32", "alarm-nrf52"]);
    expect(complete("status", "--config", "examples/gateway-t")).toEqual(["examples/gateway-tls.toml"]);
    expect(complete("status", "--config", "examples/gateway.t")).toEqual(["examples/gateway.toml"]);
  });
});
