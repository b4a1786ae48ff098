// The error of a wrong setting, in a module of its own so that the settings declared
// beside their layer (src/auth/settings.ts) throw the same error config.ts does.

/** A wrong value for a setting: start-up stops with this one line. */
export class ConfigError extends Error {}
