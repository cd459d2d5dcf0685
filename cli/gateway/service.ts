// Entry of the gateway's service bundle (dist/gateway/varde-gateway.mjs, built by gateway/build.ts), which
// the systemd unit runs: the same code as `varde gateway` (cli/gateway/run-gateway.ts) without commander
// and without a TypeScript loader at run time.
//   node dist/gateway/varde-gateway.mjs --config /etc/varde/gateway.toml [--quiet] [--log-format json|pretty]
import { runGatewayCli, type GatewayCliOptions } from "./run-gateway.ts";

export const USAGE = `usage: varde-gateway --config <gateway.toml> [--quiet] [--log-format json|pretty]
  -c, --config <file>      gateway configuration (TOML); example: examples/gateway.toml
  -q, --quiet              no readable lines on stdout (the structured log still goes to [log] file or stderr)
  --log-format <format>    structured log as json (default) or pretty`;

/** Parses the process's arguments; throws with the usage on anything unknown. */
export function parseServiceArgs(argv: string[]): GatewayCliOptions & { help?: boolean } {
  const o: GatewayCliOptions & { help?: boolean } = { config: "gateway.toml" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "-c" || a === "--config") o.config = value();
    else if (a.startsWith("--config=")) o.config = a.slice("--config=".length);
    else if (a === "--log-format") o.logFormat = value();
    else if (a.startsWith("--log-format=")) o.logFormat = a.slice("--log-format=".length);
    else if (a === "-q" || a === "--quiet") o.quiet = true;
    else if (a === "-h" || a === "--help") o.help = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return o;
}

let opts: ReturnType<typeof parseServiceArgs>;
try {
  opts = parseServiceArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`varde gateway: ${(e as Error).message}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}
// exit now: a failed start must not leave the process up doing nothing
process.exit(await runGatewayCli(opts));
