// Contiguous float32 elementwise kernels. Swift compiles for baseline x86-64 (SSE2), so these
// loops live in C, compiled for AVX-512, AVX2 and the baseline, one picked at run time
// (dispatch.h). The code uses explicit vector extensions (16 lanes for exp,
// sigmoid, tanh; 8 for the memory-bound arithmetic), so even SwiftPM's -O0 debug builds stay
// vectorised.
//
// The arithmetic kernels are bit-identical to the Swift loops they replace (no FMA contraction).
// exp, sigmoid and tanh follow `FastMath` in Sources/Ember/Kernels/FastMath.swift step by step
// with explicit FMAs in the polynomials (vecmath.h's fma16: within 1 ulp of the Swift formulas,
// as accurate, a quarter to a third faster).

#include "CEmberElementwise.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

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
