// Public surface of the simulated BLE world: the air (radio), simulated nRF52 peripherals with Espruino's
// NRF/Bluetooth globals, and a fake noble central for the gateway's BLE transport.
export { BleRadio, BleConnection, BleError, realtimeScheduler, type BleScheduler, type BleFaults, type BleRadioOptions, type RadioStats } from "./radio.ts";
export { SimBlePeripheral, NUS_SERVICE, NUS_RX, NUS_TX, type SimBlePeripheralOptions } from "./peripheral.ts";
export { createEspruinoBle, type EspruinoBleHost, type EspruinoBleGlobals } from "./espruino-ble.ts";
export { FakeNoble, FakePeripheral, FakeCharacteristic, type FakeNobleOptions } from "./fake-noble.ts";
export { normUuid, espruinoToBytes } from "./bytes.ts";
export { clockScheduler, clockTimers } from "./clock-scheduler.ts";
export { bleProvider } from "./provider.ts";
