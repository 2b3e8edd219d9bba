#ifndef CEMBER_KERNELS_H
#define CEMBER_KERNELS_H

#include <stdint.h>

#include "CEmberGemm.h"
#include "CEmberElementwise.h"

/// Per-thread autograd flags (grad mode, anomaly mode). Thread-local so that one thread's
/// `withNoGrad` never changes another thread's behaviour; read on every op, so kept in C where a
/// `_Thread_local` read is a single instruction.
int ember_grad_enabled_get(void);
void ember_grad_enabled_set(int enabled);

#endif
