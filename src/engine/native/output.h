// One viewer track's outbound state and what is done to each packet for it: the RTP
// parser (readRtp), the header rewrite (RtpRewriter), the keyframe gate (Forwarder) and
// SRTP (SrtpSender), in C, byte for byte as the TypeScript modules named do it.
#ifndef ONECAST_OUTPUT_H
#define ONECAST_OUTPUT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROFILE_AES_CM_128_HMAC_SHA1_80 0x0001
#define PROFILE_AEAD_AES_128_GCM 0x0007

#define MAX_MID 16
// 12 bytes of header plus a one-byte-form mid extension of up to 16 bytes (rewriter.ts MAX_HEADER).
#define MAX_HEADER (12 + 4 + 20)
#define MAX_TAG 16

struct Group;

typedef struct Output {
  // What the viewer negotiated.
  uint32_t ssrc;
  uint32_t payload_type;
  double clock_rate;
  bool video;
  uint8_t extension[4 + 20];
  size_t extension_length;

  // RtpRewriter: the source the viewer's numbering follows, and the last marks sent.
  bool has_source;
  uint32_t source_ssrc;
  uint32_t seq_offset;
  uint32_t ts_offset;
  uint32_t first_viewer_seq;
  int32_t last_seq; // -1: nothing sent yet
  uint32_t last_ts;
  double last_sent_at;
  int32_t highest_source_seq; // -1: none since the last remap
  double packets_sent, octets_sent;

  // Forwarder: the keyframe gate.
  bool has_gate_source;
  uint32_t gate_source_ssrc;
  bool waiting_for_keyframe;
  bool has_first_packet;
  double first_packet_at;
  double packets, bytes, skipped_before_keyframe, send_drops;

  // SrtpSender: profile 0 means no keys yet.
  int profile;
  EVP_CIPHER_CTX *cipher;
  EVP_MAC_CTX *mac;
  uint8_t salt[14];
  bool has_rollover;
  uint32_t roc;
  uint32_t roc_last_seq;

  // Where the datagrams go: fd -1 means no route.
  int fd;
  struct sockaddr_storage address;
  socklen_t address_length;

  struct Group *group;
} Output;

// What parse_rtp reads: offsets into the packet, all checked against its length.
typedef struct {
  bool marker;
  uint32_t sequence_number;
  uint32_t timestamp;
  uint32_t ssrc;
  size_t payload_offset;
  size_t payload_length;
} RtpView;

// readRtp (src/rtp/rtpPacket.ts): false for a packet it refuses; never reads past `length`.
bool rtp_parse(const uint8_t *p, size_t length, RtpView *view);

// RtpRewriter.writeHeader: the viewer's header into `header` (MAX_HEADER bytes); returns its length.
size_t output_write_header(Output *o, const RtpView *v, double now, uint8_t *header);

// RtpRewriter.toSourceSeq: false when the current source did not produce viewer_seq.
bool output_source_seq(const Output *o, uint32_t viewer_seq, uint32_t *out);

// Forwarder.forward's gate: false when the packet is held back (video waiting for a keyframe).
bool output_gate(Output *o, const RtpView *v, bool keyframe_start);

// SrtpSender's constructor: derives the session keys and sets up the OpenSSL contexts.
// The profile and lengths are the caller's to check. False if OpenSSL fails (no keys then).
bool output_set_keys(Output *o, int profile, const uint8_t *master_key, const uint8_t *master_salt, size_t salt_length);
void output_free_keys(Output *o);
size_t output_tag_length(const Output *o);

// SrtpSender.protectParts in place: `out` holds the header (`length` bytes); the ciphertext of
// `payload` and the tag are written after it. False if OpenSSL fails.
bool output_encrypt(Output *o, uint8_t *out, size_t length, const uint8_t *payload, size_t payload_length);

static inline void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

#endif
