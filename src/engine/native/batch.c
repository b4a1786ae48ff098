// Sending: see batch.h.
#include "batch.h"

#include <errno.h>
#include <string.h>

#ifndef __linux__
// No sendmmsg (macOS): the same contract, one sendmsg per message.
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

// A datagram the kernel took.
static void sent(Batch *b, size_t i) {
  Output *o = b->pending[i].output;
  b->stats.datagrams++;
  b->stats.bytes += b->messages[i].msg_len;
  o->packets++;
  o->bytes += (double)b->pending[i].rtp_length;
  if (!o->has_first_packet) {
    o->has_first_packet = true;
    o->first_packet_at = b->now;
  }
}

static void send_run(Batch *b, size_t from, size_t to) {
  int fd = b->fds[from];
  size_t i = from;
  while (i < to) {
    int r = sendmmsg(fd, b->messages + i, (unsigned int)(to - i), MSG_DONTWAIT);
    b->stats.send_calls++;
    if (r > 0) {
      for (size_t k = i; k < i + (size_t)r; k++) sent(b, k);
      i += (size_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      // The socket buffer is full: drop the rest of the run, never wait or queue.
      for (size_t k = i; k < to; k++) b->pending[k].output->send_drops++;
      b->stats.dropped_full += to - i;
      return;
    } else {
      // This message failed (e.g. ECONNREFUSED from an earlier ICMP error): skip it.
      b->pending[i].output->send_drops++;
      b->stats.send_errors++;
      i++;
    }
  }
}

void batch_flush(Batch *b) {
  size_t i = 0;
  while (i < b->count) {
    size_t j = i + 1;
    while (j < b->count && b->fds[j] == b->fds[i]) j++;
    send_run(b, i, j);
    i = j;
  }
  b->count = 0;
}

// Where a datagram of `size` bytes is built: the next batch slot, or the large buffer
// (after a flush, as it is sent on its own). NULL for more than a UDP datagram holds.
static uint8_t *datagram_space(Batch *b, size_t size) {
  if (size <= SLOT) {
    if (b->count == BATCH) batch_flush(b);
    return b->slab + b->count * SLOT;
  }
  batch_flush(b);
  return size <= LARGE ? b->large : NULL;
}

void batch_deliver(Batch *b, Output *o, const uint8_t *packet, const RtpView *v) {
  uint8_t header[MAX_HEADER];
  size_t length = output_write_header(o, v, b->now, header);
  if (o->profile == 0 || o->fd < 0) return;
  size_t size = length + v->payload_length + output_tag_length(o);
  uint8_t *out = datagram_space(b, size);
  if (out == NULL) {
    o->send_drops++;
    b->stats.send_errors++;
    return;
  }
  memcpy(out, header, length);
  if (!output_encrypt(o, out, length, packet + v->payload_offset, v->payload_length)) {
    o->send_drops++;
    b->stats.send_errors++;
    return;
  }
  size_t i = b->count++;
  b->iov[i].iov_base = out;
  b->iov[i].iov_len = size;
  memset(&b->messages[i], 0, sizeof b->messages[i]);
  b->messages[i].msg_hdr.msg_name = &o->address;
  b->messages[i].msg_hdr.msg_namelen = o->address_length;
  b->messages[i].msg_hdr.msg_iov = &b->iov[i];
  b->messages[i].msg_hdr.msg_iovlen = 1;
  b->pending[i].output = o;
  b->pending[i].rtp_length = length + v->payload_length;
  b->fds[i] = o->fd;
  if (out == b->large) batch_flush(b);
}

