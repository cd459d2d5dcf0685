// Which Espruino builds (process.env.BOARD as the interpreter reports it) run on which chip of our
// hardware/*.toml boards. Used by `varde flash` to refuse a bundle built for another board before
// anything is written. Names are the upstream Espruino board file names.
const BY_CHIP: Record<string, string[]> = {
  ESP32: ["ESP32"],
  "ESP32-C3": ["ESP32C3_IDF4", "ESP32C3"],
  nRF52832: ["PUCKJS", "MDBT42Q", "PIXLJS", "NRF52832DK", "RAK8212", "BANGLEJS"],
  nRF52840: ["NRF52840DK", "JOLTJS", "BANGLEJS2", "PUCKJS"],
  // the upstream interpreter built for Linux in the boards' sizes (hardware/*-host.toml, tests)
  "Linux (nRF52-sized)": ["LINUX_NRF52"],
  "Linux (ESP32-sized)": ["LINUX_ESP32"],
};

/** True when an Espruino reporting `espruinoBoard` can run firmware for `chip`; unknown chips pass. */
export function boardFitsChip(espruinoBoard: string, chip: string): boolean {
  const ok = BY_CHIP[chip];
  return !ok || ok.includes(espruinoBoard);
}

export function expectedBoards(chip: string): string[] {
  return BY_CHIP[chip] ?? [];
}

/** Every Espruino board name in the table. */
export function allEspruinoBoards(): string[] {
  return [...new Set(Object.values(BY_CHIP).flat())];
}
