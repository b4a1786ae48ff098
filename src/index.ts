// The package's public face (`require('onecast')`): createServer and the types an
// application names. Everything else in src/ is onecast's own and may change.
export { createServer, type Onecast, type OnecastHandler, type OnecastOptions, type RoomState } from './library/createServer';
export type { OnecastSettings } from './library/options';
export type { AuthorizeAnswer, AuthorizeCallback } from './library/authorize';
export type { AuthAction, AuthDecision, AuthRequest } from './auth/types';
export type { PublishEvent, RecordingEndReason, RecordingEvent, ServerEventMap, UnpublishEvent, UnpublishReason, ViewerEvent } from './events';
export { ConfigError } from './config';
export type { Logger, LogLevel } from './log';
