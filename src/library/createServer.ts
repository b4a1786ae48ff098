// onecast as a library: createServer(options) builds the whole server from typed options
// and hands back what an application needs of it: the HTTP handler to mount (or its own
// listener), typed events, a few read-outs and close().
import type http from 'node:http';
import { ConfigError, type Config } from '../config';
import type { ServerEventMap } from '../events';
import { createLogger, type Logger, type LogLevel } from '../log';
import { OnecastServer } from '../server';
import { fromCallback, type AuthorizeCallback } from './authorize';
import { configOf, type OnecastSettings } from './options';

export interface OnecastOptions extends OnecastSettings {
  /** A Logger (`info(msg, fields)`, …, `child(fields)`), or the level of JSON lines on stderr (LOG_LEVEL); default 'info'. */
  log?: Logger | LogLevel;
  /** Decides who may publish and play, in place of publishToken, playToken, streamKeys, the jwt* settings and authHookUrl (which must then be unset). */
  authorize?: AuthorizeCallback;
  /**
   * true (the default): onecast opens its own listener on httpPort and bind (HTTPS with
   * tlsCert and tlsKey). false: no listener; mount `handler` on your express app.
   */
  listen?: boolean;
}

/** The option names that are not settings. */
const NOT_SETTINGS = ['log', 'authorize', 'listen'] as const satisfies ReadonlyArray<keyof OnecastOptions>;

/** A node or express request handler: express calls `next` for what onecast has no route for. */
export type OnecastHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: (error?: unknown) => void) => void;

export interface RoomState {
  room: string;
  /** A publisher is connected and sending. */
  live: boolean;
  viewers: number;
}

type Listener<K extends keyof ServerEventMap> = (...args: ServerEventMap[K]) => void;

export interface Onecast {
  /** onecast's whole HTTP side (WHIP, WHEP, API, recordings, pages): `app.use(onecast.handler)`, at the root. */
  readonly handler: OnecastHandler;
  /** The port of onecast's own listener; undefined with `listen: false`. */
  readonly httpPort: number | undefined;
  /** The one UDP port all media goes through. */
  readonly udpPort: number;
  /** The rooms now: live or not, and their viewers. */
  rooms(): RoomState[];
  on<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this;
  once<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this;
  off<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this;
  /** Ends every session, finalizes every recording, closes the UDP port and the listener. */
  close(): Promise<void>;
}

/**
 * Starts onecast: the UDP port is bound and recording is ready when it resolves, and the
 * HTTP listener too unless `listen: false`. Throws ConfigError, with the command line's
 * sentence, on a wrong option.
 */
export async function createServer(options: OnecastOptions = {}): Promise<Onecast> {
  const { log, authorize, listen = true } = options;
  const config = configOf(options, typeof log === 'string' ? log : undefined, NOT_SETTINGS);
  if (authorize !== undefined) {
    const modes = (['publishToken', 'playToken', 'streamKeys', 'jwtSecret', 'jwtPublicKey', 'jwtJwksUrl', 'authHookUrl'] as const).filter(
      (k) => config[k] !== undefined,
    );
    // It replaces them (ServerOptions.authorize): one of them set beside it would be ignored, never silently.
    if (modes.length > 0) throw new ConfigError(`authorize decides who may publish and play in place of ${modes.join(', ')}: leave them unset with it`);
  }
  return startOnecast(config, { log: typeof log === 'object' ? log : createLogger(config.logLevel), authorize, listen });
}

/** createServer for settings read already (the command line's, from the environment and flags). */
export async function startOnecast(config: Config, how: { log: Logger; authorize?: AuthorizeCallback | undefined; listen: boolean }): Promise<Onecast> {
  const options = { log: how.log, ...(how.authorize !== undefined ? { authorize: fromCallback(how.authorize, how.log) } : {}) };
  const server = how.listen ? await OnecastServer.start(config, options) : await OnecastServer.build(config, options);
  return new EmbeddedOnecast(server, how.listen);
}

class EmbeddedOnecast implements Onecast {
  readonly handler: OnecastHandler;

  constructor(
    private readonly server: OnecastServer,
    private readonly listening: boolean,
  ) {
    this.handler = server.handler as unknown as OnecastHandler;
  }

  get httpPort(): number | undefined {
    return this.listening ? this.server.httpPort : undefined;
  }

  get udpPort(): number {
    return this.server.udpPort;
  }

  rooms(): RoomState[] {
    return this.server.sfu.rooms.list().map((room) => ({ room: room.name, live: room.live, viewers: room.viewers.size }));
  }

  // `as never`: for a generic K, TypeScript cannot see that EventEmitter's conditional listener type is Listener<K>.
  on<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this {
    this.server.events.on(event, listener as never);
    return this;
  }

  once<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this {
    this.server.events.once(event, listener as never);
    return this;
  }

  off<K extends keyof ServerEventMap>(event: K, listener: Listener<K>): this {
    this.server.events.off(event, listener as never);
    return this;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
