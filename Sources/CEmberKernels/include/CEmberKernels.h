#ifndef CEMBER_KERNELS_H
#define CEMBER_KERNELS_H

#include <stdint.h>

#include "CEmberConv.h"
#include "CEmberGemm.h"
#include "CEmberElementwise.h"
#include "CEmberOptimizer.h"
#include "CEmberPool.h"
#include "CEmberRecurrent.h"
#include "CEmberReduce.h"
#include "CEmberStrided.h"

/// Per-thread autograd flags (grad mode, anomaly mode). Thread-local so that one thread's
/// `withNoGrad` never changes another thread's behaviour; read on every op, so kept in C where a
/// `_Thread_local` read is a single instruction.
int ember_grad_enabled_get(void);
void ember_grad_enabled_set(int enabled);

/// Process-wide counts of live objects, kept per thread: each thread adds to its own counters
/// without a locked instruction, and a total sums all threads' counters (and those of threads
/// that exited). For the counts tests read (live storages and graph nodes) and the sequence
/// numbers of graph nodes, which are per thread as PyTorch's are. A relaxed atomic add on a
/// shared counter costs several nanoseconds each; ember-bench scalar makes 31 of them per
/// iteration (6% of its time, measured by removing them).
enum {
  EMBER_COUNT_LIVE_STORAGES = 0,
  EMBER_COUNT_LIVE_NODES = 1,
  /// Nodes this thread has created: also each new node's sequence number.
  EMBER_COUNT_CREATED_NODES = 2,
  EMBER_COUNT_KINDS = 3
};
/// Adds `delta` to this thread's counter `kind` and returns its previous value.
int64_t ember_count_add(int kind, int64_t delta);
/// A node was made: adds one to this thread's live and created node counts and returns the
/// created count before (the node's sequence number).
int64_t ember_count_node_made(void);
/// The sum of counter `kind` over all threads, present and exited.
int64_t ember_count_total(int kind);

/// Marks a Swift `Mutex` as taken / about to be released, for ThreadSanitizer (which cannot see
/// futex-based locks); no-ops in other builds.
void ember_lock_acquired(void *addr);
void ember_lock_releasing(void *addr);

/// One spin-wait hint (x86 `pause`, arm64 `yield`) for the worker pool's idle loop.
void ember_cpu_relax(void);

#endif
