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

/// Marks a Swift `Mutex` as taken / about to be released, for ThreadSanitizer (which cannot see
/// futex-based locks); no-ops in other builds.
void ember_lock_acquired(void *addr);
void ember_lock_releasing(void *addr);

/// One spin-wait hint (x86 `pause`, arm64 `yield`) for the worker pool's idle loop.
void ember_cpu_relax(void);

#endif
