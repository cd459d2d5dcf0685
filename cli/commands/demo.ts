// `varde demo`: embedded broker + gateway + simulated alarm button on a pseudo-terminal, in real time
// (cli/demo/run-demo.ts). Interactive on a terminal; one scripted cycle otherwise or with --scripted.
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the demo: embedded broker, gateway and a simulated alarm button (no hardware)")
    .option("--board <id>", "board file of the simulated button", "alarm-esp32")
    .option("--scripted", "run one press → event → acknowledgement cycle and exit (default without a terminal)")
    .option("--manual-ack", "the responder does not acknowledge by itself: press a")
    .option("--ack-after <s>", "seconds before the responder acknowledges an alarm", "3")
    .action(async (opts: { board: string; scripted?: boolean; manualAck?: boolean; ackAfter: string }) => {
      const { runDemo } = await import("../demo/run-demo.ts");
      const code = await runDemo({
        board: opts.board,
        scripted: opts.scripted === true || !process.stdin.isTTY,
        autoAckMs: opts.manualAck ? null : Math.round(Number(opts.ackAfter) * 1000),
        timeoutMs: 60_000,
        print: (l) => console.log(l),
      });
      process.exit(code);
    });
}
