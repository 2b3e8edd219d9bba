// Contiguous float32 reductions and row-wise softmax, compiled for AVX-512, AVX2 and the
// baseline, one picked at run time (dispatch.h). Explicit vector extensions keep them vectorised
// in SwiftPM's -O0 debug builds too. No FMA contraction (softmax's exp16 has explicit FMAs,
// vecmath.h), and the sums keep the accumulation scheme of the Swift loops they replace (float
// partials of four vectors added into double lanes), so float32 sums stay as accurate as before.

#include "CEmberReduce.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f_x __attribute__((vector_size(32)));

#define lo8(v) __builtin_shufflevector((v), (v), 0, 1, 2, 3, 4, 5, 6, 7)
#define hi8(v) __builtin_shufflevector((v), (v), 8, 9, 10, 11, 12, 13, 14, 15)
#define widen(v8) __builtin_convertvector((v8), v8d)

/// Lanes of a double vector added pairwise.
#define hsum8d(V)                                                               \
  ({                                                                            \
    v8d hs_v = (V);                                                             \
    ((hs_v[0] + hs_v[4]) + (hs_v[1] + hs_v[5])) + ((hs_v[2] + hs_v[6]) + (hs_v[3] + hs_v[7])); \
  })

/// Lanes of a float vector added pairwise.
#define hsum16f(V)                                                              \
  ({                                                                            \
    v16f hf_v = (V);                                                            \
    v8f_x hf_a = lo8(hf_v) + hi8(hf_v);                                         \
    ((hf_a[0] + hf_a[4]) + (hf_a[1] + hf_a[5])) + ((hf_a[2] + hf_a[6]) + (hf_a[3] + hf_a[7])); \
  })

#define splat16(x) ((v16f){0} + (x))

// ---------------------------------------------------------------------------------------- sums

// Sum (SQ 0) or sum of squares (SQ 1) of n floats: each 64-element block is summed in 16 float
// lanes (four vector adds), then added into 16 double lanes.
#define SUM_IMPL(SQ)                                                            \
  v8d acc0 = {0}, acc1 = {0};                                                   \
  int64_t i = 0;                                                                \
  for (; i + 64 <= n; i += 64) {                                                \
    v16f x0 = load16(p + i), x1 = load16(p + i + 16);                           \
    v16f x2 = load16(p + i + 32), x3 = load16(p + i + 48);                      \
    v16f a;                                                                     \
    if (SQ) {                                                                   \
      a = (v16f){0} + x0 * x0;                                                  \
      a += x1 * x1;                                                             \
      a += x2 * x2;                                                             \
      a += x3 * x3;                                                             \
    } else {                                                                    \
      a = x0 + x1;                                                              \
      a += x2;                                                                  \
      a += x3;                                                                  \
    }                                                                           \
    acc0 += widen(lo8(a));                                                      \
    acc1 += widen(hi8(a));                                                      \
  }                                                                             \
  double tail = 0;                                                              \
  for (; i < n; i++) tail += SQ ? (double)p[i] * (double)p[i] : (double)p[i];   \
  double total = hsum8d(acc0 + acc1) + tail;

EMBER_INLINE void ember_sum_f32_impl(const float *p, int64_t n, double *out) {
  SUM_IMPL(0)
  *out = total;
}
EMBER_DISPATCH(, ember_sum_f32, (const float *p, int64_t n, double *out), (p, n, out))

EMBER_INLINE void ember_sumsq_f32_impl(const float *p, int64_t n, double *out) {
  SUM_IMPL(1)
  *out = total;
}
EMBER_DISPATCH(, ember_sumsq_f32, (const float *p, int64_t n, double *out), (p, n, out))

EMBER_INLINE void ember_sum_rows_f32_impl(const float *rows_p, int64_t rows, int64_t n, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = rows_p + r * n;
    SUM_IMPL(0)
    out[r] = (float)total;
  }
}
EMBER_DISPATCH(
    , ember_sum_rows_f32, (const float *p, int64_t rows, int64_t n, float *out), (p, rows, n, out))

// Column sums: 32 columns at a time in four double vectors, rows in order (the same additions as a
// double accumulator per column).
EMBER_INLINE void ember_sum_cols_f32_impl(
    const float *p, int64_t rows, int64_t cols, int64_t ld, float *out) {
  int64_t k = 0;
  for (; k + 32 <= cols; k += 32) {
    v8d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    const float *q = p + k;
    for (int64_t i = 0; i < rows; i++, q += ld) {
      v16f x = load16(q), y = load16(q + 16);
      a0 += widen(lo8(x));
      a1 += widen(hi8(x));
      a2 += widen(lo8(y));
      a3 += widen(hi8(y));
    }
    for (int j = 0; j < 8; j++) {
      out[k + j] = (float)a0[j];
      out[k + 8 + j] = (float)a1[j];
      out[k + 16 + j] = (float)a2[j];
      out[k + 24 + j] = (float)a3[j];
    }
  }
  for (; k < cols; k++) {
    double a = 0;
    for (int64_t i = 0; i < rows; i++) a += (double)p[i * ld + k];
    out[k] = (float)a;
  }
}
EMBER_DISPATCH(
    , ember_sum_cols_f32, (const float *p, int64_t rows, int64_t cols, int64_t ld, float *out),
    (p, rows, cols, ld, out))

// ------------------------------------------------------------------------------- max/min, index

// One vector pass for the extreme (and whether there is a NaN), then a scan for its first index.
EMBER_INLINE void ember_extreme_f32_impl(
    const float *p, int64_t n, int32_t is_max, float *value, int64_t *index) {
  v16f m = splat16(p[0]);
  v16i bad = {0};
  int64_t i = 0;
  if (is_max) {
    for (; i + 16 <= n; i += 16) {
      v16f v = load16(p + i);
      m = select16(v > m, v, m);
      bad |= v != v;
    }
  } else {
    for (; i + 16 <= n; i += 16) {
      v16f v = load16(p + i);
      m = select16(v < m, v, m);
      bad |= v != v;
    }
  }
  int nan = __builtin_reduce_or(bad) != 0 || p[0] != p[0];
  float best = m[0];
  for (int k = 1; k < 16; k++) {
    if (is_max ? m[k] > best : m[k] < best) best = m[k];
  }
  for (; i < n; i++) {
    float v = p[i];
    if (is_max ? v > best : v < best) best = v;
    nan |= v != v;
  }
  int64_t at = 0;
  if (nan) {
    while (p[at] == p[at]) at++;
  } else {
    int64_t j = 0;
    v16f b = splat16(best);
    while (j + 16 <= n && __builtin_reduce_or(load16(p + j) == b) == 0) j += 16;
    while (p[j] != best) j++;
    at = j;
  }
  *value = p[at];
  *index = at;
}
EMBER_DISPATCH(
    , ember_extreme_f32, (const float *p, int64_t n, int32_t is_max, float *value, int64_t *index),
    (p, n, is_max, value, index))

EMBER_INLINE void ember_extreme_rows_f32_impl(
    const float *p, int64_t rows, int64_t n, int32_t is_max, float *values, int64_t *indices) {
  for (int64_t r = 0; r < rows; r++)
    ember_extreme_f32_impl(p + r * n, n, is_max, values + r, indices + r);
}
EMBER_DISPATCH(
    , ember_extreme_rows_f32,
    (const float *p, int64_t rows, int64_t n, int32_t is_max, float *values, int64_t *indices),
    (p, rows, n, is_max, values, indices))

// ------------------------------------------------------------------------------------ variance

EMBER_INLINE void ember_var_rows_f32_impl(
    const float *rows_p, int64_t rows, int64_t n, double divisor, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = rows_p + r * n;
    v8d s0 = {0}, s1 = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      v16f x = load16(p + i);
      s0 += widen(lo8(x));
      s1 += widen(hi8(x));
    }
    double total = hsum8d(s0 + s1);
    for (; i < n; i++) total += (double)p[i];
    double mean = total / (double)n;
    v8d q0 = {0}, q1 = {0}, c0 = {0}, c1 = {0};
    for (i = 0; i + 16 <= n; i += 16) {
      v16f x = load16(p + i);
      v8d d0 = widen(lo8(x)) - mean, d1 = widen(hi8(x)) - mean;
      q0 += d0 * d0;
      q1 += d1 * d1;
      c0 += d0;
      c1 += d1;
    }
    double m2 = hsum8d(q0 + q1), c = hsum8d(c0 + c1);
    for (; i < n; i++) {
      double d = (double)p[i] - mean;
      m2 += d * d;
      c += d;
    }
    out[r] = (float)((m2 - c * c / (double)n) / divisor);
  }
}
EMBER_DISPATCH(
    , ember_var_rows_f32, (const float *p, int64_t rows, int64_t n, double divisor, float *out),
    (p, rows, n, divisor, out))

// ------------------------------------------------------------------------------------- softmax

EMBER_INLINE void ember_softmax_rows_f32_impl(
    const float *rows_p, float *rows_o, int64_t rows, int64_t n, int32_t log) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = rows_p + r * n;
    float *o = rows_o + r * n;
    if (n <= 0) continue;
    // the maximum, ignoring NaN (a NaN then poisons the sum, as in PyTorch)
    v16f m = splat16(-__builtin_inff());
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      v16f v = load16(p + i);
      m = select16(v > m, v, m);
    }
    float mx = m[0];
    for (int k = 1; k < 16; k++)
      if (m[k] > mx) mx = m[k];
    for (int64_t j = i; j < n; j++)
      if (p[j] > mx) mx = p[j];
    int64_t full = i;
    int64_t rest = n - full;
    v16i live = {0};
    v16f tail = splat16(mx);
    for (int64_t k = 0; k < rest; k++) {
      live[k] = -1;
      tail[k] = p[full + k];
    }
    v16f acc = {0};
    if (log) {
      for (i = 0; i < full; i += 16) acc += exp16(load16(p + i) - mx);
      if (rest) acc += (v16f)((v16i)exp16(tail - mx) & live);
      float ls = __builtin_logf(hsum16f(acc));
      for (i = 0; i < full; i += 16) store16(o + i, (load16(p + i) - mx) - ls);
      for (int64_t k = 0; k < rest; k++) o[full + k] = (p[full + k] - mx) - ls;
    } else {
      for (i = 0; i < full; i += 16) {
        v16f e = exp16(load16(p + i) - mx);
        store16(o + i, e);
        acc += e;
      }
      v16f et = {0};
      if (rest) {
        et = (v16f)((v16i)exp16(tail - mx) & live);
        acc += et;
      }
      float inv = 1.0f / hsum16f(acc);
      for (i = 0; i < full; i += 16) store16(o + i, load16(o + i) * inv);
      for (int64_t k = 0; k < rest; k++) o[full + k] = et[k] * inv;
    }
  }
}
EMBER_DISPATCH(
    , ember_softmax_rows_f32, (const float *p, float *o, int64_t rows, int64_t n, int32_t log),
    (p, o, rows, n, log))
