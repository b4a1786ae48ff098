// The library's settings: the command line's settings as one typed object, camelCase
// (HTTP_PORT is httpPort), each read by the same parser with the same default, so a
// wrong value throws the same ConfigError sentence the command line prints.
import { ConfigError, configFrom, type Config } from '../config';

/**
 * Every setting of the README's table but LOG_LEVEL (see `log`), each optional with the
 * same default: numbers, strings, `record` a boolean, lists (`publicIps`, `iceServers`:
 * the URIs ICE_SERVERS takes) as arrays, durations in milliseconds.
 */
export type OnecastSettings = { [K in Exclude<keyof Config, 'logLevel' | 'iceServers'>]?: Exclude<Config[K], undefined> } & {
  iceServers?: string[];
};

/** What a setting's environment variable would say for a typed value. */
function textOf(key: keyof Config, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.map(String).join(',');
  // Durations (the keys ending in Ms) are read with a unit: whole seconds as such (every
  // duration setting takes s), others in ms (which a setting that cannot take them refuses).
  if (key.endsWith('Ms') && typeof value === 'number') return value === 0 ? '0' : value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
  return String(value);
}

/**
 * The Config `options` ask for. `logLevel`: LOG_LEVEL's text when the caller gave a level
 * rather than a logger; `others`: the option names that are not settings (log, authorize, …).
 */
export function configOf(options: object, logLevel: string | undefined, others: readonly string[]): Config {
  const given = options as Record<string, unknown>;
  const config = configFrom((_env, key) => {
    if (key === 'logLevel') return logLevel;
    const value = given[key];
    return value === undefined ? undefined : textOf(key, value);
  });
  // As the command line refuses an unknown flag: a misspelt option must not silently mean the default.
  const unknown = Object.keys(given).find((name) => name === 'logLevel' || (!(name in config) && !others.includes(name)));
  if (unknown !== undefined) throw new ConfigError(`unknown option "${unknown}"; the README's Library section lists the options`);
  return config;
}
