#ifndef CEMBER_KERNELS_H
#define CEMBER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "CEmberConv.h"
#include "CEmberGemm.h"
#include "CEmberElementwise.h"
#include "CEmberOptimizer.h"
#include "CEmberPool.h"
#include "CEmberRecurrent.h"
#include "CEmberReduce.h"
#include "CEmberStrided.h"

/// Per-thread autograd state (defined in thread_state.c). Grad mode is thread-local so that one
/// thread's `withNoGrad` never changes another thread's behaviour; it is read on every op, so it
/// is kept in C where a `_Thread_local` read is a single instruction, and read inline (a call
/// into the C file was one more function per op, 0.6% of ember-bench scalar's samples).
extern _Thread_local int ember_grad_disabled;
static inline int ember_grad_enabled_get(void) { return !ember_grad_disabled; }
static inline void ember_grad_enabled_set(int enabled) { ember_grad_disabled = !enabled; }

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
/// This thread's counters (NULL until its first count) and the call that makes them; read by the
/// inline adds below, so a count is a thread-local load, an add and a store (a call into the C
/// file was about 15 instructions more, ember-bench scalar: 26 counts per iteration).
extern _Thread_local int64_t *ember_counts_tls_values;
int64_t *ember_counts_register(void);

/// Adds `delta` to this thread's counter `kind` and returns its previous value. Only the owning
/// thread writes its counters; relaxed atomic loads and stores let a total read them meanwhile.
static inline int64_t ember_count_add(int kind, int64_t delta) {
  int64_t *c = ember_counts_tls_values;
  if (__builtin_expect(c == NULL, 0)) c = ember_counts_register();
  int64_t old = __atomic_load_n(&c[kind], __ATOMIC_RELAXED);
  __atomic_store_n(&c[kind], old + delta, __ATOMIC_RELAXED);
  return old;
}

/// A node was made: adds one to this thread's live and created node counts and returns the
/// created count before (the node's sequence number).
static inline int64_t ember_count_node_made(void) {
  ember_count_add(EMBER_COUNT_LIVE_NODES, 1);
  return ember_count_add(EMBER_COUNT_CREATED_NODES, 1);
}

/// The sum of counter `kind` over all threads, present and exited.
int64_t ember_count_total(int kind);

/// How deep this thread is in graph teardown (`Node`'s `deinit`): shallow graphs are freed by
/// plain recursion, deeper ones by an explicit loop (see Node.swift).
extern _Thread_local int ember_teardown_depth;
/// Enters one level of recursive teardown if fewer than `limit` are open (returns 1; the caller
/// leaves with ember_teardown_leave), else returns 0.
static inline int ember_teardown_enter(int limit) {
  if (ember_teardown_depth >= limit) return 0;
  ember_teardown_depth += 1;
  return 1;
}
static inline void ember_teardown_leave(void) { ember_teardown_depth -= 1; }

/// This thread's backward-engine scratch while no run holds it (an unretained Swift object the
/// thread's pthread key owns; see EngineScratch in Engine.swift), else NULL.
extern _Thread_local void *ember_engine_scratch;
/// Takes the scratch from the thread (NULL when a run holds it or none was made yet).
static inline void *ember_engine_scratch_take(void) {
  void *p = ember_engine_scratch;
  ember_engine_scratch = 0;
  return p;
}
static inline void ember_engine_scratch_put(void *p) { ember_engine_scratch = p; }

/// Marks a Swift `Mutex` as taken / about to be released, for ThreadSanitizer (which cannot see
/// futex-based locks); no-ops in other builds.
void ember_lock_acquired(void *addr);
void ember_lock_releasing(void *addr);

/// One spin-wait hint (x86 `pause`, arm64 `yield`) for the worker pool's idle loop.
void ember_cpu_relax(void);

#endif
