// Where `varde flash` gets its bundle: built now for the board (firmware/build), or a file given with
// --bundle (with --firmware-version, since a bare file does not say which version it reports).
import * as fs from "node:fs";
import { buildFirmware } from "../../firmware/build/index.ts";
import type { Bundle } from "./flash.ts";

export async function bundleFor(board: string, file?: string, version?: string): Promise<Bundle> {
  if (file) {
    if (!fs.existsSync(file)) throw new Error(`--bundle ${file} does not exist`);
    if (!version) throw new Error(`--bundle ${file} needs --firmware-version <v> (the version the bundle reports), so the final check knows what to expect`);
    return { code: fs.readFileSync(file, "latin1"), version };
  }
  const r = await buildFirmware(board, { noWrite: true, ...(version ? { version } : {}) });
  return { code: r.code, version: r.version };
}
