// Build-time constants (Espruino subset). The firmware build (firmware/build) defines BOARD as the JSON
// of hardware/<board>.toml (see hardware/boards.ts firmwareBoard) and FIRMWARE_VERSION as the package
// version. This is the only file that names them, so the board object appears once in the bundle.
declare const BOARD: any;
declare const FIRMWARE_VERSION: string;

/** The board definition this bundle was built for. */
export function board(): any {
  return BOARD;
}

/** The firmware version string, e.g. "0.1.0". */
export function firmwareVersion(): string {
  return FIRMWARE_VERSION;
}
