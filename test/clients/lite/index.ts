// The lite WebRTC client (see ./client for what it does and does not do): what its users import.
export { clientCertificate as liteClientCertificate, type ClientCertificate } from '../../../src/relay/clientCertificate';
export { LiteClient, type LiteClientCounters, type LiteClientOptions, type LiteClientTimings } from './client';
export { LiteClientError, type LiteClientPhase } from './errors';
export { AUDIO_PT, PLAY_VIDEO_PT, PUBLISH_VIDEO_PT, buildOffer, parseAnswer, type ParsedAnswer } from '../../../src/relay/sdp';
