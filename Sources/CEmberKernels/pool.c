// 2x2 stride-2 max pooling with argmax indices and the max-pooling gradient (float32 and
// float64), compiled for AVX-512, AVX2 and the baseline, one picked at run time (dispatch.h).
// The Swift loops they replace (Sources/Ember/Kernels/Pooling.swift) stay beside them as the
// plain path; the results are identical (comparisons and copies, and the gradient's additions
// onto zero in the same order).

#include "CEmberPool.h"
#include "dispatch.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

typedef double v8d __attribute__((vector_size(64)));
typedef double v8d_u __attribute__((vector_size(64), aligned(8), may_alias));
typedef int64_t v8l __attribute__((vector_size(64)));
typedef int64_t v8l_u __attribute__((vector_size(64), aligned(8), may_alias));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int64_t v16l __attribute__((vector_size(128)));
typedef int64_t v16l_u __attribute__((vector_size(128), aligned(8), may_alias));

// One window in the general loop's order: it starts from -inf at the first tap's index, so after
// the first tap it always holds that tap's value and index.
#define POOL_SCALAR(T)                                                                  \
  {                                                                                     \
    const int64_t c = 2 * ow;                                                           \
    T best = r0[c];                                                                     \
    int64_t index = top + c;                                                            \
    T v = r0[c + 1];                                                                    \
    if (v > best || v != v) best = v, index = top + c + 1;                              \
    v = r1[c];                                                                          \
    if (v > best || v != v) best = v, index = top + in_w + c;                           \
    v = r1[c + 1];                                                                      \
    if (v > best || v != v) best = v, index = top + in_w + c + 1;                       \
    yr[ow] = best;                                                                      \
    ir[ow] = index;                                                                     \
  }

// 16 output columns at a time: the even and odd columns of two rows, the three later taps taken
// lane by lane where `v > best || v != v`. Planes narrower than 16 outputs (the CNN's 14 and 7)
// take a row as one partial vector: the loads read on past the row while that stays inside the
// planes given (else they go through a copy), and the stores write all lanes while that stays
// inside the outputs given (else only the row's): the junk lanes land on outputs that later rows
// overwrite, as rows go in order.
EMBER_INLINE void ember_maxpool2x2_f32_impl(
    const float *x, float *y, int64_t *indices, int64_t planes, int64_t in_h, int64_t in_w,
    int64_t out_h, int64_t out_w) {
  const int64_t in_plane = in_h * in_w, out_plane = out_h * out_w;
  const float *end = x + planes * in_plane;
  const float *y_end = y + planes * out_plane;
  const int narrow = in_plane < INT32_MAX - 64;
  const v16i lanes = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  for (int64_t plane = 0; plane < planes; plane++) {
    const float *xp = x + plane * in_plane;
    float *yp = y + plane * out_plane;
    int64_t *ip = indices + plane * out_plane;
    for (int64_t oh = 0; oh < out_h; oh++) {
      const int64_t top = 2 * oh * in_w;
      const float *r0 = xp + top, *r1 = xp + top + in_w;
      float *yr = yp + oh * out_w;
      int64_t *ir = ip + oh * out_w;
      int64_t ow = 0;
      while (narrow && ow < out_w) {
        const int64_t n = out_w - ow < 16 ? out_w - ow : 16;
        const int64_t c = 2 * ow;
        v16f a0, a1, b0, b1;
        if (r1 + c + 32 <= end) {
          a0 = load16(r0 + c), a1 = load16(r0 + c + 16);
          b0 = load16(r1 + c), b1 = load16(r1 + c + 16);
        } else {
          float t0[32] = {0}, t1[32] = {0};
          memcpy(t0, r0 + c, (size_t)(2 * n) * sizeof(float));
          memcpy(t1, r1 + c, (size_t)(2 * n) * sizeof(float));
          a0 = load16(t0), a1 = load16(t0 + 16), b0 = load16(t1), b1 = load16(t1 + 16);
        }
#define EVEN16(a, b) \
  __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODD16(a, b) \
  __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
        const v16i first = lanes + (int32_t)(top + c);
        v16f best = EVEN16(a0, a1);
        v16i index = first;
#define TAP16(V, OFFSET)                                        \
  {                                                             \
    v16f tv = (V);                                              \
    v16i take = (tv > best) | (tv != tv);                       \
    best = select16(take, tv, best);                            \
    index = (take & (first + (int32_t)(OFFSET))) | (~take & index); \
  }
        TAP16(ODD16(a0, a1), 1)
        TAP16(EVEN16(b0, b1), in_w)
        TAP16(ODD16(b0, b1), in_w + 1)
        v16l wide = __builtin_convertvector(index, v16l);
        if (n == 16 || yr + ow + 16 <= y_end) {
          store16(yr + ow, best);
          *(v16l_u *)(ir + ow) = wide;
        } else {
          for (int64_t k = 0; k < n; k++) yr[ow + k] = best[k], ir[ow + k] = wide[k];
        }
        ow += n;
      }
      for (; ow < out_w; ow++) POOL_SCALAR(float)
    }
  }
}
EMBER_DISPATCH(
    , ember_maxpool2x2_f32,
    (const float *x, float *y, int64_t *indices, int64_t planes, int64_t in_h, int64_t in_w,
     int64_t out_h, int64_t out_w),
    (x, y, indices, planes, in_h, in_w, out_h, out_w))

// float64: 8 output columns at a time, the same way.
EMBER_INLINE void ember_maxpool2x2_f64_impl(
    const double *x, double *y, int64_t *indices, int64_t planes, int64_t in_h, int64_t in_w,
    int64_t out_h, int64_t out_w) {
  const int64_t in_plane = in_h * in_w, out_plane = out_h * out_w;
  const double *end = x + planes * in_plane;
  const double *y_end = y + planes * out_plane;
  const v8l lanes = {0, 2, 4, 6, 8, 10, 12, 14};
  for (int64_t plane = 0; plane < planes; plane++) {
    const double *xp = x + plane * in_plane;
    double *yp = y + plane * out_plane;
    int64_t *ip = indices + plane * out_plane;
    for (int64_t oh = 0; oh < out_h; oh++) {
      const int64_t top = 2 * oh * in_w;
      const double *r0 = xp + top, *r1 = xp + top + in_w;
      double *yr = yp + oh * out_w;
      int64_t *ir = ip + oh * out_w;
      int64_t ow = 0;
      while (ow < out_w) {
        const int64_t n = out_w - ow < 8 ? out_w - ow : 8;
        const int64_t c = 2 * ow;
        v8d a0, a1, b0, b1;
        if (r1 + c + 16 <= end) {
          a0 = *(const v8d_u *)(r0 + c), a1 = *(const v8d_u *)(r0 + c + 8);
          b0 = *(const v8d_u *)(r1 + c), b1 = *(const v8d_u *)(r1 + c + 8);
        } else {
          double t0[16] = {0}, t1[16] = {0};
          memcpy(t0, r0 + c, (size_t)(2 * n) * sizeof(double));
          memcpy(t1, r1 + c, (size_t)(2 * n) * sizeof(double));
          a0 = *(const v8d_u *)t0, a1 = *(const v8d_u *)(t0 + 8);
          b0 = *(const v8d_u *)t1, b1 = *(const v8d_u *)(t1 + 8);
        }
#define EVEN8(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD8(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
        const v8l first = lanes + (top + c);
        v8d best = EVEN8(a0, a1);
        v8l index = first;
#define TAP8(V, OFFSET)                                              \
  {                                                                  \
    v8d tv = (V);                                                    \
    v8l take = (tv > best) | (tv != tv);                             \
    best = (v8d)((take & (v8l)tv) | (~take & (v8l)best));            \
    index = (take & (first + (int64_t)(OFFSET))) | (~take & index);  \
  }
        TAP8(ODD8(a0, a1), 1)
        TAP8(EVEN8(b0, b1), in_w)
        TAP8(ODD8(b0, b1), in_w + 1)
        if (n == 8 || yr + ow + 8 <= y_end) {
          *(v8d_u *)(yr + ow) = best;
          *(v8l_u *)(ir + ow) = index;
        } else {
          for (int64_t k = 0; k < n; k++) yr[ow + k] = best[k], ir[ow + k] = index[k];
        }
        ow += n;
      }
    }
  }
}
EMBER_DISPATCH(
    , ember_maxpool2x2_f64,
    (const double *x, double *y, int64_t *indices, int64_t planes, int64_t in_h, int64_t in_w,
     int64_t out_h, int64_t out_w),
    (x, y, indices, planes, in_h, in_w, out_h, out_w))

#define MAXPOOL_BACKWARD(T, SUFFIX)                                                        \
  EMBER_INLINE void ember_maxpool_backward_##SUFFIX##_impl(                                \
      const T *gy, const int64_t *indices, T *gx, int64_t planes, int64_t in_plane,        \
      int64_t out_plane) {                                                                 \
    for (int64_t plane = 0; plane < planes; plane++) {                                     \
      T *dst = gx + plane * in_plane;                                                      \
      memset(dst, 0, (size_t)in_plane * sizeof(T));                                        \
      const T *src = gy + plane * out_plane;                                               \
      const int64_t *idx = indices + plane * out_plane;                                    \
      for (int64_t o = 0; o < out_plane; o++) {                                            \
        const int64_t i = idx[o];                                                          \
        if ((uint64_t)i < (uint64_t)in_plane) dst[i] += src[o];                            \
      }                                                                                    \
    }                                                                                      \
  }                                                                                        \
  EMBER_DISPATCH(                                                                          \
      , ember_maxpool_backward_##SUFFIX,                                                   \
      (const T *gy, const int64_t *indices, T *gx, int64_t planes, int64_t in_plane,       \
       int64_t out_plane),                                                                 \
      (gy, indices, gx, planes, in_plane, out_plane))

MAXPOOL_BACKWARD(float, f32)
MAXPOOL_BACKWARD(double, f64)
