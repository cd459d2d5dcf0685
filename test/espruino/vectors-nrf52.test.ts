// Golden vectors through the firmware protocol code on espruino-nrf52 (see vectors-real.ts).
import { vectorSuite } from "./vectors-real.ts";

vectorSuite("nrf52");
