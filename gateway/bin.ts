// Entry of the gateway process bundle (dist/gateway/varde-gateway.mjs, built by gateway/build.ts):
//   node dist/gateway/varde-gateway.mjs --config /etc/varde/gateway.toml [--quiet]
import { main } from "./main.ts";

await main(process.argv.slice(2));
