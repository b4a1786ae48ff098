// The fan-out hot path in C: one call per publisher packet rewrites it for every viewer
// of its track (as src/rtp/rewriter.ts does), holds video back until a keyframe after a
// change of source (as src/sfu/forwarder.ts does), encrypts it (as
// src/engine/srtp/srtpSender.ts does, through the OpenSSL that Node itself exports) into a
// preallocated batch, and sends the batch with sendmmsg on the media socket's own file
// descriptor. The TypeScript modules named stay the reference: for the same inputs the
// datagrams are byte for byte the same (test/unit/nativeFanout.test.ts checks it).
//
// Memory rules: every length read from a packet is checked before the read (parse_rtp is
// readRtp); nothing is allocated per packet (one batch slab per addon instance, EVP contexts
// per output, created with its keys and reused with a new IV per packet); a group and its
// outputs point at each other, and whichever is finalized first unlinks itself from the
// other, so neither ever holds a pointer to freed memory.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef __linux__
// No sendmmsg (macOS): the same contract, one sendmsg per message.
struct mmsghdr {
  struct msghdr msg_hdr;
  unsigned int msg_len;
};

static int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags) {
  unsigned int i = 0;
  for (; i < count; i++) {
    ssize_t r = sendmsg(fd, &messages[i].msg_hdr, flags);
    if (r < 0) return i > 0 ? (int)i : -1;
    messages[i].msg_len = (unsigned int)r;
  }
  return (int)i;
}
#endif

#define PROFILE_AES_CM_128_HMAC_SHA1_80 0x0001
#define PROFILE_AEAD_AES_128_GCM 0x0007

// RFC 3711 §4.3.1 labels for the SRTP (not SRTCP) session keys.
#define LABEL_RTP_ENCRYPTION 0x00
#define LABEL_RTP_AUTH 0x01
#define LABEL_RTP_SALT 0x02

#define MAX_MID 16
// 12 bytes of header plus a one-byte-form mid extension of up to 16 bytes (rewriter.ts MAX_HEADER).
#define MAX_HEADER (12 + 4 + 20)
#define MAX_TAG 16
// Messages per sendmmsg call, and the room for each: a 1 200-byte video packet and its
// header and tag fit; a larger datagram is encrypted into the instance's large buffer and
// sent on its own.
#define BATCH 64
#define SLOT 2048

// forward()'s result bits.
#define FORWARD_KEYFRAME_NEEDED 1
#define FORWARD_MALFORMED 2

// ---------------------------------------------------------------------------------------
// State

typedef struct {
  uint64_t send_calls, datagrams, bytes, dropped_full, send_errors, malformed;
} Stats;

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

typedef struct Group {
  Output **members;
  size_t count, capacity;
} Group;

typedef struct {
  Output *output;
  size_t rtp_length; // header + payload, what the Forwarder counts as bytes
} Pending;

// Per addon instance (one per Node environment): the batch and the counters.
typedef struct {
  Stats stats;
  uint8_t *slab; // BATCH slots of SLOT bytes
  uint8_t *large;
  size_t large_capacity;
  struct mmsghdr messages[BATCH];
  struct iovec iov[BATCH];
  Pending pending[BATCH];
  int fds[BATCH];
  size_t count;
  double now;
  napi_type_tag output_tag, group_tag;
} Addon;

// ---------------------------------------------------------------------------------------
// RTP parsing: readRtp (src/rtp/rtpPacket.ts), every length checked before it is used.

typedef struct {
  bool marker;
  uint32_t sequence_number;
  uint32_t timestamp;
  uint32_t ssrc;
  size_t payload_offset;
  size_t payload_length;
} RtpView;

static bool parse_rtp(const uint8_t *p, size_t length, RtpView *view) {
  if (length < 12 || p[0] >> 6 != 2) return false;
  size_t offset = 12 + (size_t)(p[0] & 0x0f) * 4;
  if (p[0] & 0x10) {
    if (offset + 4 > length) return false;
    size_t words = ((size_t)p[offset + 2] << 8) | p[offset + 3];
    offset += 4 + words * 4;
  }
  size_t end = length;
  if (p[0] & 0x20) {
    size_t pad = p[length - 1];
    if (pad == 0 || pad > end) return false;
    end -= pad;
  }
  if (offset > end) return false;
  view->marker = (p[1] & 0x80) != 0;
  view->sequence_number = ((uint32_t)p[2] << 8) | p[3];
  view->timestamp = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
  view->ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
  view->payload_offset = offset;
  view->payload_length = end - offset;
  return true;
}

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// ---------------------------------------------------------------------------------------
// Header rewrite: RtpRewriter.writeHeader and remap, in JavaScript's arithmetic.

// JavaScript's `x >>> 0` for an integral double.
static uint32_t to_uint32(double x) {
  double m = fmod(x, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (uint32_t)m;
}

// JavaScript's Math.round: halves go up.
static double js_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

static void remap(Output *o, const RtpView *v, double now) {
  uint32_t seq_offset = 0, ts_offset = 0;
  if (o->last_seq >= 0) {
    uint32_t next_seq = ((uint32_t)o->last_seq + 1) & 0xffff;
    seq_offset = (next_seq - v->sequence_number) & 0xffff;
    // The wall-clock time that passed, so the viewer's jitter buffer sees a pause.
    double elapsed = js_round(((now - o->last_sent_at) * o->clock_rate) / 1000);
    if (!(elapsed >= 1)) elapsed = 1;
    ts_offset = to_uint32((double)o->last_ts + elapsed - (double)v->timestamp);
  }
  o->has_source = true;
  o->source_ssrc = v->ssrc;
  o->seq_offset = seq_offset;
  o->ts_offset = ts_offset;
  o->first_viewer_seq = (v->sequence_number + seq_offset) & 0xffff;
  o->highest_source_seq = -1;
}

// Writes the viewer's header into `header` (MAX_HEADER bytes) and returns its length.
static size_t write_header(Output *o, const RtpView *v, double now, uint8_t *header) {
  if (!o->has_source || o->source_ssrc != v->ssrc) remap(o, v, now);
  uint32_t seq = (v->sequence_number + o->seq_offset) & 0xffff;
  uint32_t ts = v->timestamp + o->ts_offset;
  header[0] = 0x80 | (o->extension_length > 0 ? 0x10 : 0);
  header[1] = (uint8_t)((v->marker ? 0x80 : 0) | o->payload_type);
  put16(header + 2, seq);
  put32(header + 4, ts);
  put32(header + 8, o->ssrc);
  memcpy(header + 12, o->extension, o->extension_length);
  // Retransmissions and reordered packets must not move the "last sent" marks back.
  if (o->highest_source_seq < 0 || ((v->sequence_number - (uint32_t)o->highest_source_seq) & 0xffff) < 0x8000) {
    o->highest_source_seq = (int32_t)v->sequence_number;
    o->last_seq = (int32_t)seq;
    o->last_ts = ts;
    o->last_sent_at = now;
  }
  o->packets_sent++;
  o->octets_sent += (double)v->payload_length;
  return 12 + o->extension_length;
}

// ---------------------------------------------------------------------------------------
// SRTP: SrtpSender for one SSRC.

static size_t tag_length(const Output *o) {
  return o->profile == PROFILE_AEAD_AES_128_GCM ? 16 : 10;
}

// RFC 3711 §3.3.1: SrtpSender.rolloverCounter.
static uint32_t rollover_counter(Output *o, uint32_t seq) {
  if (!o->has_rollover) {
    o->has_rollover = true;
    o->roc = 0;
    o->roc_last_seq = seq;
    return 0;
  }
  uint32_t delta = (seq - o->roc_last_seq) & 0xffff;
  if (delta != 0 && delta < 0x8000) {
    if (seq < o->roc_last_seq) o->roc++;
    o->roc_last_seq = seq;
    return o->roc;
  }
  // A resend of an older packet: it belongs to the previous ROC if SEQ wrapped since.
  return seq > o->roc_last_seq ? o->roc - 1 : o->roc;
}

// Encrypts in place behind the header: `out` holds the header (`length` bytes); the
// ciphertext of `payload` and the tag are written after it. Returns false if OpenSSL fails.
static bool encrypt(Output *o, uint8_t *out, size_t length, const uint8_t *payload, size_t payload_length) {
  uint32_t ssrc = o->ssrc;
  uint32_t seq = ((uint32_t)out[2] << 8) | out[3];
  uint32_t roc = rollover_counter(o, seq);
  int n = 0;
  if (o->profile == PROFILE_AEAD_AES_128_GCM) {
    // RFC 7714 §8: IV = salt XOR (0x0000 || SSRC || ROC || SEQ), AAD = header, 16-byte tag.
    uint8_t iv[12] = {0};
    put32(iv + 2, ssrc);
    put32(iv + 6, roc);
    put16(iv + 10, seq);
    for (int i = 0; i < 12; i++) iv[i] ^= o->salt[i];
    if (EVP_EncryptInit_ex(o->cipher, NULL, NULL, NULL, iv) != 1) return false;
    if (EVP_EncryptUpdate(o->cipher, NULL, &n, out, (int)length) != 1) return false;
    if (payload_length > 0 && EVP_EncryptUpdate(o->cipher, out + length, &n, payload, (int)payload_length) != 1) return false;
    if (EVP_EncryptFinal_ex(o->cipher, out + length + payload_length, &n) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(o->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + length + payload_length) == 1;
  }
  // RFC 3711 §4.1.1 and §4.2: AES counter mode, then HMAC-SHA1 over packet || ROC, 80 bits.
  uint8_t iv[16] = {0};
  memcpy(iv, o->salt, 14);
  uint8_t word[4];
  put32(word, ssrc);
  for (int i = 0; i < 4; i++) iv[4 + i] ^= word[i];
  put32(word, roc);
  for (int i = 0; i < 4; i++) iv[8 + i] ^= word[i];
  iv[12] ^= (uint8_t)(seq >> 8);
  iv[13] ^= (uint8_t)seq;
  if (EVP_EncryptInit_ex(o->cipher, NULL, NULL, NULL, iv) != 1) return false;
  if (payload_length > 0 && EVP_EncryptUpdate(o->cipher, out + length, &n, payload, (int)payload_length) != 1) return false;
  uint8_t rocBytes[4], tag[EVP_MAX_MD_SIZE];
  put32(rocBytes, roc);
  size_t tag_size = 0;
  // A NULL key re-initialises the HMAC with the key it was created with.
  if (EVP_MAC_init(o->mac, NULL, 0, NULL) != 1) return false;
  if (EVP_MAC_update(o->mac, out, length + payload_length) != 1) return false;
  if (EVP_MAC_update(o->mac, rocBytes, 4) != 1) return false;
  if (EVP_MAC_final(o->mac, tag, &tag_size, sizeof tag) != 1 || tag_size < 10) return false;
  memcpy(out + length + payload_length, tag, 10);
  return true;
}

// The SRTP key derivation function (RFC 3711 §4.3.1, AES-CM PRF), as deriveKey in
// srtpSender.ts: label XORed into the master salt, the result as the counter-mode IV,
// and the keystream as the key.
static bool derive_key(const uint8_t *master_key, const uint8_t *master_salt, size_t salt_length, uint8_t label, uint8_t *out,
                       size_t length) {
  uint8_t iv[16] = {0};
  uint8_t zeros[20] = {0};
  memcpy(iv, master_salt, salt_length);
  iv[7] ^= label;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, master_key, iv) == 1 &&
            EVP_EncryptUpdate(ctx, out, &n, zeros, (int)length) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

static void free_keys(Output *o) {
  EVP_CIPHER_CTX_free(o->cipher);
  EVP_MAC_CTX_free(o->mac);
  o->cipher = NULL;
  o->mac = NULL;
  o->profile = 0;
  o->has_rollover = false;
}

// ---------------------------------------------------------------------------------------
// Sending: the batch, flushed with one sendmmsg per run of messages on the same fd.

static void sent(Addon *a, size_t i) {
  Output *o = a->pending[i].output;
  a->stats.datagrams++;
  a->stats.bytes += a->messages[i].msg_len;
  o->packets++;
  o->bytes += (double)a->pending[i].rtp_length;
  if (!o->has_first_packet) {
    o->has_first_packet = true;
    o->first_packet_at = a->now;
  }
}

static void send_run(Addon *a, size_t from, size_t to) {
  int fd = a->fds[from];
  size_t i = from;
  while (i < to) {
    int r = sendmmsg(fd, a->messages + i, (unsigned int)(to - i), MSG_DONTWAIT);
    a->stats.send_calls++;
    if (r > 0) {
      for (size_t k = i; k < i + (size_t)r; k++) sent(a, k);
      i += (size_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      // The socket buffer is full: drop the rest of the run, never wait or queue.
      for (size_t k = i; k < to; k++) a->pending[k].output->send_drops++;
      a->stats.dropped_full += to - i;
      return;
    } else {
      // This message failed (e.g. ECONNREFUSED from an earlier ICMP error): skip it.
      a->pending[i].output->send_drops++;
      a->stats.send_errors++;
      i++;
    }
  }
}

static void flush(Addon *a) {
  size_t i = 0;
  while (i < a->count) {
    size_t j = i + 1;
    while (j < a->count && a->fds[j] == a->fds[i]) j++;
    send_run(a, i, j);
    i = j;
  }
  a->count = 0;
}

// Where a datagram of `size` bytes is built: the next batch slot, or the large buffer
// (after a flush, as it is sent on its own). NULL if the large buffer cannot grow.
static uint8_t *datagram_space(Addon *a, size_t size) {
  if (size <= SLOT) {
    if (a->count == BATCH) flush(a);
    return a->slab + a->count * SLOT;
  }
  flush(a);
  if (size > a->large_capacity) {
    uint8_t *grown = realloc(a->large, size);
    if (grown == NULL) return NULL;
    a->large = grown;
    a->large_capacity = size;
  }
  return a->large;
}

// Forwarder.send for one output: rewrite always (as the JavaScript forwarder does even for a
// session not yet connected), then encrypt and queue when the output has keys and a route.
// Returns true if the datagram was queued.
static bool deliver(Addon *a, Output *o, const uint8_t *packet, const RtpView *v) {
  uint8_t header[MAX_HEADER];
  size_t length = write_header(o, v, a->now, header);
  if (o->profile == 0 || o->fd < 0) return false;
  size_t size = length + v->payload_length + tag_length(o);
  uint8_t *out = datagram_space(a, size);
  if (out == NULL) {
    o->send_drops++;
    a->stats.send_errors++;
    return false;
  }
  memcpy(out, header, length);
  if (!encrypt(o, out, length, packet + v->payload_offset, v->payload_length)) {
    o->send_drops++;
    a->stats.send_errors++;
    return false;
  }
  size_t i = a->count++;
  a->iov[i].iov_base = out;
  a->iov[i].iov_len = size;
  memset(&a->messages[i], 0, sizeof a->messages[i]);
  a->messages[i].msg_hdr.msg_name = &o->address;
  a->messages[i].msg_hdr.msg_namelen = o->address_length;
  a->messages[i].msg_hdr.msg_iov = &a->iov[i];
  a->messages[i].msg_hdr.msg_iovlen = 1;
  a->pending[i].output = o;
  a->pending[i].rtp_length = length + v->payload_length;
  a->fds[i] = o->fd;
  if (out == a->large) flush(a);
  return true;
}

// Forwarder.forward's gate: a change of source makes video wait for a keyframe.
static bool gate(Output *o, const RtpView *v, bool keyframe_start) {
  if (!o->has_gate_source || o->gate_source_ssrc != v->ssrc) {
    o->has_gate_source = true;
    o->gate_source_ssrc = v->ssrc;
    o->waiting_for_keyframe = o->video;
  }
  if (o->waiting_for_keyframe) {
    if (!keyframe_start) {
      o->skipped_before_keyframe++;
      return false;
    }
    o->waiting_for_keyframe = false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Groups: an output is in at most one; each side unlinks itself from the other when it goes.

static void group_unlink(Group *g, Output *o) {
  for (size_t i = 0; i < g->count; i++) {
    if (g->members[i] == o) {
      memmove(g->members + i, g->members + i + 1, (g->count - i - 1) * sizeof *g->members);
      g->count--;
      break;
    }
  }
  o->group = NULL;
}

static void output_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Output *o = data;
  if (o->group != NULL) group_unlink(o->group, o);
  free_keys(o);
  free(o);
}

static void group_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Group *g = data;
  for (size_t i = 0; i < g->count; i++) g->members[i]->group = NULL;
  free(g->members);
  free(g);
}

// ---------------------------------------------------------------------------------------
// N-API glue: argument checks (a TypeError with a sentence for anything wrong) and results.

#define CHECK(call)                                                                                                          \
  do {                                                                                                                       \
    if ((call) != napi_ok) return NULL;                                                                                      \
  } while (0)

static napi_value type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static Addon *addon_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv, const char *usage) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < expected) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static void *unwrap_tagged(napi_env env, napi_value value, const napi_type_tag *tag) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object) return NULL;
  if (napi_check_object_type_tag(env, value, tag, &tagged) != napi_ok || !tagged) return NULL;
  if (napi_unwrap(env, value, &data) != napi_ok) return NULL;
  return data;
}

static Output *get_output(napi_env env, napi_value value) {
  Output *o = unwrap_tagged(env, value, &addon_of(env)->output_tag);
  if (o == NULL) type_error(env, "the first argument must be an output made by createOutput()");
  return o;
}

static Group *get_group(napi_env env, napi_value value) {
  Group *g = unwrap_tagged(env, value, &addon_of(env)->group_tag);
  if (g == NULL) type_error(env, "the first argument must be a group made by createGroup()");
  return g;
}

// A number that is an integer in [min, max].
static bool get_integer(napi_env env, napi_value value, double min, double max, double *out, const char *message) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok || !(d >= min && d <= max) || d != floor(d)) {
    type_error(env, message);
    return false;
  }
  *out = d;
  return true;
}

static bool get_now(napi_env env, napi_value value, double *out) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok || !isfinite(d)) {
    type_error(env, "nowMs must be a finite number of milliseconds");
    return false;
  }
  *out = d;
  return true;
}

static bool get_bytes(napi_env env, napi_value value, const uint8_t **data, size_t *length, const char *message) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    type_error(env, message);
    return false;
  }
  *data = p;
  return true;
}

static bool get_bool(napi_env env, napi_value value, bool *out, const char *message) {
  if (napi_get_value_bool(env, value, out) != napi_ok) {
    type_error(env, message);
    return false;
  }
  return true;
}

// An own property, or false (and no exception) when it is missing or undefined.
static bool get_property(napi_env env, napi_value object, const char *name, napi_value *out) {
  napi_valuetype type;
  if (napi_get_named_property(env, object, name, out) != napi_ok) return false;
  return napi_typeof(env, *out, &type) == napi_ok && type != napi_undefined;
}

static napi_value make_number(napi_env env, double d) {
  napi_value v;
  return napi_create_double(env, d, &v) == napi_ok ? v : NULL;
}

static napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  return napi_get_boolean(env, b, &v) == napi_ok ? v : NULL;
}

static napi_value make_undefined(napi_env env) {
  napi_value v;
  return napi_get_undefined(env, &v) == napi_ok ? v : NULL;
}

static bool set_number(napi_env env, napi_value object, const char *name, double d) {
  napi_value v = make_number(env, d);
  return v != NULL && napi_set_named_property(env, object, name, v) == napi_ok;
}

static napi_value wrap(napi_env env, void *data, napi_finalize finalize, const napi_type_tag *tag) {
  napi_value object;
  if (napi_create_object(env, &object) != napi_ok || napi_type_tag_object(env, object, tag) != napi_ok ||
      napi_wrap(env, object, data, finalize, NULL, NULL) != napi_ok) {
    finalize(env, data, NULL);
    return NULL;
  }
  return object;
}


// A required own property that is an integer in [min, max].
static bool option_integer(napi_env env, napi_value options, const char *name, double min, double max, double *out, const char *message) {
  napi_value v;
  if (!get_property(env, options, name, &v)) {
    type_error(env, message);
    return false;
  }
  return get_integer(env, v, min, max, out, message);
}

// createOutput({ ssrc, payloadType, clockRate, mid, midExtensionId?, video })
static napi_value create_output(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  napi_valuetype type;
  const char *usage = "createOutput() needs { ssrc, payloadType, clockRate, mid, midExtensionId?, video }";
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_object) return type_error(env, usage);
  double ssrc, payload_type, clock_rate, extension_id = 0;
  bool video = false, has_extension = false;
  if (!option_integer(env, argv[0], "ssrc", 0, 4294967295.0, &ssrc, "ssrc must be an integer in [0, 2^32)")) return NULL;
  if (!option_integer(env, argv[0], "payloadType", 0, 127, &payload_type, "payloadType must be an integer in [0, 127]")) return NULL;
  if (!option_integer(env, argv[0], "clockRate", 1, 4294967295.0, &clock_rate, "clockRate must be a positive integer (Hz)")) return NULL;
  if (!get_property(env, argv[0], "video", &v)) return type_error(env, "video must be a boolean");
  if (!get_bool(env, v, &video, "video must be a boolean")) return NULL;
  if (get_property(env, argv[0], "midExtensionId", &v)) {
    if (!get_integer(env, v, 1, 14, &extension_id, "midExtensionId must be a one-byte header extension id in [1, 14]")) return NULL;
    has_extension = true;
  }
  char mid[MAX_MID + 1];
  size_t mid_length = 0;
  if (!get_property(env, argv[0], "mid", &v) || napi_typeof(env, v, &type) != napi_ok || type != napi_string) {
    return type_error(env, "mid must be a string");
  }
  CHECK(napi_get_value_string_utf8(env, v, NULL, 0, &mid_length));
  if (has_extension && (mid_length == 0 || mid_length > MAX_MID)) {
    return type_error(env, "a mid sent in a one-byte header extension must be 1 to 16 bytes long");
  }
  Output *o = calloc(1, sizeof *o);
  if (o == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  o->ssrc = (uint32_t)ssrc;
  o->payload_type = (uint32_t)payload_type;
  o->clock_rate = clock_rate;
  o->video = video;
  o->last_seq = -1;
  o->highest_source_seq = -1;
  o->waiting_for_keyframe = video;
  o->fd = -1;
  if (has_extension) {
    // RFC 8285 one-byte form: 0xBEDE, length in words, [id|len-1][value], zero-padded.
    napi_get_value_string_utf8(env, v, mid, sizeof mid, &mid_length);
    size_t words = (1 + mid_length + 3) / 4;
    o->extension[0] = 0xbe;
    o->extension[1] = 0xde;
    put16(o->extension + 2, (uint32_t)words);
    o->extension[4] = (uint8_t)(((uint32_t)extension_id << 4) | (uint32_t)(mid_length - 1));
    memcpy(o->extension + 5, mid, mid_length);
    o->extension_length = 4 + words * 4;
  }
  return wrap(env, o, output_finalize, &addon_of(env)->output_tag);
}

// setKeys(output, profile, masterKey, masterSalt): SrtpSender's constructor.
static napi_value set_keys(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "setKeys(output, profile, masterKey, masterSalt) needs four arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  double profile;
  const uint8_t *key, *salt;
  size_t key_length, salt_length;
  if (!get_integer(env, argv[1], 0, 65535, &profile, "profile must be 1 (AES_CM_128_HMAC_SHA1_80) or 7 (AEAD_AES_128_GCM)")) return NULL;
  bool gcm = profile == PROFILE_AEAD_AES_128_GCM;
  if (!gcm && profile != PROFILE_AES_CM_128_HMAC_SHA1_80) return type_error(env, "profile must be 1 (AES_CM_128_HMAC_SHA1_80) or 7 (AEAD_AES_128_GCM)");
  if (!get_bytes(env, argv[2], &key, &key_length, "masterKey must be a Buffer") || !get_bytes(env, argv[3], &salt, &salt_length, "masterSalt must be a Buffer")) {
    return NULL;
  }
  if (key_length != 16) return type_error(env, "masterKey must be 16 bytes (AES-128)");
  if (salt_length != (gcm ? 12u : 14u)) return type_error(env, "masterSalt must be 14 bytes for AES_CM_128_HMAC_SHA1_80, 12 for AEAD_AES_128_GCM");
  uint8_t session_key[16], auth_key[20];
  free_keys(o);
  bool ok = derive_key(key, salt, salt_length, LABEL_RTP_ENCRYPTION, session_key, 16) &&
            derive_key(key, salt, salt_length, LABEL_RTP_SALT, o->salt, gcm ? 12 : 14);
  if (ok) {
    o->cipher = EVP_CIPHER_CTX_new();
    ok = o->cipher != NULL && EVP_EncryptInit_ex(o->cipher, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), NULL, session_key, NULL) == 1;
  }
  if (ok && !gcm) {
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    o->mac = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac);
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    ok = o->mac != NULL && derive_key(key, salt, salt_length, LABEL_RTP_AUTH, auth_key, 20) && EVP_MAC_init(o->mac, auth_key, 20, params) == 1;
  }
  memset(session_key, 0, sizeof session_key);
  memset(auth_key, 0, sizeof auth_key);
  if (!ok) {
    free_keys(o);
    napi_throw_error(env, NULL, "OpenSSL could not set up the SRTP keys");
    return NULL;
  }
  o->profile = (int)profile;
  return make_undefined(env);
}

// setRoute(output, fd, address, port): where and through which socket the datagrams go.
static napi_value set_route(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "setRoute(output, fd, address, port) needs four arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  double fd, port;
  char address[64];
  size_t address_length = 0;
  if (!get_integer(env, argv[1], 0, 2147483647.0, &fd, "fd must be a socket's file descriptor (a non-negative integer)")) return NULL;
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &address_length) != napi_ok) {
    return type_error(env, "address must be an IP address literal");
  }
  if (!get_integer(env, argv[3], 1, 65535, &port, "port must be an integer in [1, 65535]")) return NULL;
  struct sockaddr_storage to;
  socklen_t to_length;
  memset(&to, 0, sizeof to);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&to;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&to;
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    to_length = sizeof *v4;
  } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    to_length = sizeof *v6;
  } else {
    return type_error(env, "address must be an IPv4 or IPv6 address literal");
  }
  // Only a UDP socket of the address's family: a wrong descriptor must not get RTP written into it.
  int socket_type = 0;
  socklen_t option_length = sizeof socket_type;
  struct sockaddr_storage local;
  socklen_t local_length = sizeof local;
  if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &socket_type, &option_length) != 0 || socket_type != SOCK_DGRAM ||
      getsockname((int)fd, (struct sockaddr *)&local, &local_length) != 0) {
    return type_error(env, "fd must be the file descriptor of a UDP socket");
  }
  if (local.ss_family != to.ss_family) {
    return type_error(env, to.ss_family == AF_INET ? "an IPv6 socket reaches an IPv4 peer at ::ffff:a.b.c.d" : "an IPv4 socket cannot reach an IPv6 address");
  }
  o->fd = (int)fd;
  o->address = to;
  o->address_length = to_length;
  return make_undefined(env);
}

static napi_value clear_route(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "clearRoute(output) needs an output")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  o->fd = -1;
  return make_undefined(env);
}

static napi_value create_group(napi_env env, napi_callback_info info) {
  (void)info;
  Group *g = calloc(1, sizeof *g);
  if (g == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  return wrap(env, g, group_finalize, &addon_of(env)->group_tag);
}

static bool get_group_and_output(napi_env env, napi_callback_info info, const char *usage, Group **g, Output **o) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, usage)) return false;
  *g = get_group(env, argv[0]);
  if (*g == NULL) return false;
  *o = unwrap_tagged(env, argv[1], &addon_of(env)->output_tag);
  if (*o == NULL) type_error(env, "the second argument must be an output made by createOutput()");
  return *o != NULL;
}

static napi_value group_add(napi_env env, napi_callback_info info) {
  Group *g;
  Output *o;
  if (!get_group_and_output(env, info, "groupAdd(group, output) needs a group and an output", &g, &o)) return NULL;
  if (o->group == g) return make_undefined(env);
  if (o->group != NULL) {
    napi_throw_error(env, NULL, "the output is in another group already: groupRemove() it first");
    return NULL;
  }
  if (g->count == g->capacity) {
    size_t capacity = g->capacity == 0 ? 8 : g->capacity * 2;
    Output **grown = realloc(g->members, capacity * sizeof *grown);
    if (grown == NULL) {
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    g->members = grown;
    g->capacity = capacity;
  }
  g->members[g->count++] = o;
  o->group = g;
  return make_undefined(env);
}

static napi_value group_remove(napi_env env, napi_callback_info info) {
  Group *g;
  Output *o;
  if (!get_group_and_output(env, info, "groupRemove(group, output) needs a group and an output", &g, &o)) return NULL;
  if (o->group == g) group_unlink(g, o);
  return make_undefined(env);
}

// A packet the RTP parser accepts, or false after counting it as malformed. Longer than
// any UDP datagram is malformed too: it cannot have come from the network.
static bool read_packet(Addon *a, const uint8_t *data, size_t length, RtpView *view) {
  if (length <= 65535 && parse_rtp(data, length, view)) return true;
  a->stats.malformed++;
  return false;
}

// forward(group, packet, keyframeStart, nowMs): one live packet to every output of the group.
static napi_value forward(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "forward(group, packet, keyframeStart, nowMs) needs four arguments")) return NULL;
  Group *g = get_group(env, argv[0]);
  if (g == NULL) return NULL;
  const uint8_t *packet;
  size_t length;
  bool keyframe_start;
  double now;
  if (!get_bytes(env, argv[1], &packet, &length, "packet must be a Buffer") ||
      !get_bool(env, argv[2], &keyframe_start, "keyframeStart must be a boolean") || !get_now(env, argv[3], &now)) {
    return NULL;
  }
  Addon *a = addon_of(env);
  RtpView view;
  if (!read_packet(a, packet, length, &view)) return make_number(env, FORWARD_MALFORMED);
  int result = 0;
  a->now = now;
  for (size_t i = 0; i < g->count; i++) {
    Output *o = g->members[i];
    // Keys arrive when the viewer's session connects: before that it is skipped altogether,
    // its gate and numbering untouched, as the JavaScript group skips a session not connected.
    if (o->profile == 0) continue;
    if (!gate(o, &view, keyframe_start)) {
      result |= FORWARD_KEYFRAME_NEEDED;
      continue;
    }
    deliver(a, o, packet, &view);
  }
  flush(a);
  return make_number(env, result);
}

// send(output, packet, nowMs): one packet (a retransmission), no keyframe gate.
static napi_value send_one(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "send(output, packet, nowMs) needs three arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  const uint8_t *packet;
  size_t length;
  double now;
  if (!get_bytes(env, argv[1], &packet, &length, "packet must be a Buffer") || !get_now(env, argv[2], &now)) return NULL;
  Addon *a = addon_of(env);
  RtpView view;
  if (!read_packet(a, packet, length, &view)) return make_bool(env, false);
  double before = o->packets;
  a->now = now;
  deliver(a, o, packet, &view);
  flush(a);
  return make_bool(env, o->packets > before);
}

// The index-th element of `packets` as bytes and a parsed view; false (no exception) if it is
// not a Uint8Array or not RTP (counted as malformed).
static bool group_packet(napi_env env, Addon *a, napi_value packets, uint32_t index, const uint8_t **data, RtpView *view) {
  napi_value element;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *p = NULL;
  if (napi_get_element(env, packets, index, &element) != napi_ok || napi_is_typedarray(env, element, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, element, &type, &length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    a->stats.malformed++;
    return false;
  }
  *data = p;
  return read_packet(a, p, length, view);
}

// sendGroup(output, packets, nowMs): the cached keyframe group for a joining viewer.
static napi_value send_group(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "sendGroup(output, packets, nowMs) needs three arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  bool is_array = false;
  uint32_t count = 0;
  double now;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    return type_error(env, "packets must be an array of Buffers");
  }
  if (!get_now(env, argv[2], &now)) return NULL;
  Addon *a = addon_of(env);
  const uint8_t *data;
  RtpView view;
  uint32_t first = 0;
  while (first < count && !group_packet(env, a, argv[1], first, &data, &view)) first++;
  if (first == count) return make_number(env, 0);
  o->has_gate_source = true;
  o->gate_source_ssrc = view.ssrc;
  o->waiting_for_keyframe = false;
  double before = o->packets;
  a->now = now;
  deliver(a, o, data, &view);
  for (uint32_t i = first + 1; i < count; i++) {
    // Each element is read and used before the next N-API call, so its memory cannot move.
    if (group_packet(env, a, argv[1], i, &data, &view)) deliver(a, o, data, &view);
  }
  flush(a);
  return make_number(env, o->packets - before);
}

// protect(output, packet, nowMs): the datagram send() would send, returned instead.
static napi_value protect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "protect(output, packet, nowMs) needs three arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  const uint8_t *packet;
  size_t length;
  double now;
  if (!get_bytes(env, argv[1], &packet, &length, "packet must be a Buffer") || !get_now(env, argv[2], &now)) return NULL;
  if (o->profile == 0) {
    napi_throw_error(env, NULL, "protect() needs the output's keys: call setKeys() first");
    return NULL;
  }
  RtpView view;
  if (!read_packet(addon_of(env), packet, length, &view)) return make_undefined(env);
  uint8_t header[MAX_HEADER];
  size_t header_length = write_header(o, &view, now, header);
  size_t size = header_length + view.payload_length + tag_length(o);
  napi_value result;
  void *out = NULL;
  // An allocation may run the garbage collector: the packet's bytes are looked up again after it.
  CHECK(napi_create_buffer(env, size, &out, &result));
  if (!get_bytes(env, argv[1], &packet, &length, "packet must be a Buffer")) return NULL;
  memcpy(out, header, header_length);
  if (!encrypt(o, out, header_length, packet + view.payload_offset, view.payload_length)) {
    napi_throw_error(env, NULL, "OpenSSL failed to encrypt the packet");
    return NULL;
  }
  return result;
}

// outputState(output): the rewriter's, the gate's and the send counters.
static napi_value output_state(napi_env env, napi_callback_info info) {
  napi_value argv[1], state;
  if (!get_args(env, info, 1, argv, "outputState(output) needs an output")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  CHECK(napi_create_object(env, &state));
  bool ok = true;
  if (o->has_source) ok = set_number(env, state, "sourceSsrc", o->source_ssrc) && set_number(env, state, "timestampOffset", o->ts_offset);
  if (ok && o->has_first_packet) ok = set_number(env, state, "firstPacketAt", o->first_packet_at);
  ok = ok && set_number(env, state, "packetsSent", o->packets_sent) && set_number(env, state, "octetsSent", o->octets_sent) &&
       set_number(env, state, "packets", o->packets) && set_number(env, state, "bytes", o->bytes) &&
       set_number(env, state, "skippedBeforeKeyframe", o->skipped_before_keyframe) && set_number(env, state, "sendDrops", o->send_drops);
  napi_value waiting = make_bool(env, o->waiting_for_keyframe);
  if (!ok || waiting == NULL || napi_set_named_property(env, state, "waitingForKeyframe", waiting) != napi_ok) return NULL;
  return state;
}

// toSourceSeq(output, viewerSeq): RtpRewriter.toSourceSeq.
static napi_value to_source_seq(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "toSourceSeq(output, viewerSeq) needs two arguments")) return NULL;
  Output *o = get_output(env, argv[0]);
  if (o == NULL) return NULL;
  double seq;
  if (!get_integer(env, argv[1], 0, 65535, &seq, "viewerSeq must be an integer in [0, 65535]")) return NULL;
  if (!o->has_source || o->last_seq < 0) return make_undefined(env);
  uint32_t since_first = ((uint32_t)seq - o->first_viewer_seq) & 0xffff;
  uint32_t span = ((uint32_t)o->last_seq - o->first_viewer_seq) & 0xffff;
  if (since_first > span) return make_undefined(env);
  return make_number(env, ((uint32_t)seq - o->seq_offset) & 0xffff);
}

static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  Stats *s = &addon_of(env)->stats;
  napi_value result;
  CHECK(napi_create_object(env, &result));
  if (!set_number(env, result, "sendCalls", (double)s->send_calls) || !set_number(env, result, "datagrams", (double)s->datagrams) ||
      !set_number(env, result, "bytes", (double)s->bytes) || !set_number(env, result, "droppedFull", (double)s->dropped_full) ||
      !set_number(env, result, "sendErrors", (double)s->send_errors) || !set_number(env, result, "malformed", (double)s->malformed)) {
    return NULL;
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Module

static void addon_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Addon *a = data;
  free(a->slab);
  free(a->large);
  free(a);
}

static napi_value init(napi_env env, napi_value exports) {
  Addon *a = calloc(1, sizeof *a);
  if (a != NULL) {
    a->slab = malloc((size_t)BATCH * SLOT);
    a->large_capacity = 65535 + MAX_HEADER + MAX_TAG;
    a->large = malloc(a->large_capacity);
  }
  if (a == NULL || a->slab == NULL || a->large == NULL) {
    if (a != NULL) addon_finalize(env, a, NULL);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  // Distinct random tags: a group passed where an output is expected is refused, not misread.
  a->output_tag = (napi_type_tag){0x6f6e65636173746fULL, 0x75747075745f7631ULL};
  a->group_tag = (napi_type_tag){0x6f6e656361737467ULL, 0x726f75705f5f7631ULL};
  if (napi_set_instance_data(env, a, addon_finalize, NULL) != napi_ok) {
    addon_finalize(env, a, NULL);
    return NULL;
  }
  napi_property_descriptor functions[] = {
      {"createOutput", NULL, create_output, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setKeys", NULL, set_keys, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRoute", NULL, set_route, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clearRoute", NULL, clear_route, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createGroup", NULL, create_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupAdd", NULL, group_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupRemove", NULL, group_remove, NULL, NULL, NULL, napi_enumerable, NULL},
      {"forward", NULL, forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_one, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendGroup", NULL, send_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"protect", NULL, protect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"outputState", NULL, output_state, NULL, NULL, NULL, napi_enumerable, NULL},
      {"toSourceSeq", NULL, to_source_seq, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
