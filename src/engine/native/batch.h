// The datagrams of one fan-out call: encrypted into a preallocated slab, sent with one
// sendmmsg per run of messages on the same fd, a full socket buffer dropping the rest.
#ifndef ONECAST_BATCH_H
#define ONECAST_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "output.h"

#ifndef __linux__
struct mmsghdr {
  struct msghdr msg_hdr;
  unsigned int msg_len;
};
#endif

// Messages per sendmmsg call, and the room for each: a 1 200-byte video packet and its
// header and tag fit; a larger datagram is encrypted into the large buffer and sent on its own.
#define BATCH 64
#define SLOT 2048
// The largest datagram: a UDP payload with the viewer's header and tag.
#define LARGE (65535 + MAX_HEADER + MAX_TAG)

// The counters stats() returns (see FanoutStats in fanoutAddon.ts).
typedef struct {
  uint64_t send_calls, datagrams, bytes, dropped_full, send_errors, malformed;
} Stats;

// What a queued message is: whose, and its RTP size.
typedef struct {
  Output *output;
  size_t rtp_length; // header + payload, what the Forwarder counts as bytes
} Pending;

typedef struct {
  Stats stats;
  uint8_t *slab; // BATCH slots of SLOT bytes
  uint8_t *large; // LARGE bytes
  struct mmsghdr messages[BATCH];
  struct iovec iov[BATCH];
  Pending pending[BATCH];
  int fds[BATCH];
  size_t count;
  // The caller's clock (ms), for the outputs' firstPacketAt.
  double now;
} Batch;

// Forwarder.send for one output: rewrites always (as the JavaScript forwarder does for a
// session not yet connected, too), then, with keys and a route, encrypts into the batch.
void batch_deliver(Batch *b, Output *o, const uint8_t *packet, const RtpView *v);

// Sends what is queued.
void batch_flush(Batch *b);

#endif
