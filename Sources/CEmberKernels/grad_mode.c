#include "CEmberKernels.h"

static _Thread_local int ember_grad_disabled = 0;

int ember_grad_enabled_get(void) { return !ember_grad_disabled; }
void ember_grad_enabled_set(int enabled) { ember_grad_disabled = !enabled; }
