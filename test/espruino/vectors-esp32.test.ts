// Golden vectors through the firmware protocol code on espruino-esp32 (see vectors-real.ts).
import { vectorSuite } from "./vectors-real.ts";

vectorSuite("esp32");
