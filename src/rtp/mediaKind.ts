// What an RTP stream carries, as SDP's m= line names it (RFC 8866 §5.14): onecast takes
// one audio and one video stream per publisher. Every layer above says it with this type.
export type MediaKind = 'audio' | 'video';
