// `varde flash`: put a built firmware bundle and a device identity on a device, then prove over the
// Varde protocol that it boots and answers as that device. Steps (each failure says what to do):
//  1. registry entry and board agree; bundle fits the board's Storage budget
//  2. find the REPL on the port; if production firmware answers instead, ask it for maintenance access
//     (Command MAINTENANCE, authenticated with the key of the id it reports)
//  3. connect with EspruinoTools; refuse a device whose Espruino build or previous Varde board differ
//  4. free the idle slot (or resume an interrupted upload of the same bundle there), check space, stage
//     the bundle in chunks, read its SHA-256 back
//  5. commit (identity, loader, pointer: see boot-layout.ts), reboot with load()
//  6. Hello over the Varde protocol: expected id (MAC with the device key), firmware version, board
import { loadRegistry, type DeviceEntry } from "../../gateway/registry.ts";
import { loadBoard, type Board } from "../../hardware/boards.ts";
import { chunkDigestsExpr, commitExpr, dropActiveExpr, installLoaderExpr, eraseExpr, hashExpr, idleSlot, resumePoint, unusedSlots, SLOTS, stateExpr, storageCost, LOADER, type BootPointer } from "./boot-layout.ts";
import { boardFitsChip, expectedBoards } from "./espruino-boards.ts";
import { EspruinoError, openEspruino, type EspruinoSession } from "./espruino-tools.ts";
import { LinkError, openLink, portKind } from "./link.ts";
import { KIND_NAMES, VardeClient, type DeviceFrame } from "./varde-client.ts";
import { createHash } from "node:crypto";

export interface Bundle {
  /** the JavaScript that runs on the device */
  code: string;
  /** firmware version the bundle reports in DeviceInfo.firmware */
  version: string;
}

export type Phase = "prepare" | "connect" | "maintenance" | "check" | "upload" | "verify" | "commit" | "reboot" | "handshake" | "done";

export interface FlashOptions {
  port: string;
  /** board id or path of a hardware .toml */
  board: string;
  device: number;
  registry: string;
  /** the bundle to flash (built by the caller: see bundle.ts) */
  bundle: Bundle;
  baudRate?: number;
  /** no pause after each Storage chunk (USB CDC, TCP, simulator); default: pause as the Espruino CLI does */
  fast?: boolean;
  /** flash even if the device last ran firmware for another board */
  force?: boolean;
  /** how long to wait for the rebooted firmware's DeviceInfo */
  handshakeMs?: number;
  /** skip the final protocol check (BLE ports, where the check goes through the gateway) */
  noVerify?: boolean;
  /** where the firmware's frames go when that is not the console port (a host board keeps its console on
   *  stdin/telnet and speaks Varde on a UART): the final handshake opens this port instead */
  dataPort?: string;
  onPhase?: (phase: Phase, detail?: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface FlashResult {
  id: number;
  board: string;
  firmware: string;
  slot: string;
  bytes: number;
  sha256: string;
  espruino: { board: string; version: string };
  /** DeviceInfo seen after the reboot (absent with noVerify) */
  info?: Record<string, unknown>;
  uploadMs: number;
}

export class FlashError extends Error {}

// upload lines (384 bytes each) per round trip: progress every 1.5 KB without many extra round trips
const LINES_PER_SEND = 4;

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "latin1").digest("hex");
}

function deviceEntry(registry: string, id: number): DeviceEntry {
  const reg = loadRegistry(registry);
  const e = reg.byId.get(id);
  if (!e) throw new FlashError(`device ${id} is not in the registry ${registry}: provision it first (varde provision --kind ... --board ... --registry ${registry}) or pass the right --registry`);
  return e;
}

/** Answers from the REPL? Ctrl-C clears any half-typed line, echo comes back on (the tools wait for the
 * prompt, which echo(0) hides), then an echo-off print of a marker. */
async function replAnswers(port: string, baudRate: number | undefined, ms: number): Promise<boolean> {
  const link = await openLink(port, baudRate);
  try {
    let seen = "";
    const got = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      link.onData((b) => {
        seen += b.toString("latin1");
        if (seen.includes("varde-repl-ok")) {
          clearTimeout(t);
          resolve(true);
        }
      });
    });
    link.write("\x03");
    setTimeout(() => link.write('\x10echo(1);print("varde-repl-"+"ok")\n'), 100);
    return await got;
  } finally {
    await link.close();
  }
}

/** Talks to production firmware: who are you? Then asks for maintenance access. */
async function requestMaintenance(o: FlashOptions, board: Board, baud: number | undefined): Promise<DeviceFrame | undefined> {
  const reg = loadRegistry(o.registry);
  const link = await openLink(o.port, baud);
  const client = new VardeClient(link, (id) => reg.byId.get(id)?.keyBytes);
  try {
    const hello = await client.hello(2500);
    if (!hello) return undefined;
    const info = hello.env.info;
    if (info.board && info.board !== board.id && !o.force)
      throw new FlashError(
        `wrong board: the device on ${o.port} runs Varde firmware for board "${info.board}", you asked for "${board.id}". ` +
          `Check the board file (--board) or the device; pass --force to re-flash it for "${board.id}" anyway`,
      );
    if (!hello.verified)
      throw new FlashError(
        `the device on ${o.port} runs Varde firmware as device ${hello.env.device}, but ${hello.problem}. ` +
          `Maintenance access needs that key: use the registry it was provisioned with, or hold its button for 5 s while powering it on to get the REPL (firmware/README.md)`,
      );
    o.onPhase?.("maintenance", `device ${hello.env.device} runs firmware ${info.firmware}: asking for maintenance access`);
    client.maintenance(hello.env.device);
    await new Promise((r) => setTimeout(r, 600)); // the firmware moves its console 300 ms after the command

    return hello;
  } finally {
    client.close();
    await link.close();
  }
}

export async function flashDevice(o: FlashOptions): Promise<FlashResult> {
  const phase = (p: Phase, d?: string) => o.onPhase?.(p, d);
  phase("prepare");
  const entry = deviceEntry(o.registry, o.device);
  const board = loadBoard(o.board);
  if (entry.board !== board.id && !o.force)
    throw new FlashError(`device ${entry.id} was provisioned for board "${entry.board}" (${o.registry}), not "${board.id}": pass --board ${entry.board}, or --force if the registry is wrong`);
  if (entry.kind !== board.kind) throw new FlashError(`device ${entry.id} is a ${entry.kind}, but board "${board.id}" is for ${board.kind} devices`);
  const code = o.bundle.code;
  const need = storageCost(code.length) + storageCost(LOADER.length) + storageCost(200) * 2;
  if (need > board.memory.storage_bytes)
    throw new FlashError(`not enough flash: the bundle needs ${need} bytes of Storage with the loader and identity, board "${board.id}" has ${board.memory.storage_bytes} (memory.storage_bytes in ${board.file})`);

  // 2. the REPL, possibly behind production firmware
  phase("connect", o.port);
  const kind = portKind(o.port);
  const baud = o.baudRate ?? board.data.baud;
  if (kind !== "ble") {
    if (!(await replAnswers(o.port, baud, 1000))) {
      const hello = await requestMaintenance(o, board, baud);
      if (!hello || !(await replAnswers(o.port, baud, 2000)))
        throw new FlashError(
          hello
            ? `device ${hello.env.device} on ${o.port} did not hand over its console after the maintenance command. Hold its button for 5 s while powering it on to get the REPL (firmware/README.md), then retry`
            : `no Espruino answering on ${o.port}: no REPL prompt and no Varde firmware. Check power and cable` +
                (kind === "serial" ? `, the baud rate (--baud, board says ${board.data.baud ?? "n/a"})` : "") +
                `, or hold the button for 5 s while powering on to force the REPL (firmware/README.md)`,
        );
    }
  }

  // 3. EspruinoTools session
  let s: EspruinoSession;
  try {
    s = await openEspruino(o.port, { baudRate: baud, fastStorage: o.fast });
  } catch (e) {
    if (e instanceof LinkError || e instanceof EspruinoError) throw new FlashError(e.message);
    throw e;
  }
  // A device taken out of production (maintenance) must not be left at the REPL by a refusal: while
  // its running app is intact, errors before the commit restart it into that app.
  let intact: BootPointer | null = null;
  let committed = false;
  try {
    const espBoard = String(s.env.BOARD ?? "");
    const espVersion = String(s.env.VERSION ?? "");
    if (!espBoard) throw new FlashError(`no Espruino answering on ${o.port}: it did not report process.env (check baud rate and cable; VARDE_DEBUG=1 shows the traffic)`);
    if (!boardFitsChip(espBoard, board.chip) && !o.force)
      throw new FlashError(
        `wrong board: the device reports Espruino board ${espBoard} (${espVersion}); board "${board.id}" is a ${board.chip} (${expectedBoards(board.chip).join(", ")}). ` +
          `Pick the right --board (varde flash --board <id>), or --force`,
      );
    phase("check", `Espruino ${espBoard} ${espVersion}`);
    const st = (await s.evaluate(stateExpr(), 10)) as
      | { free: number; boot: BootPointer | null; id: unknown; loader: boolean; bootcde: number | null; slots: Record<string, number | null> }
      | undefined;
    if (!st) throw new FlashError(`the Espruino on ${o.port} did not answer a Storage query (is require("Storage") available? VARDE_DEBUG=1 shows the traffic)`);
    intact = st.boot;
    if (st.boot && st.boot.b && st.boot.b !== board.id && !o.force)
      throw new FlashError(`wrong board: the device was last flashed for board "${st.boot.b}" (firmware ${st.boot.v}), you asked for "${board.id}". Check --board, or pass --force to replace it`);

    // an earlier upload of this same bundle that was cut short resumes where it stopped
    let slot = idleSlot(st.boot);
    if (!st.boot) slot = SLOTS.find((x) => st.slots[x] === code.length) ?? slot;
    let resumeAt = -1;
    if (st.slots[slot] === code.length) {
      const digests = (await s.evaluate(chunkDigestsExpr(slot, s.uploadChunk), 30)) as number[] | null | undefined;
      if (digests) resumeAt = resumePoint(code, s.uploadChunk, digests);
    }
    const toErase = unusedSlots(st.boot).filter((x) => !(resumeAt >= 0 && x === slot));
    let free = (await s.evaluate(eraseExpr(toErase, false), 10)) as number;
    // the bundle unless resuming, the loader unless already there, the new pointer (identity is rewritten in place)
    let loaderThere = st.loader;
    const need = () => (resumeAt >= 0 ? 0 : storageCost(code.length)) + (loaderThere ? 0 : storageCost(LOADER.length)) + storageCost(256);
    if (typeof free === "number" && free < need()) free = (await s.evaluate(eraseExpr(toErase, true), 30)) as number;
    if (typeof free === "number" && free < need() && !loaderThere && st.bootcde !== null && free + storageCost(st.bootcde) >= need()) {
      phase("check", `not enough flash to keep the current boot code (.bootcde, ${st.bootcde} bytes, not written by varde flash) while uploading: replacing it with the Varde loader first (until the upload completes, the device boots to the REPL)`);
      free = (await s.evaluate(installLoaderExpr(), 30)) as number;
      loaderThere = true;
    }
    if (typeof free === "number" && free < need() && st.boot && free + storageCost(st.boot.n) >= need()) {
      phase("check", `not enough flash to keep firmware ${st.boot.v} while uploading: replacing it in place (until the upload completes, the device boots to the REPL)`);
      intact = null;
      free = (await s.evaluate(dropActiveExpr(st.boot.f), 30)) as number;
    }
    if (typeof free !== "number") throw new FlashError(`the device on ${o.port} stopped answering while preparing its Storage`);
    const needDev = need();
    if (free < needDev)
      throw new FlashError(
        `not enough flash on the device: the bundle needs ${needDev} bytes, ${free} are free after compacting. ` +
          `Remove other Storage files (require("Storage").list() at the REPL) or use a smaller build`,
      );

    // 4. stage (one upload line per uploadChunk bytes, as EspruinoTools writes Storage files)
    const lines: string[] = s.uploadFileCode(slot, code).split("\n");
    const chunk = s.uploadChunk;
    const first = resumeAt > 0 ? resumeAt : 0;
    phase(
      "upload",
      first >= lines.length
        ? `${code.length} bytes already staged in ${slot} by an earlier attempt`
        : first > 0
          ? `resuming at byte ${first * chunk} of ${code.length} in ${slot} (the rest was staged by an earlier attempt)`
          : `${code.length} bytes to ${slot}`,
    );
    const t0 = Date.now();
    let sent = Math.min(code.length, first * chunk);
    o.onProgress?.(sent, code.length);
    for (let i = first; i < lines.length; i += LINES_PER_SEND) {
      const group = lines.slice(i, i + LINES_PER_SEND);
      const bytes = Math.min(code.length, (i + group.length) * chunk) - sent;
      try {
        await s.send(group.join("\n"));
      } catch (e) {
        throw new FlashError(interrupted(o, sent, code.length) + ` (${(e as Error).message})`);
      }
      sent += bytes;
      o.onProgress?.(sent, code.length);
    }
    const uploadMs = Date.now() - t0;
    if (/Uncaught|Not enough free space/.test(s.output()))
      throw new FlashError(`the device reported an error while storing the bundle: ${lastLines(s.output())}. Nothing was switched; retry, or check free flash`);

    // verify
    phase("verify");
    const want = sha256Hex(code);
    const got = (await s.evaluate(hashExpr(slot), 30)) as { n: number; h: string } | null | undefined;
    if (!got || got.n !== code.length || got.h !== want)
      throw new FlashError(
        `the staged bundle in ${slot} does not match what was sent (${got ? `${got.n} bytes, sha ${got.h.slice(0, 12)}…` : "missing"}; expected ${code.length} bytes, sha ${want.slice(0, 12)}…). ` +
          `Nothing was switched: the device still boots its previous firmware. Retry`,
      );

    // 5. commit and reboot
    phase("commit");
    const pointer: BootPointer = { f: slot, n: code.length, h: want, v: o.bundle.version, b: board.id };
    const ok = await s.evaluate(commitExpr({ id: entry.id, key: entry.key, kind: entry.kind }, pointer), 20);
    if (ok !== "ok") throw new FlashError(`the device did not confirm the switch to the new firmware (${lastLines(s.output())}); run varde probe to see what it boots, or retry`);
    committed = true;
    phase("reboot");
    await s.reboot();
    await s.close();

    const result: FlashResult = {
      id: entry.id,
      board: board.id,
      firmware: o.bundle.version,
      slot,
      bytes: code.length,
      sha256: want,
      espruino: { board: espBoard, version: espVersion },
      uploadMs,
    };
    // BLE boards speak the Varde protocol over BLE only: their check goes through the gateway
    if (o.noVerify || kind === "ble" || board.data.transport === "ble") return result;

    // 6. handshake
    phase("handshake");
    const reg = loadRegistry(o.registry);
    const link = await openLink(o.dataPort ?? o.port, baud);
    const client = new VardeClient(link, (id) => reg.byId.get(id)?.keyBytes);
    try {
      const f = await client.hello(o.handshakeMs ?? 10_000);
      if (!f)
        throw new FlashError(
          `the bundle was written and the device rebooted, but it did not answer a Varde Hello within ${Math.round((o.handshakeMs ?? 10_000) / 1000)} s` +
            (client.noise ? `; it printed: ${lastLines(client.noise)}` : "") +
            `. Check the firmware's console output (varde probe, or a terminal on the port)`,
        );
      const info = f.env.info;
      if (f.env.device !== entry.id) throw new FlashError(`the device answers as id ${f.env.device}, expected ${entry.id}: the identity write did not take; retry`);
      if (!f.verified) throw new FlashError(`device ${entry.id} answered, but ${f.problem}`);
      if (info.firmware !== o.bundle.version) throw new FlashError(`device ${entry.id} reports firmware "${info.firmware}", expected "${o.bundle.version}": it did not boot the new bundle; retry`);
      if (info.board && info.board !== board.id) throw new FlashError(`device ${entry.id} reports board "${info.board}", expected "${board.id}"`);
      if (KIND_NAMES[info.kind] && KIND_NAMES[info.kind] !== entry.kind) throw new FlashError(`device ${entry.id} reports kind ${KIND_NAMES[info.kind]}, the registry says ${entry.kind}`);
      result.info = info;
    } finally {
      client.close();
      await link.close();
    }
    phase("done");
    return result;
  } catch (e) {
    if (!committed && intact && s.connected() && e instanceof FlashError) {
      await s.reboot().catch(() => undefined);
      e.message += ` (the device was restarted into its firmware ${intact.v})`;
    }
    throw e;
  } finally {
    await s.close(); // also ends a session whose link was lost
  }
}

function interrupted(o: FlashOptions, sent: number, total: number): string {
  return (
    `upload interrupted after ${sent} of ${total} bytes on ${o.port}. Nothing was switched: the device still boots its previous firmware ` +
    `(or stays at the REPL if it had none). Run the same varde flash command again: it resumes where this one stopped`
  );
}

function lastLines(text: string): string {
  return text
    .replace(/[\x00-\x09\x0b-\x1f]/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(" | ");
}
