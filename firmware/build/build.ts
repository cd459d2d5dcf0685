// `npm run build` / `node --import tsx firmware/build/build.ts [board...]`: builds the firmware bundle of
// every board in hardware/ (or the named ones) into dist/firmware/<board>.js and prints the sizes.
// Exit code 1 with the reason (unsupported construct with line:column, over budget...) on failure.
import { listBoards } from "../../hardware/boards.ts";
import { buildFirmware } from "./index.ts";

export async function buildBoards(ids: string[], print: (line: string) => void): Promise<boolean> {
  const boards = ids.length > 0 ? ids : listBoards();
  let ok = true;
  for (const id of boards) {
    try {
      const r = await buildFirmware(id);
      const pct = Math.round((r.bytes * 100) / r.budget);
      print(`${r.board.id.padEnd(16)} ${String(r.bytes).padStart(6)} bytes  (${pct}% of ${r.budget} budget)  -> ${r.path}`);
    } catch (e) {
      ok = false;
      print(`${id}: BUILD FAILED\n${(e as Error).message}`);
    }
  }
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ok = await buildBoards(process.argv.slice(2), (l) => console.log(l));
  process.exit(ok ? 0 : 1);
}
