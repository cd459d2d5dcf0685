// MQTT.js and mqtt-packet log through the `debug` package on every packet they parse or write
// (`debug("parse: …", …)`). Its log function takes rest parameters, so every call allocates an array even
// when no DEBUG namespace is enabled: a tenth of everything the gateway allocated per relayed event
// (make bench, allocation profile at 1,000 sessions), and garbage the collector has to chase. Before the
// gateway loads MQTT.js, this puts a silent `debug` into Node's module cache at the path those two
// packages resolve it to. With DEBUG set in the environment nothing is replaced and their logging works
// as documented (e.g. DEBUG=mqttjs*,mqtt-packet:* to trace the broker traffic).
import { createRequire, Module } from "node:module";

const require = createRequire(import.meta.url);

type DebugFn = ((...args: unknown[]) => void) & { enabled: boolean; namespace: string; extend: (sub: string) => DebugFn; log: () => void; destroy: () => boolean };

/** `debug(namespace)` that logs nothing and allocates nothing per call. */
function silentDebug(namespace: string): DebugFn {
  const f = (() => undefined) as unknown as DebugFn;
  f.enabled = false;
  f.namespace = namespace;
  f.extend = (sub: string) => silentDebug(`${namespace}:${sub}`);
  f.log = () => undefined;
  f.destroy = () => true;
  return f;
}
const createSilent = Object.assign(silentDebug, { enable: () => undefined, disable: () => "", enabled: () => false, names: [], skips: [], formatters: {} });

/** Returns the files where `debug` was replaced (empty: DEBUG is set, or it was loaded already). */
export function silenceMqttDebug(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.DEBUG) return [];
  const done: string[] = [];
  for (const pkg of ["mqtt", "mqtt-packet"]) {
    let file: string;
    try {
      file = createRequire(require.resolve(pkg)).resolve("debug");
    } catch {
      continue; // not installed where the gateway runs: nothing to silence
    }
    if (require.cache[file]) continue; // loaded already (by someone who may log with it): leave it
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = createSilent;
    require.cache[file] = m;
    done.push(file);
  }
  return done;
}
