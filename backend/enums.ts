// Enum values of protocol/varde.proto, by name, read from the schema itself (so the backend never
// re-spells a number): lookupEnum("FaultCode").FAULT_MOTOR_JAM === 1; enumName("FaultCode", 1).
import protobuf from "protobufjs";
import { PACKAGE, root } from "../protocol/schema.ts";

export function lookupEnum(name: string): Record<string, number> {
  const e = root.lookup(`${PACKAGE}.${name}`);
  if (!(e instanceof protobuf.Enum)) throw new Error(`protocol/varde.proto has no enum ${name}`);
  return e.values;
}

/** The proto name of an enum number ("FAULT_MOTOR_JAM"), or the number as text when unknown. */
export function enumName(name: string, value: number): string {
  const e = root.lookup(`${PACKAGE}.${name}`) as protobuf.Enum;
  return e.valuesById[value] ?? String(value);
}
