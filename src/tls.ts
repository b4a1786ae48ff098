// HTTPS for the HTTP port: browsers allow getUserMedia (the whip/ page) only in a
// secure context, so a server reached by name rather than localhost needs TLS.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads TLS_CERT and TLS_KEY and checks they are a PEM certificate and its key,
 * so that a wrong file stops start-up with one line rather than failing on the
 * first browser's handshake.
 */
export function readTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const files = { cert: readSetting('TLS_CERT', certPath), key: readSetting('TLS_KEY', keyPath) };
  try {
    createSecureContext(files);
  } catch (error) {
    throw new ConfigError(`TLS_CERT and TLS_KEY are not a PEM certificate and its private key (${(error as Error).message})`);
  }
  return files;
}

function readSetting(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new ConfigError(`${name}: cannot read "${file}": ${why}`);
  }
}
