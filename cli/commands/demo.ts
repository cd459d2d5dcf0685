// `varde demo`: the alarm button and the medication dispenser, simulated, through the real gateway and its
// embedded broker, in real time (cli/demo/run-demo.ts). Interactive on a terminal; the scripted cycles
// otherwise or with --scripted. Exit 0 done, 1 a step failed (the logs stay), 2 a wrong option.
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the demo: alarm button + medication dispenser (simulated), gateway, embedded broker, response centre — no hardware")
    .option("--board <id>", "the alarm button's board: alarm-esp32 (serial) or alarm-nrf52 (BLE); the dispenser is dispenser-esp32", "alarm-esp32")
    .option("--scripted", "run the alarm cycle and one dose cycle, then exit (default without a terminal)")
    .option("--manual-ack", "the responder does not acknowledge alarms by itself: press a")
    .option("--ack-after <s>", "seconds before the responder acknowledges an alarm", "3")
    .option("--speed <n>", "how much faster than real time the dispenser's clock skips the waits between doses", "60")
    .option("--timeout <s>", "give up a scripted step after this many seconds", "60")
    .option("--log-dir <dir>", "where the demo keeps its logs (default: .varde/demo in the repository)")
    .action(async (opts: { board: string; scripted?: boolean; manualAck?: boolean; ackAfter: string; speed: string; timeout: string; logDir?: string }) => {
      const { runDemo, DemoUsageError } = await import("../demo/run-demo.ts");
      const ackAfter = Number(opts.ackAfter);
      const speed = Number(opts.speed);
      const timeout = Number(opts.timeout);
      const usage = (m: string) => {
        console.error(`varde demo: ${m}`);
        process.exit(2);
      };
      if (!(ackAfter >= 0)) usage(`--ack-after ${opts.ackAfter}: give seconds, e.g. 3 or 0.5`);
      if (!(timeout > 0)) usage(`--timeout ${opts.timeout}: give seconds, e.g. 60`);
      if (!(speed >= 1 && speed <= 1000)) usage(`--speed ${opts.speed}: give a number from 1 (real time) to 1000`);
      try {
        const code = await runDemo({
          board: opts.board,
          scripted: opts.scripted === true || !process.stdin.isTTY,
          autoAckMs: opts.manualAck ? null : Math.round(ackAfter * 1000),
          timeoutMs: Math.round(timeout * 1000),
          speed,
          logDir: opts.logDir,
          print: (l) => console.log(l),
        });
        process.exit(code);
      } catch (e) {
        if (e instanceof DemoUsageError) usage(e.message);
        throw e;
      }
    });
}
