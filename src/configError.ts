// The error of a wrong setting, and the parsers more than one settings module needs, in a
// module of their own so that the settings declared beside their layer (src/auth/settings.ts,
// src/cluster/settings.ts) read and refuse values as config.ts does.

/** A wrong value for a setting: start-up stops with this one line. */
export class ConfigError extends Error {}

/** A limit: a whole number, 0 meaning none. */
export function limit(name: string) {
  return (raw: string): number => {
    if (!/^\d{1,7}$/.test(raw)) throw new ConfigError(`${name} must be a whole number (0 for no limit), got "${raw}"`);
    return Number(raw);
  };
}

/**
 * An http: or https: URL (as URL.href), or undefined when empty. fetch refuses a URL with a
 * user or password, so every request to it would fail: refused now, with the sentence `withCredentials`.
 */
export function optionalHttpUrl(name: string, withCredentials: string) {
  return (raw: string): string | undefined => {
    if (raw === '') return undefined;
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    if (url === undefined || !/^https?:$/.test(url.protocol)) throw new ConfigError(`${name} must be an http:// or https:// URL, got "${raw}"`);
    if (url.username !== '' || url.password !== '') throw new ConfigError(withCredentials);
    return url.href;
  };
}
