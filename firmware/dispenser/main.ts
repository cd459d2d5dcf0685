// Entry point of the dispenser bundle (dist/firmware/dispenser-*.js, saved as .bootcde).
// Without an identity in Storage "varde.id" the device cannot authenticate: it leaves the console on
// the data port (so `varde flash` / a technician can provision it), keeps the motor off and lights red.
import { board, firmwareVersion } from "../core/board.ts";
import { createEspruinoHal } from "../espruino/hal.ts";
import { runDispenser } from "./device.ts";

const b = board();
const hal = createEspruinoHal(b);
if (!runDispenser(hal, b, firmwareVersion())) {
  hal.write(b.pins.motor, false);
  hal.maintenance();
  hal.write(b.pins.led_red, true);
}
