// `varde build [board...]`: builds firmware bundles (all boards in hardware/ when none are named) and
// prints each bundle's size against its budget.
import type { Command } from "commander";
import { buildBoards } from "../../firmware/build/build.ts";

export function register(program: Command): void {
  program
    .command("build")
    .description("build firmware bundles into dist/firmware/<board>.js (every board in hardware/ when none given)")
    .argument("[board...]", "board ids (hardware/<id>.toml) or paths to board .toml files")
    .action(async (boards: string[]) => {
      const ok = await buildBoards(boards, (l) => console.log(l));
      if (!ok) process.exitCode = 1;
    });
}
