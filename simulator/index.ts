// Public API of the simulator (docs/architecture.md: other folders import only this file).
export { VirtualClock, RealtimeClock, DEFAULT_EPOCH_MS, type Clock, type ClockTimer, type VirtualClockOptions } from "./clock.ts";
export { createPrng, hash32, type Prng } from "./prng.ts";
export { Flash, FlashFullError, FlashUsageError, NAME_MAX, type FlashOptions, type FlashStats } from "./flash.ts";
export { SimDevice, type SimDeviceOptions, type UncaughtRecord } from "./device.ts";
export { EspruinoRuntime, ESPRUINO_VERSION, batteryPercent, type GlobalProvider, type RuntimeHost } from "./espruino/runtime.ts";
export { Realm, toBytes, bytesToString } from "./espruino/realm.ts";
export { PinBank, pinNumber, PIN_COUNT, type PinChange, type PinMode } from "./espruino/pins.ts";
export { DeviceTime } from "./espruino/device-time.ts";
export { MISSING_GLOBALS, MISSING_MEMBERS } from "./espruino/strip.ts";
export { BASELINE_VARS } from "./espruino/memory.ts";
export { Button, type ButtonOptions } from "./peripherals/button.ts";
export { Led } from "./peripherals/led.ts";
export { Buzzer, type BuzzerState } from "./peripherals/buzzer.ts";
export { Battery, Mains } from "./peripherals/power.ts";
export { OutputHistory, type OutputChange } from "./peripherals/output-history.ts";
export { rolePin } from "./peripherals/pin-role.ts";
export { DataListeners, type LinkEnd } from "./links/link.ts";
export { createMemoryLinkPair, type MemoryLinkOptions } from "./links/memory.ts";
