// Contiguous float32 elementwise kernels. Swift compiles for baseline x86-64 (SSE2), so these
// loops live in C, compiled for AVX-512, AVX2 and the baseline, one picked at run time
// (dispatch.h). The code uses explicit vector extensions (16 lanes for exp,
// sigmoid, tanh; 8 for the memory-bound arithmetic), so even SwiftPM's -O0 debug builds stay
// vectorised.
//
// Results are bit-identical to the Swift loops they replace: no FMA contraction, and exp,
// sigmoid and tanh follow `FastMath` in Sources/Ember/Kernels/FastMath.swift step by step.

#include "CEmberElementwise.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
// unaligned, aliasing views for loads and stores
typedef float v16f_u __attribute__((vector_size(64), aligned(4), may_alias));
// The memory-bound arithmetic kernels use 32-byte vectors: on Zen 5, 64-byte loads and stores ran
// 5-10% slower than 32-byte ones for arrays beyond L2 (and no faster below).
typedef float v8f_u __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v8f __attribute__((vector_size(32)));

// Helpers are macros (GNU statement expressions), not functions: a 64-byte vector argument or
// result would change the calling convention between the clones.
#define load16(p) (*(const v16f_u *)(p))
#define store16(p, v) (*(v16f_u *)(p) = (v))

/// m ? a : b lane by lane (m is all ones or all zeros per lane).
#define select16(m, a, b) ((v16f)((((v16i)(a)) & (m)) | (((v16i)(b)) & ~(m))))

#define abs16(x) ((v16f)(((v16i)(x)) & 0x7fffffff))

/// FastMath.exp, 16 lanes: 2^n e^r with n = round(x / ln 2) and the Cephes polynomial for e^r.
#define exp16(X)                                                                   \
  ({                                                                               \
    v16f ex_x = (X);                                                               \
    /* Swift.min(Swift.max(x, -104), 89), NaN passing through */                   \
    v16f ex_lo = (v16f){0} - 104.0f;                                               \
    v16f ex_hi = (v16f){0} + 89.0f;                                                \
    v16f ex_m = select16(ex_lo >= ex_x, ex_lo, ex_x);                              \
    v16f xc = select16(ex_hi < ex_m, ex_hi, ex_m);                                 \
    /* 1.5 * 2^23: adding it rounds to an integer */                               \
    v16f t = xc * 1.4426950408889634f + 12582912.0f;                               \
    v16f n = t - 12582912.0f;                                                      \
    v16f r = (xc - n * 0.693359375f) - n * -2.1219444e-4f;                         \
    v16f p = (v16f){0} + 1.98756915e-4f;                                           \
    p = p * r + 1.3981999507e-3f;                                                  \
    p = p * r + 8.3334519073e-3f;                                                  \
    p = p * r + 4.1665795894e-2f;                                                  \
    p = p * r + 1.6666665459e-1f;                                                  \
    p = p * r + 5.0000001201e-1f;                                                  \
    p = p * (r * r) + r + 1.0f;                                                    \
    /* 2^n as two factors so that neither overflows nor underflows on its own */   \
    v16i ni = (v16i)t - 0x4b400000; /* the magic number's bit pattern */           \
    v16i n1 = ni >> 1;                                                             \
    v16i n2 = ni - n1;                                                             \
    p * (v16f)((n1 + 127) << 23) * (v16f)((n2 + 127) << 23);                       \
  })

/// FastMath.sigmoid: 1 / (1 + e^-|x|), times e^-|x| for negative x.
#define sigmoid16(X)                                                               \
  ({                                                                               \
    v16f sg_x = (X);                                                               \
    v16f sg_e = exp16(-abs16(sg_x));                                               \
    v16f sg_s = 1.0f / (1.0f + sg_e);                                              \
    select16(sg_x >= 0.0f, sg_s, sg_e * sg_s);                                     \
  })

/// FastMath.tanh: the Cephes odd polynomial for |x| < 0.625, else 1 - 2 / (e^2|x| + 1).
#define tanh16(X)                                                                  \
  ({                                                                               \
    v16f th_x = (X);                                                               \
    v16f th_ax = abs16(th_x);                                                      \
    v16f th_z = th_x * th_x;                                                       \
    v16f th_p = (v16f){0} - 5.70498872745e-3f;                                     \
    th_p = th_p * th_z + 2.06390887954e-2f;                                        \
    th_p = th_p * th_z - 5.37397155531e-2f;                                        \
    th_p = th_p * th_z + 1.33314422036e-1f;                                        \
    th_p = th_p * th_z - 3.33332819422e-1f;                                        \
    v16f th_small = th_x * (1.0f + th_z * th_p); /* keeps the sign of -0.0 */      \
    v16f th_large = 1.0f - 2.0f / (exp16(2.0f * th_ax) + 1.0f);                    \
    select16(th_ax < 0.625f, th_small, select16(th_x < 0.0f, -th_large, th_large)); \
  })

#define EMBER_BINARY(name, OP)                                               \
  EMBER_INLINE void name##_impl(const float *a, const float *b, float *out, int64_t n) { \
    int64_t i = 0;                                                           \
    for (; i + 32 <= n; i += 32) {                                           \
      for (int k = 0; k < 32; k += 8) {                                      \
        v8f x = *(const v8f_u *)(a + i + k), y = *(const v8f_u *)(b + i + k); \
        *(v8f_u *)(out + i + k) = x OP y;                                     \
      }                                                                      \
    }                                                                        \
    for (; i < n; i++) out[i] = a[i] OP b[i];                                \
  }                                                                          \
  EMBER_DISPATCH(, name, (const float *a, const float *b, float *out, int64_t n), (a, b, out, n))

EMBER_BINARY(ember_add_f32, +)
EMBER_BINARY(ember_sub_f32, -)
EMBER_BINARY(ember_mul_f32, *)
EMBER_BINARY(ember_div_f32, /)

// EXPR computes one result from `x` (an element or a vector) and the scalar `s`.
#define EMBER_SCALAR(name, EXPR)                                             \
  EMBER_INLINE void name##_impl(const float *a, float s, float *out, int64_t n) { \
    int64_t i = 0;                                                           \
    for (; i + 32 <= n; i += 32) {                                           \
      for (int k = 0; k < 32; k += 8) {                                      \
        v8f x = *(const v8f_u *)(a + i + k);                                 \
        *(v8f_u *)(out + i + k) = EXPR;                                      \
      }                                                                      \
    }                                                                        \
    for (; i < n; i++) {                                                     \
      float x = a[i];                                                        \
      out[i] = EXPR;                                                         \
    }                                                                        \
  }                                                                          \
  EMBER_DISPATCH(, name, (const float *a, float s, float *out, int64_t n), (a, s, out, n))

EMBER_SCALAR(ember_add_scalar_f32, x + s)
EMBER_SCALAR(ember_sub_scalar_f32, x - s)
EMBER_SCALAR(ember_rsub_scalar_f32, s - x)
EMBER_SCALAR(ember_mul_scalar_f32, x * s)
EMBER_SCALAR(ember_div_scalar_f32, x / s)
EMBER_SCALAR(ember_rdiv_scalar_f32, s / x)

// The tail goes through the same vector function (padded with zeros), so every element gets the
// same formula.
#define EMBER_UNARY(name, F)                                                 \
  EMBER_INLINE void name##_impl(const float *a, float *out, int64_t n) {     \
    int64_t i = 0;                                                           \
    for (; i + 16 <= n; i += 16) store16(out + i, F(load16(a + i)));         \
    if (i < n) {                                                             \
      v16f v = {0};                                                          \
      for (int64_t k = 0; k < n - i; k++) v[k] = a[i + k];                   \
      v16f r = F(v);                                                         \
      for (int64_t k = 0; k < n - i; k++) out[i + k] = r[k];                 \
    }                                                                        \
  }                                                                          \
  EMBER_DISPATCH(, name, (const float *a, float *out, int64_t n), (a, out, n))

EMBER_UNARY(ember_exp_f32, exp16)
EMBER_UNARY(ember_sigmoid_f32, sigmoid16)
EMBER_UNARY(ember_tanh_f32, tanh16)
