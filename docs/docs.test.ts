// The documentation says what the code does (issue 14 item 12): the README's example configurations load
// and the one for "your broker" names a broker; the commands' help documents $VARDE_REGISTRY and offers
// only alarm boards to the demo; the birth sequence grows on every connection attempt, as the backend
// contract says; `--version` prints the package version; no document points outside the repository.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig, parseConfig, startGateway } from "../gateway/index.ts";
import { until } from "../test/support/wait.ts";
import { Command } from "commander";
import { alarmBoards } from "../cli/demo/run-demo.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const VARDE = path.join(ROOT, "bin/varde.js");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const help = () => execFileSync(process.execPath, [VARDE, "--help"], { encoding: "utf8" });

describe("the docs match the behaviour", () => {
  it("the README's example configurations exist and load; the one for your broker names it", () => {
    const named = [...new Set(readme.match(/examples\/[\w-]+\.toml/g) ?? [])];
    expect(named).toContain("examples/gateway-mosquitto.toml");
    for (const f of named.filter((n) => n.startsWith("examples/gateway"))) {
      const file = path.join(ROOT, f);
      if (f.endsWith("-tls.toml")) expect(() => loadConfig(file)).toThrow(/does not exist; fix the path/); // certificates of a real installation
      else expect(() => loadConfig(file), f).not.toThrow();
    }
    const broker = loadConfig(path.join(ROOT, "examples/gateway-mosquitto.toml"));
    expect(broker.mqtt.url).toMatch(/^mqtt:\/\//);
    expect(broker.mqtt.username).toBe(broker.gatewayId); // what examples/mosquitto/acl expects
    expect(readme).toMatch(/--config examples\/gateway-mosquitto\.toml/);
  });

  it("help texts: $VARDE_REGISTRY where a registry is read; the demo's --board names only alarm boards", async () => {
    // the commands as cli/varde.ts registers them, in this process
    const program = new Command("varde");
    for (const c of ["provision", "flash", "probe", "demo"]) (await import(`../cli/commands/${c}.ts`)).register(program);
    const sub = (name: string) => program.commands.find((c) => c.name() === name)!.helpInformation();
    for (const c of ["provision", "flash", "probe"]) expect(sub(c), c).toContain("$VARDE_REGISTRY");
    expect(help()).toContain("VARDE_REGISTRY");
    const demo = sub("demo");
    for (const b of alarmBoards()) expect(demo).toContain(b);
    expect(alarmBoards()).not.toContain("dispenser-esp32");
    expect(demo).toMatch(/--board <id> +the alarm button's board/);
  });

  it("varde --version prints the package version", () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    expect(execFileSync(process.execPath, [VARDE, "--version"], { encoding: "utf8" }).trim()).toBe(`varde ${version}`);
  });

  it("the birth sequence grows on every connection attempt, also failed ones (docs/backend-contract.md)", async () => {
    expect(fs.readFileSync(path.join(ROOT, "docs/backend-contract.md"), "utf8")).toMatch(/Before every connection attempt — also one that fails — the gateway increments a birth sequence/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-bdseq-"));
    // a broker that is not there: every attempt fails
    const gw = await startGateway(parseConfig({ mqtt: { url: "mqtt://127.0.0.1:1", reconnect_ms: 20 }, metrics: { port: -1 }, log: { level: "silent" } }, "t.toml", dir));
    try {
      await until(() => gw.metrics.get("varde_mqtt_reconnects_total") >= 3, 20_000, "three reconnect attempts");
      expect(gw.outbox.bdSeq).toBeGreaterThanOrEqual(1 + 3);
    } finally {
      await gw.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no document, comment or script points outside the repository (../shared)", () => {
    const r = spawnSync("git", ["grep", "-n", "-I", "-E", "(\\.\\./)+shared/|/work/shared", "--", ".", ":!docs/docs.test.ts",
      // where the real interpreters are found by default ($VARDE_ESPRUINO_DIR; docs/espruino.md): a machine
      // fact, not a document the reader is sent to
      ":!test/support/espruino.ts"], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout).toBe("");
  });
});
