// The native fan-out, the hot path of a broadcast in C: one call per publisher packet
// rewrites it for every viewer of its track (as src/rtp/rewriter.ts does), holds video back
// until a keyframe after a change of source (as src/sfu/forwarder.ts does), encrypts it (as
// src/engine/srtp/srtpSender.ts does, through the OpenSSL that Node itself exports) into a
// preallocated batch, and sends the batch with sendmmsg on the media socket's own file
// descriptor. The TypeScript modules named stay the reference: for the same inputs the
// datagrams are byte for byte the same (test/unit/nativeFanout.test.ts checks it).
// This file: the N-API entry points and the groups; output.c: what is done per viewer and
// packet; batch.c: sending.
//
// Memory rules: every length read from a packet is checked before the read (rtp_parse is
// readRtp); nothing is allocated per packet (one batch slab per addon instance, EVP contexts
// per output, created with its keys and reused with a new IV per packet); a group and its
// outputs point at each other, and whichever is finalized first unlinks itself from the
// other, so neither ever holds a pointer to freed memory. No JavaScript runs between reading
// a Buffer's memory and using it.
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "output.h"

// forward()'s result bits.
#define FORWARD_KEYFRAME_NEEDED 1
#define FORWARD_MALFORMED 2

// The viewers of one published track.
typedef struct Group {
  Output **members;
  size_t count, capacity;
} Group;

// Per addon instance (one per Node environment): the batch and the handles' type tags.
typedef struct {
  Batch batch;
  napi_type_tag output_tag, group_tag;
} Addon;

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
  output_free_keys(o);
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

// The arguments of a call whose first is an output: the output, or NULL after a TypeError.
static Output *output_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv, const char *usage) {
  return get_args(env, info, expected, argv, usage) ? get_output(env, argv[0]) : NULL;
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

// A Uint8Array's (a Buffer's) bytes; false, and no exception, for anything else.
static bool uint8_bytes(napi_env env, napi_value value, const uint8_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    return false;
  }
  *data = p;
  return true;
}

static bool get_bytes(napi_env env, napi_value value, const uint8_t **data, size_t *length, const char *message) {
  if (uint8_bytes(env, value, data, length)) return true;
  type_error(env, message);
  return false;
}

// (output, packet, nowMs): the output, the packet's bytes and the time, or NULL after a TypeError.
static Output *output_packet_args(napi_env env, napi_callback_info info, napi_value *argv, const char *usage, const uint8_t **packet, size_t *length,
                                  double *now) {
  Output *o = output_args(env, info, 3, argv, usage);
  if (o == NULL || !get_bytes(env, argv[1], packet, length, "packet must be a Buffer") || !get_now(env, argv[2], now)) return NULL;
  return o;
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
static napi_value js_create_output(napi_env env, napi_callback_info info) {
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
static napi_value js_set_keys(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Output *o = output_args(env, info, 4, argv, "setKeys(output, profile, masterKey, masterSalt) needs four arguments");
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
  if (!output_set_keys(o, (int)profile, key, salt, salt_length)) {
    napi_throw_error(env, NULL, "OpenSSL could not set up the SRTP keys");
    return NULL;
  }
  return make_undefined(env);
}

// setRoute(output, fd, address, port): where and through which socket the datagrams go.
static napi_value js_set_route(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Output *o = output_args(env, info, 4, argv, "setRoute(output, fd, address, port) needs four arguments");
  if (o == NULL) return NULL;
  double fd, port;
  char address[64];
  size_t address_length = 0;
  if (!get_integer(env, argv[1], 0, 2147483647.0, &fd, "fd must be a socket's file descriptor (a non-negative integer)")) return NULL;
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &address_length) != napi_ok || address_length >= sizeof address - 1) {
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

static napi_value js_clear_route(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Output *o = output_args(env, info, 1, argv, "clearRoute(output) needs an output");
  if (o == NULL) return NULL;
  o->fd = -1;
  return make_undefined(env);
}

static napi_value js_create_group(napi_env env, napi_callback_info info) {
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

static napi_value js_group_add(napi_env env, napi_callback_info info) {
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

static napi_value js_group_remove(napi_env env, napi_callback_info info) {
  Group *g;
  Output *o;
  if (!get_group_and_output(env, info, "groupRemove(group, output) needs a group and an output", &g, &o)) return NULL;
  if (o->group == g) group_unlink(g, o);
  return make_undefined(env);
}

// A packet the RTP parser accepts, or false after counting it as malformed. Longer than
// any UDP datagram is malformed too: it cannot have come from the network.
static bool read_packet(Batch *b, const uint8_t *data, size_t length, RtpView *view) {
  if (length <= 65535 && rtp_parse(data, length, view)) return true;
  b->stats.malformed++;
  return false;
}

// forward(group, packet, keyframeStart, nowMs): one live packet to every output of the group.
static napi_value js_forward(napi_env env, napi_callback_info info) {
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
  Batch *b = &addon_of(env)->batch;
  RtpView view;
  if (!read_packet(b, packet, length, &view)) return make_number(env, FORWARD_MALFORMED);
  int result = 0;
  b->now = now;
  for (size_t i = 0; i < g->count; i++) {
    Output *o = g->members[i];
    // Keys arrive when the viewer's session connects: before that it is skipped altogether,
    // its gate and numbering untouched, as the JavaScript group skips a session not connected.
    if (o->profile == 0) continue;
    if (!output_gate(o, &view, keyframe_start)) {
      result |= FORWARD_KEYFRAME_NEEDED;
      continue;
    }
    batch_deliver(b, o, packet, &view);
  }
  batch_flush(b);
  return make_number(env, result);
}

// send(output, packet, nowMs): one packet (a retransmission), no keyframe gate.
static napi_value js_send_one(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *packet;
  size_t length;
  double now;
  Output *o = output_packet_args(env, info, argv, "send(output, packet, nowMs) needs three arguments", &packet, &length, &now);
  if (o == NULL) return NULL;
  Batch *b = &addon_of(env)->batch;
  RtpView view;
  if (!read_packet(b, packet, length, &view)) return make_bool(env, false);
  double before = o->packets;
  b->now = now;
  batch_deliver(b, o, packet, &view);
  batch_flush(b);
  return make_bool(env, o->packets > before);
}

// The index-th element of `packets` as bytes and a parsed view; false (no exception) if it is
// not a Uint8Array or not RTP (counted as malformed).
static bool group_packet(napi_env env, Batch *b, napi_value packets, uint32_t index, const uint8_t **data, RtpView *view) {
  napi_value element;
  size_t length = 0;
  if (napi_get_element(env, packets, index, &element) != napi_ok || !uint8_bytes(env, element, data, &length)) {
    b->stats.malformed++;
    return false;
  }
  return read_packet(b, *data, length, view);
}

// sendGroup(output, packets, nowMs): the cached keyframe group for a joining viewer.
static napi_value js_send_group(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Output *o = output_args(env, info, 3, argv, "sendGroup(output, packets, nowMs) needs three arguments");
  if (o == NULL) return NULL;
  bool is_array = false;
  uint32_t count = 0;
  double now;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    return type_error(env, "packets must be an array of Buffers");
  }
  if (!get_now(env, argv[2], &now)) return NULL;
  Batch *b = &addon_of(env)->batch;
  const uint8_t *data;
  RtpView view;
  uint32_t first = 0;
  while (first < count && !group_packet(env, b, argv[1], first, &data, &view)) first++;
  if (first == count) return make_number(env, 0);
  o->has_gate_source = true;
  o->gate_source_ssrc = view.ssrc;
  o->waiting_for_keyframe = false;
  double before = o->packets;
  b->now = now;
  batch_deliver(b, o, data, &view);
  for (uint32_t i = first + 1; i < count; i++) {
    // Each element is read and used before the next N-API call, so its memory cannot move.
    if (group_packet(env, b, argv[1], i, &data, &view)) batch_deliver(b, o, data, &view);
  }
  batch_flush(b);
  return make_number(env, o->packets - before);
}

// protect(output, packet, nowMs): the datagram send() would send, returned instead.
static napi_value js_protect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *packet;
  size_t length;
  double now;
  Output *o = output_packet_args(env, info, argv, "protect(output, packet, nowMs) needs three arguments", &packet, &length, &now);
  if (o == NULL) return NULL;
  if (o->profile == 0) {
    napi_throw_error(env, NULL, "protect() needs the output's keys: call setKeys() first");
    return NULL;
  }
  RtpView view;
  if (!read_packet(&addon_of(env)->batch, packet, length, &view)) return make_undefined(env);
  uint8_t header[MAX_HEADER];
  size_t header_length = output_write_header(o, &view, now, header);
  size_t size = header_length + view.payload_length + output_tag_length(o);
  napi_value result;
  void *out = NULL;
  // An allocation may run the garbage collector: the packet's bytes are looked up again after it.
  CHECK(napi_create_buffer(env, size, &out, &result));
  if (!get_bytes(env, argv[1], &packet, &length, "packet must be a Buffer")) return NULL;
  memcpy(out, header, header_length);
  if (!output_encrypt(o, out, header_length, packet + view.payload_offset, view.payload_length)) {
    napi_throw_error(env, NULL, "OpenSSL failed to encrypt the packet");
    return NULL;
  }
  return result;
}

// outputState(output): the rewriter's, the gate's and the send counters.
static napi_value js_output_state(napi_env env, napi_callback_info info) {
  napi_value argv[1], state;
  Output *o = output_args(env, info, 1, argv, "outputState(output) needs an output");
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
static napi_value js_to_source_seq(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Output *o = output_args(env, info, 2, argv, "toSourceSeq(output, viewerSeq) needs two arguments");
  if (o == NULL) return NULL;
  double seq;
  if (!get_integer(env, argv[1], 0, 65535, &seq, "viewerSeq must be an integer in [0, 65535]")) return NULL;
  uint32_t source;
  return output_source_seq(o, (uint32_t)seq, &source) ? make_number(env, source) : make_undefined(env);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  Stats *s = &addon_of(env)->batch.stats;
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
  free(a->batch.slab);
  free(a->batch.large);
  free(a);
}

static napi_value init(napi_env env, napi_value exports) {
  Addon *a = calloc(1, sizeof *a);
  if (a != NULL) {
    a->batch.slab = malloc((size_t)BATCH * SLOT);
    a->batch.large = malloc(LARGE);
  }
  if (a == NULL || a->batch.slab == NULL || a->batch.large == NULL) {
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
      {"createOutput", NULL, js_create_output, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setKeys", NULL, js_set_keys, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRoute", NULL, js_set_route, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clearRoute", NULL, js_clear_route, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createGroup", NULL, js_create_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupAdd", NULL, js_group_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupRemove", NULL, js_group_remove, NULL, NULL, NULL, napi_enumerable, NULL},
      {"forward", NULL, js_forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send_one, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendGroup", NULL, js_send_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"protect", NULL, js_protect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"outputState", NULL, js_output_state, NULL, NULL, NULL, napi_enumerable, NULL},
      {"toSourceSeq", NULL, js_to_source_seq, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
