// im2col, col2im and the bias-gradient reduction of the convolutions (float32 and float64),
// compiled for AVX-512, AVX2 and the baseline, one picked at run time (dispatch.h). The loops
// follow the Swift ones in Sources/Ember/Kernels/Convolution+Im2col.swift (which stay beside them
// as the plain path) with the same windows: im2col copies, col2im adds in the same order (so both
// give bit-identical results), and the bias gradient sums in double with more partial sums (the
// same result up to the rounding of the double sums).

#include "CEmberConv.h"
#include "dispatch.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

typedef double v8d __attribute__((vector_size(64)));
typedef double v8d_u __attribute__((vector_size(64), aligned(8), may_alias));

static inline int64_t conv_ceil_div(int64_t a, int64_t b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
static inline int64_t conv_floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t conv_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t conv_max(int64_t a, int64_t b) { return a > b ? a : b; }

/// The output positions low..<high (along one dim) whose tap i lands inside the input, and the
/// input offset of the tap at output position 0 (Swift's `ConvWindows`).
#define CONV_WINDOW(i, k_dilation, pad, stride, input, output, low, high, offset) \
  int64_t offset = (i) * (k_dilation) - (pad);                                     \
  int64_t low = conv_max(0, conv_ceil_div(-offset, (stride)));                     \
  int64_t high =                                                                   \
      conv_max(low, conv_min((output), conv_floor_div((input) - 1 - offset, (stride)) + 1));

/// The first position >= p whose tap is valid (row in rlo..<rhi, column in clo..<chi, both
/// nonempty), or -1.
static inline int64_t dense_first(
    int64_t p, int64_t out_w, int64_t rlo, int64_t rhi, int64_t clo, int64_t chi) {
  int64_t oh = p / out_w, ow = p - oh * out_w;
  if (oh < rlo) return rlo * out_w + clo;
  if (oh >= rhi) return -1;
  if (ow < clo) return oh * out_w + clo;
  if (ow < chi) return p;
  return oh + 1 < rhi ? (oh + 1) * out_w + clo : -1;
}

/// The last position < p whose tap is valid, or -2.
static inline int64_t dense_last(
    int64_t p, int64_t out_w, int64_t rlo, int64_t rhi, int64_t clo, int64_t chi) {
  if (p <= 0) return -2;
  int64_t oh = (p - 1) / out_w, ow = (p - 1) - oh * out_w;
  if (oh >= rhi) return (rhi - 1) * out_w + chi - 1;
  if (oh < rlo) return -2;
  if (ow >= chi) return oh * out_w + chi - 1;
  if (ow >= clo) return p - 1;
  return oh - 1 >= rlo ? (oh - 1) * out_w + chi - 1 : -2;
}

// The walk im2col and col2im share (Swift's `forEachTap`): for channel c and kernel tap (kh, kw),
// in that nesting, the body (the variadic arguments) runs inside the kw loop with `plane` (the
// channel's input plane, of type PLANE_T), `row` (the tap's row of `cols`, rows `row_stride`
// apart), the valid output rows rlo..<rhi and columns clo..<chi, the tap's offsets roff and
// coff, and the geometry's in_w, out_w, s_h, s_w and `dense` (stride 1, rows as wide as the
// input's); `continue` ends a tap.
#define CONV_TAPS(T, PLANE_T, X, ...)                                                          \
  const int64_t in_w = g->in_width, out_w = g->out_width;                                      \
  const int64_t s_h = g->stride_height, s_w = g->stride_width;                                 \
  const int64_t in_plane = g->in_height * in_w;                                                \
  const int dense = s_h == 1 && s_w == 1 && in_w == out_w;                                     \
  T *row = cols;                                                                               \
  for (int64_t c = 0; c < channels; c++) {                                                     \
    PLANE_T *restrict plane = (X) + c * in_plane;                                              \
    for (int64_t kh = 0; kh < g->kernel_height; kh++) {                                        \
      CONV_WINDOW(kh, g->dilation_height, g->pad_top, s_h, g->in_height, g->out_height, rlo,   \
                  rhi, roff)                                                                   \
      for (int64_t kw = 0; kw < g->kernel_width; kw++, row += row_stride) {                    \
        CONV_WINDOW(kw, g->dilation_width, g->pad_left, s_w, in_w, out_w, clo, chi, coff)      \
        __VA_ARGS__                                                                            \
      }                                                                                        \
    }                                                                                          \
  }

// Stride 1 and input rows as wide as output rows (a "same" convolution, the CNN's 3x3 with
// padding 1): position p of a tap's row reads input element p + shift wherever it is valid, so the
// valid run is one copy from the first valid position to the last, after which the columns outside
// clo..<chi of each output row (read from the neighbouring input row) are zeroed.
#define IM2COL_DENSE(T)                                                                        \
  {                                                                                            \
    int64_t q0 = p1, q1 = p1;                                                                  \
    if (rlo < rhi && clo < chi) {                                                              \
      q0 = dense_first(p0, out_w, rlo, rhi, clo, chi);                                         \
      q1 = dense_last(p1, out_w, rlo, rhi, clo, chi) + 1;                                      \
      if (q0 < 0 || q1 <= q0) q0 = q1 = p1;                                                    \
    }                                                                                          \
    const int64_t shift = roff * in_w + coff;                                                  \
    for (int64_t p = p0; p < q0; p++) dst[p - p0] = 0;                                         \
    if (q1 > q0) memcpy(dst + (q0 - p0), plane + (q0 + shift), (size_t)(q1 - q0) * sizeof(T)); \
    for (int64_t p = q1; p < p1; p++) dst[p - p0] = 0;                                         \
    if (q1 > q0 && chi - clo < out_w) {                                                        \
      /* column by column (a strided loop: a row at a time, the one or two zeros of a 3x3 */   \
      /* kernel became a memset call each) */                                                  \
      const int64_t oh0 = q0 / out_w, oh1 = (q1 - 1) / out_w;                                  \
      for (int64_t ow = clo > 0 ? 0 : chi; ow < out_w;                                         \
           ow = ow + 1 == clo ? chi : ow + 1) {                                                \
        for (int64_t oh = oh0; oh <= oh1; oh++) {                                              \
          const int64_t p = oh * out_w + ow;                                                   \
          if (p >= q0 && p < q1) dst[p - p0] = 0;                                              \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

#define IM2COL(T, SUFFIX)                                                                      \
  EMBER_INLINE void ember_im2col_##SUFFIX##_impl(                                              \
      const T *x, int64_t channels, const ember_conv_geometry *g, T *cols, int64_t p0,         \
      int64_t p1, int64_t row_stride) {                                                        \
    CONV_TAPS(T, const T, x,                                                                   \
          T *restrict dst = row;                                                               \
          if (dense) {                                                                         \
            IM2COL_DENSE(T)                                                                    \
            continue;                                                                          \
          }                                                                                    \
          for (int64_t p = p0; p < p1;) {                                                      \
            const int64_t oh = p / out_w;                                                      \
            const int64_t ow0 = p - oh * out_w;                                                \
            const int64_t ow1 = conv_min(out_w, ow0 + (p1 - p));                               \
            const int64_t seg = ow1 - ow0;                                                     \
            const int64_t lo = conv_min(conv_max(ow0, clo), ow1);                              \
            const int64_t hi = conv_max(conv_min(ow1, chi), lo);                               \
            if (oh < rlo || oh >= rhi || lo == hi) {                                           \
              for (int64_t j = 0; j < seg; j++) dst[j] = 0;                                    \
            } else {                                                                           \
              const T *restrict src = plane + (oh * s_h + roff) * in_w + coff;                 \
              int64_t ow = ow0;                                                                \
              for (; ow < lo; ow++) dst[ow - ow0] = 0;                                         \
              if (s_w == 1) {                                                                  \
                for (; ow < hi; ow++) dst[ow - ow0] = src[ow];                                 \
              } else {                                                                         \
                for (; ow < hi; ow++) dst[ow - ow0] = src[ow * s_w];                           \
              }                                                                                \
              for (; ow < ow1; ow++) dst[ow - ow0] = 0;                                        \
            }                                                                                  \
            dst += seg;                                                                        \
            p += seg;                                                                          \
          })                                                                                   \
  }                                                                                            \
  EMBER_DISPATCH(                                                                              \
      , ember_im2col_##SUFFIX,                                                                 \
      (const T *x, int64_t channels, const ember_conv_geometry *g, T *cols, int64_t p0,        \
       int64_t p1, int64_t row_stride),                                                        \
      (x, channels, g, cols, p0, p1, row_stride))

IM2COL(float, f32)
IM2COL(double, f64)

// col2im of a "same" stride-1 convolution (as IM2COL_DENSE): the valid run of a tap's row adds
// onto one contiguous run of the input, once the entries of the columns outside clo..<chi (which
// would land on the neighbouring input row) are set to -0.0, which adds nothing to any value
// (x + -0.0 == x, signed zeros and NaN included).
#define COL2IM_DENSE(T)                                                                        \
  {                                                                                            \
    const int64_t q0 = rlo * out_w + clo, q1 = (rhi - 1) * out_w + chi;                        \
    if (rlo < rhi) {                                                                           \
      T *restrict src = row;                                                                   \
      if (chi - clo < out_w) {                                                                 \
        for (int64_t ow = clo > 0 ? 0 : chi; ow < out_w;                                       \
             ow = ow + 1 == clo ? chi : ow + 1) {                                              \
          for (int64_t oh = rlo; oh < rhi; oh++) {                                             \
            const int64_t p = oh * out_w + ow;                                                 \
            if (p >= q0 && p < q1) src[p] = -0.0;                                              \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
      T *restrict dst = plane + (q0 + roff * in_w + coff);                                     \
      src += q0;                                                                               \
      for (int64_t i = 0; i < q1 - q0; i++) dst[i] += src[i];                                  \
    }                                                                                          \
  }

#define COL2IM(T, SUFFIX)                                                                      \
  EMBER_INLINE void ember_col2im_##SUFFIX##_impl(                                              \
      T *cols, int64_t channels, const ember_conv_geometry *g, T *x, int64_t row_stride) {    \
    CONV_TAPS(T, T, x,                                                                         \
          if (clo >= chi) continue;                                                            \
          if (dense) {                                                                         \
            COL2IM_DENSE(T)                                                                    \
            continue;                                                                          \
          }                                                                                    \
          for (int64_t oh = rlo; oh < rhi; oh++) {                                             \
            T *restrict dst = plane + (oh * s_h + roff) * in_w + coff;                         \
            const T *restrict src = row + oh * out_w;                                          \
            if (s_w == 1) {                                                                    \
              for (int64_t ow = clo; ow < chi; ow++) dst[ow] += src[ow];                       \
            } else {                                                                           \
              for (int64_t ow = clo; ow < chi; ow++) dst[ow * s_w] += src[ow];                 \
            }                                                                                  \
          })                                                                                   \
  }                                                                                            \
  EMBER_DISPATCH(                                                                              \
      , ember_col2im_##SUFFIX,                                                                 \
      (T *cols, int64_t channels, const ember_conv_geometry *g, T *x, int64_t row_stride),     \
      (cols, channels, g, x, row_stride))

COL2IM(float, f32)
COL2IM(double, f64)

#define widen8(v) __builtin_convertvector((v), v8d)
#define lo8f(v) __builtin_shufflevector((v), (v), 0, 1, 2, 3, 4, 5, 6, 7)
#define hi8f(v) __builtin_shufflevector((v), (v), 8, 9, 10, 11, 12, 13, 14, 15)
#define hsum8(V)                                                                              \
  ({                                                                                          \
    v8d hs_v = (V);                                                                           \
    ((hs_v[0] + hs_v[4]) + (hs_v[1] + hs_v[5])) + ((hs_v[2] + hs_v[6]) + (hs_v[3] + hs_v[7])); \
  })

// Each plane in 16 double lanes (two vectors, so the additions do not wait on one another).
// LOAD16(row, i, lo, hi) sets lo and hi to elements i..<i+8 and i+8..<i+16 of row as doubles.
#define BIAS_GRAD(T, SUFFIX, LOAD16)                                                          \
  EMBER_INLINE void ember_conv_bias_grad_##SUFFIX##_impl(                                     \
      const T *gy, int64_t batch, int64_t channels, int64_t plane, int64_t c0, int64_t c1,    \
      T *gb) {                                                                                \
    for (int64_t c = c0; c < c1; c++) {                                                       \
      double total = 0;                                                                       \
      for (int64_t n = 0; n < batch; n++) {                                                   \
        const T *row = gy + (n * channels + c) * plane;                                       \
        v8d a0 = {0}, a1 = {0};                                                               \
        int64_t i = 0;                                                                        \
        for (; i + 16 <= plane; i += 16) {                                                    \
          v8d lo, hi;                                                                         \
          LOAD16(row, i, lo, hi);                                                             \
          a0 += lo;                                                                           \
          a1 += hi;                                                                           \
        }                                                                                     \
        double tail = 0;                                                                      \
        for (; i < plane; i++) tail += (double)row[i];                                        \
        total += hsum8(a0 + a1) + tail;                                                       \
      }                                                                                       \
      gb[c] = (T)total;                                                                       \
    }                                                                                         \
  }                                                                                           \
  EMBER_DISPATCH(                                                                             \
      , ember_conv_bias_grad_##SUFFIX,                                                        \
      (const T *gy, int64_t batch, int64_t channels, int64_t plane, int64_t c0, int64_t c1,   \
       T *gb),                                                                                \
      (gy, batch, channels, plane, c0, c1, gb))

#define LOAD16_F32(row, i, lo, hi)   \
  do {                               \
    v16f v = load16((row) + (i));    \
    lo = widen8(lo8f(v));            \
    hi = widen8(hi8f(v));            \
  } while (0)
#define LOAD16_F64(row, i, lo, hi)             \
  do {                                         \
    lo = *(const v8d_u *)((row) + (i));        \
    hi = *(const v8d_u *)((row) + (i) + 8);    \
  } while (0)

BIAS_GRAD(float, f32, LOAD16_F32)
BIAS_GRAD(double, f64, LOAD16_F64)
