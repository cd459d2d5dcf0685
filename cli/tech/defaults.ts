// Defaults shared by the technician commands.

/** Registry file when --registry is not given: $VARDE_REGISTRY or ./registry.toml. */
export const DEFAULT_REGISTRY = process.env.VARDE_REGISTRY || "registry.toml";
