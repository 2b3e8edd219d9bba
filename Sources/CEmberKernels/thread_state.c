#include "CEmberKernels.h"

// Per-thread autograd state, read and written by the inline functions in CEmberKernels.h.
_Thread_local int ember_grad_disabled = 0;
_Thread_local int ember_teardown_depth = 0;
_Thread_local void *ember_engine_scratch = 0;
