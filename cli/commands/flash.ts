// `varde flash --port <serial|tcp://host:port|BLE address> --board <id|file> --device <id> [--registry f]`
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { DEFAULT_REGISTRY } from "../tech/defaults.ts";
import { actionOf } from "../tech/run.ts";
import { flashDevice, type Phase } from "../tech/flash.ts";
import { portKind } from "../tech/link.ts";

const PHASES: Record<Phase, string> = {
  prepare: "checking registry, board and bundle",
  connect: "looking for the device",
  maintenance: "maintenance access",
  check: "checking the device",
  upload: "uploading",
  verify: "verifying the staged bundle",
  commit: "switching to the new firmware",
  reboot: "rebooting",
  handshake: "checking the device answers over the Varde protocol",
  done: "done",
};

interface Opts {
  port: string;
  board: string;
  device: string;
  registry: string;
  baud?: number;
  fast?: boolean;
  force?: boolean;
  bundle?: string;
  firmwareVersion?: string;
  json?: boolean;
  dataPort?: string;
}

export function register(program: Command): void {
  program
    .command("flash")
    .description("build the firmware for a board, upload it with its identity to a device, reboot it and verify it answers")
    .requiredOption("--port <port>", "serial path (/dev/ttyUSB0, a simulator pty), tcp://host:port, or a BLE address aa:bb:cc:dd:ee:ff")
    .requiredOption("--board <board>", "board id from hardware/ (e.g. alarm-esp32) or a path to a board .toml")
    .requiredOption("--device <id>", "device id from the registry (varde provision)")
    .option("--registry <file>", "registry file (default: $VARDE_REGISTRY, else ./registry.toml)", DEFAULT_REGISTRY)
    .option("--baud <rate>", "serial baud rate (default: the board's data.baud)", (v) => Number(v))
    .option("--fast", "no pause between Storage chunks (USB CDC, TCP, simulator); default pauses as the Espruino CLI does")
    .option("--force", "flash even if the device reports another board")
    .option("--bundle <file>", "flash this bundle instead of building one (needs --firmware-version)")
    .option("--firmware-version <v>", "firmware version the bundle reports (default: package.json version)")
    .option("--data-port <port>", "the port the firmware speaks Varde on, when it is not the console port (host boards); default: --port")
    .option("--json", "print the result as JSON")
    .action(
      actionOf("flash", async (o: Opts) => {
        const device = Number(o.device);
        if (!Number.isInteger(device) || device < 1) throw new Error(`--device ${o.device} is not a device id (a whole number, see the registry)`);
        const { bundleFor } = await import("../tech/bundle.ts"); // esbuild only when flashing
        const bundle = await bundleFor(o.board, o.bundle, o.firmwareVersion);
        const tty = process.stderr.isTTY && !o.json;
        const bar = new cliProgress.SingleBar(
          { format: "  uploading [{bar}] {percentage}% | {value}/{total} bytes | {eta_formatted} left", stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: tty },
          cliProgress.Presets.shades_classic,
        );
        let barOn = false;
        const say = (s: string) => {
          if (!o.json) process.stderr.write(s + "\n");
        };
        const r = await flashDevice({
          port: o.port,
          board: o.board,
          device,
          registry: o.registry,
          bundle,
          baudRate: o.baud,
          fast: o.fast,
          force: o.force,
          noVerify: portKind(o.port) === "ble",
          dataPort: o.dataPort,
          onPhase: (p, d) => {
            if (barOn) {
              bar.stop();
              barOn = false;
            }
            say(`- ${PHASES[p]}${d ? `: ${d}` : ""}`);
          },
          onProgress: (done, total) => {
            if (o.json) return;
            if (!barOn) {
              bar.start(total, done);
              barOn = true;
            } else bar.update(done);
          },
        }).finally(() => {
          if (barOn) bar.stop();
        });
        // stdout.write, not console.log: EspruinoTools' late log lines are still routed away from console
        const out = (l: string) => process.stdout.write(l + "\n");
        if (o.json) out(JSON.stringify(r));
        else {
          out(`flashed device ${r.id}: firmware ${r.firmware} for ${r.board} (${r.bytes} bytes in ${r.slot}, sha256 ${r.sha256.slice(0, 16)}…) in ${(r.uploadMs / 1000).toFixed(1)} s`);
          out(
            r.info
              ? `verified: device ${r.id} answers over the Varde protocol with firmware ${r.firmware}`
              : `not verified over the Varde protocol here: board ${r.board} talks to the gateway over BLE; check that the gateway sees device ${r.id}`,
          );
        }
      }),
    );
}
