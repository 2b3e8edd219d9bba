// Optimizer updates over contiguous float32 memory (see CEmberOptimizer.h). Every operation is
// written out (no FP contraction), so the results equal PyTorch's bit for bit.

#include "CEmberOptimizer.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4), may_alias));

#define EMBER_INLINE static inline __attribute__((always_inline))

// One step on a value `x` that is a float or a v8f (the same code for the vector body and the
// scalar tail); FMA is __builtin_elementwise_fma, which takes both.
#define EMBER_SGD_STEP(P, G, B, HAS_BUF)                                                     \
  do {                                                                                       \
    __typeof__(P) g_ = (flags & EMBER_SGD_MAXIMIZE) ? -(G) : (G);                            \
    if (decay != 0) g_ = __builtin_elementwise_fma((P), decay_v, g_);                        \
    if (HAS_BUF) {                                                                           \
      __typeof__(P) b_ = g_;                                                                 \
      if (!(flags & EMBER_SGD_FIRST_STEP)) {                                                 \
        __typeof__(P) m_ = (B) * mu_v;                                                       \
        b_ = __builtin_elementwise_fma(g_, keep_v, m_);                                      \
      }                                                                                      \
      (B) = b_;                                                                              \
      g_ = (flags & EMBER_SGD_NESTEROV) ? __builtin_elementwise_fma(b_, mu_v, g_) : b_;      \
    }                                                                                        \
    (P) = __builtin_elementwise_fma(g_, lr_v, (P));                                          \
  } while (0)

EMBER_INLINE void ember_sgd_f32_impl(float *param, const float *grad, float *buf, int64_t n,
                                     float neg_lr, float decay, float mu, float keep,
                                     int32_t flags) {
  int64_t i = 0;
  {
    const v8f lr_v = (v8f){0} + neg_lr, decay_v = (v8f){0} + decay;
    const v8f mu_v = (v8f){0} + mu, keep_v = (v8f){0} + keep;
    for (; i + 8 <= n; i += 8) {
      v8f p = *(v8f_u *)(param + i);
      v8f g = *(const v8f_u *)(grad + i);
      if (buf) {
        v8f b = *(v8f_u *)(buf + i);
        EMBER_SGD_STEP(p, g, b, 1);
        *(v8f_u *)(buf + i) = b;
      } else {
        v8f b = g;
        EMBER_SGD_STEP(p, g, b, 0);
      }
      *(v8f_u *)(param + i) = p;
    }
  }
  const float lr_v = neg_lr, decay_v = decay, mu_v = mu, keep_v = keep;
  for (; i < n; i++) {
    float p = param[i];
    if (buf) {
      EMBER_SGD_STEP(p, grad[i], buf[i], 1);
    } else {
      float b = 0;
      EMBER_SGD_STEP(p, grad[i], b, 0);
    }
    param[i] = p;
  }
}

EMBER_DISPATCH(, ember_sgd_f32,
               (float *param, const float *grad, float *buf, int64_t n, float neg_lr, float decay,
                float mu, float keep, int32_t flags),
               (param, grad, buf, n, neg_lr, decay, mu, keep, flags))
