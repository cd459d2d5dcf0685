// Build-time constants (Espruino subset). The firmware build (firmware/build/index.ts) defines every leaf
// of hardware/<board>.toml as BOARD.<table>.<key> (an esbuild define), so each use is a literal in the
// code, which runs from flash: the board costs no RAM. Code must name leaves (BOARD.pins.button), never
// a table (BOARD.pins): the build fails on any BOARD that is left over. FIRMWARE_VERSION is package.json's.
declare global {
  const BOARD: {
    id: string;
    kind: string;
    memory: any;
    pins: any;
    battery: any;
    data: any;
    defaults: any;
    dispenser: any;
  };
  const FIRMWARE_VERSION: string;
}
export {};
