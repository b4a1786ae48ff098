// Per viewer track: RTP parsing, header rewrite, keyframe gate and SRTP (see output.h).
#include "output.h"

#include <math.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

// RFC 3711 §4.3.1 labels for the SRTP (not SRTCP) session keys.
#define LABEL_RTP_ENCRYPTION 0x00
#define LABEL_RTP_AUTH 0x01
#define LABEL_RTP_SALT 0x02

// ---------------------------------------------------------------------------------------
// RTP parsing: every length checked before it is used.

bool rtp_parse(const uint8_t *p, size_t length, RtpView *view) {
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

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// ---------------------------------------------------------------------------------------
// Header rewrite: RtpRewriter.writeHeader and remap, in JavaScript's arithmetic.

// JavaScript's `x >>> 0` for an integral double (0 for an infinite one).
static uint32_t to_uint32(double x) {
  if (!isfinite(x)) return 0;
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
size_t output_write_header(Output *o, const RtpView *v, double now, uint8_t *header) {
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

bool output_source_seq(const Output *o, uint32_t viewer_seq, uint32_t *out) {
  if (!o->has_source || o->last_seq < 0) return false;
  uint32_t since_first = (viewer_seq - o->first_viewer_seq) & 0xffff;
  uint32_t span = ((uint32_t)o->last_seq - o->first_viewer_seq) & 0xffff;
  if (since_first > span) return false;
  *out = (viewer_seq - o->seq_offset) & 0xffff;
  return true;
}

// ---------------------------------------------------------------------------------------
// SRTP: SrtpSender for one SSRC.

size_t output_tag_length(const Output *o) {
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
bool output_encrypt(Output *o, uint8_t *out, size_t length, const uint8_t *payload, size_t payload_length) {
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

void output_free_keys(Output *o) {
  EVP_CIPHER_CTX_free(o->cipher);
  EVP_MAC_CTX_free(o->mac);
  o->cipher = NULL;
  o->mac = NULL;
  o->profile = 0;
  o->has_rollover = false;
}

bool output_set_keys(Output *o, int profile, const uint8_t *master_key, const uint8_t *master_salt, size_t salt_length) {
  bool gcm = profile == PROFILE_AEAD_AES_128_GCM;
  uint8_t session_key[16], auth_key[20];
  output_free_keys(o);
  bool ok = derive_key(master_key, master_salt, salt_length, LABEL_RTP_ENCRYPTION, session_key, 16) &&
            derive_key(master_key, master_salt, salt_length, LABEL_RTP_SALT, o->salt, gcm ? 12 : 14);
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
    ok = o->mac != NULL && derive_key(master_key, master_salt, salt_length, LABEL_RTP_AUTH, auth_key, 20) &&
         EVP_MAC_init(o->mac, auth_key, 20, params) == 1;
  }
  memset(session_key, 0, sizeof session_key);
  memset(auth_key, 0, sizeof auth_key);
  if (!ok) {
    output_free_keys(o);
    return false;
  }
  o->profile = profile;
  return true;
}

// Forwarder.forward's gate: a change of source makes video wait for a keyframe.
bool output_gate(Output *o, const RtpView *v, bool keyframe_start) {
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

