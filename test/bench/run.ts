// `make bench`: prints each benchmark as a ratio against its baseline measured in the same run.
// BENCH_SCALE=0.1 for a quick look.
import { formatRows, runBench } from "./bench.ts";

const scale = Number(process.env.BENCH_SCALE ?? "1");
console.log(formatRows(await runBench(scale)));
