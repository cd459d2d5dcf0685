// `varde provision`: a new device identity (id, 32-byte key, kind, board) appended to the registry the
// gateway reads. The key is generated here and leaves this machine only in the registry file (mode 0600)
// and, at `varde flash`, in the device's Storage file varde.id.
import * as fs from "node:fs";
import * as path from "node:path";
import { appendDevice, loadRegistry, newDeviceKey, nextDeviceId, type DeviceEntry, type DeviceKindName } from "../../gateway/registry.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { deviceLabel } from "./label.ts";

export interface ProvisionOptions {
  registry: string;
  kind: string;
  board: string;
  label?: string;
  /** explicit id; default: the next free id at or above 1001 */
  id?: number;
  /** clock for the `created` stamp (tests) */
  now?: () => Date;
}

// Words, the same in every command and its JSON: `label` is the free text for people ("Storgata 3B,
// Ola N.", the registry's label); `sticker` is "<id>-<check code>", printed on the device's sticker.
export interface Provisioned {
  entry: DeviceEntry;
  /** "<id>-<check code>" for the sticker */
  sticker: string;
}

export function provisionDevice(o: ProvisionOptions): Provisioned {
  if (o.kind !== "alarm" && o.kind !== "dispenser")
    throw new Error(`--kind ${JSON.stringify(o.kind)} is not a device kind; use --kind alarm or --kind dispenser`);
  const board = loadBoard(o.board);
  if (board.kind !== o.kind)
    throw new Error(`board "${board.id}" (${board.file}) is for ${board.kind} devices, not ${o.kind}; pick a ${o.kind} board or change --kind`);
  const dir = path.dirname(path.resolve(o.registry));
  if (!fs.existsSync(dir)) throw new Error(`--registry ${o.registry}: the folder ${dir} does not exist; create it (mkdir -p ${dir}) or give a registry in an existing folder`);
  if (fs.existsSync(o.registry) && fs.statSync(o.registry).isDirectory()) throw new Error(`--registry ${o.registry} is a directory; give the registry file, e.g. ${path.join(o.registry, "registry.toml")}`);
  const reg = loadRegistry(o.registry);
  let id: number;
  if (o.id !== undefined) {
    if (!Number.isInteger(o.id) || o.id < 1 || o.id > 0xffffffff) throw new Error(`--id ${o.id} must be a whole number 1..4294967295`);
    if (reg.byId.has(o.id)) throw new Error(`${o.registry}: id ${o.id} is already provisioned; omit --id to take the next free one`);
    id = o.id;
  } else id = nextDeviceId(reg);
  const entry: DeviceEntry = {
    id,
    kind: o.kind as DeviceKindName,
    board: board.id,
    key: newDeviceKey(),
    label: o.label ?? "",
    created: (o.now ? o.now() : new Date()).toISOString(),
  };
  try {
    appendDevice(o.registry, entry);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES") throw new Error(`--registry ${o.registry}: permission denied writing it; run as the user that owns it (the gateway's registry is usually /etc/varde/registry.toml, owned by root: use sudo)`);
    throw e;
  }
  return { entry, sticker: deviceLabel(entry.id, entry.key) };
}
