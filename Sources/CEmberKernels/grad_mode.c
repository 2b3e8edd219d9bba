#include "CEmberKernels.h"

// read and written by the inline functions in CEmberKernels.h
_Thread_local int ember_grad_disabled = 0;
