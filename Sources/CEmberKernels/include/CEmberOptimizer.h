#ifndef CEMBER_OPTIMIZER_H
#define CEMBER_OPTIMIZER_H

#include <stdint.h>

/// Flags of ``ember_sgd_f32``.
enum {
  EMBER_SGD_MAXIMIZE = 1,
  EMBER_SGD_NESTEROV = 2,
  /// The momentum buffer is written with the gradient (PyTorch's `buf = grad.clone()`).
  EMBER_SGD_FIRST_STEP = 4,
};

/// One SGD step over `n` contiguous float32 elements, with PyTorch's operations in PyTorch's
/// order (each rounded to float32, `add(b, alpha=s)` as one fused multiply-add):
///
///     g = grad (negated when maximize); g = fma(param, decay, g) when decay != 0
///     b = g on the first step, else fma(g, keep, b * mu); g = nesterov ? fma(b, mu, g) : b
///     param = fma(g, neg_lr, param)
///
/// `buf` is NULL without momentum. Swift compiles for baseline x86-64, where `addingProduct` is
/// a call into libm's `fmaf` per element; here the FMA is one instruction (AVX2/AVX-512 picked
/// at run time), and the rounding is the same (a fused multiply-add is exactly rounded).
void ember_sgd_f32(float *param, const float *grad, float *buf, int64_t n, float neg_lr,
                   float decay, float mu, float keep, int32_t flags);

#endif
