// Float32 relu, comparisons, `where`, and binary arithmetic over 2-d strided inputs (row
// broadcasts, transposed views), compiled for AVX-512, AVX2 and the baseline (dispatch.h). The
// results are exact (one IEEE operation per element, no contraction), so they equal the generic
// Swift loops they stand beside.

#include "CEmberStrided.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

typedef int32_t v8i __attribute__((vector_size(32)));
typedef int8_t v8c __attribute__((vector_size(8)));
typedef int8_t v8c_u __attribute__((vector_size(8), aligned(1), may_alias));

#define load8(p) (*(const v8f_u *)(p))
#define store8(p, v) (*(v8f_u *)(p) = (v))

EMBER_INLINE void ember_relu_f32_impl(const float *a, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 32; k += 8) {
      v8f x = load8(a + i + k);
      store8(out + i + k, (v8f)((v8i)x & ~(x <= 0.0f)));
    }
  }
  for (; i < n; i++) out[i] = a[i] <= 0 ? 0 : a[i];
}
EMBER_DISPATCH(, ember_relu_f32, (const float *a, float *out, int64_t n), (a, out, n))

EMBER_INLINE void ember_relu_backward_f32_impl(
    const float *g, const float *y, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 32; k += 8) {
      v8f gv = load8(g + i + k), yv = load8(y + i + k);
      store8(out + i + k, (v8f)((v8i)gv & (yv > 0.0f)));
    }
  }
  for (; i < n; i++) out[i] = y[i] > 0 ? g[i] : 0;
}
EMBER_DISPATCH(
    , ember_relu_backward_f32, (const float *g, const float *y, float *out, int64_t n),
    (g, y, out, n))

// A comparison of 8 lanes gives 0 / -1 ints; 0 / 1 bytes are their negation narrowed.
#define CMP_LOOP(OP, RHS, RHS_SCALAR)                                           \
  for (; i + 8 <= n; i += 8) {                                                  \
    v8f x = load8(a + i);                                                       \
    v8i m = x OP(RHS);                                                          \
    *(v8c_u *)(out + i) = __builtin_convertvector(-m, v8c);                     \
  }                                                                             \
  for (; i < n; i++) out[i] = a[i] OP(RHS_SCALAR);

#define CMP_SWITCH(RHS, RHS_SCALAR)                                             \
  int64_t i = 0;                                                                \
  switch (cmp) {                                                                \
    case EMBER_CMP_EQ: CMP_LOOP(==, RHS, RHS_SCALAR) break;                     \
    case EMBER_CMP_NE: CMP_LOOP(!=, RHS, RHS_SCALAR) break;                     \
    case EMBER_CMP_LT: CMP_LOOP(<, RHS, RHS_SCALAR) break;                      \
    case EMBER_CMP_LE: CMP_LOOP(<=, RHS, RHS_SCALAR) break;                     \
    case EMBER_CMP_GT: CMP_LOOP(>, RHS, RHS_SCALAR) break;                      \
    default: CMP_LOOP(>=, RHS, RHS_SCALAR) break;                               \
  }

EMBER_INLINE void ember_cmp_scalar_f32_impl(
    const float *a, float s, uint8_t *out, int64_t n, int32_t cmp) {
  v8f sv = (v8f){0} + s;
  CMP_SWITCH(sv, s)
}
EMBER_DISPATCH(
    , ember_cmp_scalar_f32, (const float *a, float s, uint8_t *out, int64_t n, int32_t cmp),
    (a, s, out, n, cmp))

EMBER_INLINE void ember_cmp_f32_impl(
    const float *a, const float *b, uint8_t *out, int64_t n, int32_t cmp) {
  CMP_SWITCH(load8(b + i), b[i])
}
EMBER_DISPATCH(
    , ember_cmp_f32, (const float *a, const float *b, uint8_t *out, int64_t n, int32_t cmp),
    (a, b, out, n, cmp))

EMBER_INLINE void ember_where_f32_impl(
    const uint8_t *c, const float *x, const float *y, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v8c cb = *(const v8c_u *)(c + i);
    v8i m = __builtin_convertvector(cb, v8i) != 0;
    v8f xv = load8(x + i), yv = load8(y + i);
    store8(out + i, (v8f)(((v8i)xv & m) | ((v8i)yv & ~m)));
  }
  for (; i < n; i++) out[i] = c[i] ? x[i] : y[i];
}
EMBER_DISPATCH(
    , ember_where_f32, (const uint8_t *c, const float *x, const float *y, float *out, int64_t n),
    (c, x, y, out, n))

// ------------------------------------------------------------------------- 2-d strided binary

#define APPLY(OP, X, Y) ((OP) == EMBER_OP_ADD   ? (X) + (Y) \
                         : (OP) == EMBER_OP_SUB ? (X) - (Y) \
                         : (OP) == EMBER_OP_MUL ? (X) * (Y) \
                                                : (X) / (Y))

/// Transposes the 8x8 tile whose rows are r[0..7] in place (three shuffle stages).
#define TRANSPOSE8(r)                                                                      \
  do {                                                                                     \
    v8f t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13);                \
    v8f t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);              \
    v8f t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13);                \
    v8f t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);              \
    v8f t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13);                \
    v8f t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15);              \
    v8f t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13);                \
    v8f t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);              \
    v8f u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);                    \
    v8f u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);                  \
    v8f u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);                    \
    v8f u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);                  \
    v8f u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);                    \
    v8f u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);                  \
    v8f u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);                    \
    v8f u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);                  \
    r[0] = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);                      \
    r[4] = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);                    \
    r[1] = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);                      \
    r[5] = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);                    \
    r[2] = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);                      \
    r[6] = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);                    \
    r[3] = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);                      \
    r[7] = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);                    \
  } while (0)

/// Rows ii < 8 of the 8x8 tile of an operand at (i, j) = (i0, j0) into t: contiguous rows load
/// directly, contiguous columns (a transposed view) load columns and transpose, others gather.
#define LOAD_TILE(t, p, s0, s1, i0, j0)                                         \
  do {                                                                          \
    if ((s1) == 1) {                                                            \
      for (int ii = 0; ii < 8; ii++) t[ii] = load8((p) + ((i0) + ii) * (s0) + (j0)); \
    } else if ((s0) == 1) {                                                     \
      for (int jj = 0; jj < 8; jj++) t[jj] = load8((p) + ((j0) + jj) * (s1) + (i0)); \
      TRANSPOSE8(t);                                                            \
    } else {                                                                    \
      for (int ii = 0; ii < 8; ii++)                                            \
        for (int jj = 0; jj < 8; jj++) t[ii][jj] = (p)[((i0) + ii) * (s0) + ((j0) + jj) * (s1)]; \
    }                                                                           \
  } while (0)

EMBER_INLINE void binary2d_op(
    int32_t op, const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0,
    int64_t sb1, float *out, int64_t rows, int64_t cols) {
  if ((sa1 == 1 || sa1 == 0) && (sb1 == 1 || sb1 == 0)) {
    // unit-stride or broadcast rows: one vector loop per row
    for (int64_t i = 0; i < rows; i++) {
      const float *x = a + i * sa0, *y = b + i * sb0;
      float *o = out + i * cols;
      v8f xs = (v8f){0} + x[0], ys = (v8f){0} + y[0];
      int64_t j = 0;
      for (; j + 8 <= cols; j += 8) {
        v8f xv = sa1 ? load8(x + j) : xs, yv = sb1 ? load8(y + j) : ys;
        store8(o + j, APPLY(op, xv, yv));
      }
      for (; j < cols; j++) o[j] = APPLY(op, x[j * sa1], y[j * sb1]);
    }
    return;
  }
  int64_t i0 = 0;
  for (; i0 + 8 <= rows; i0 += 8) {
    int64_t j0 = 0;
    for (; j0 + 8 <= cols; j0 += 8) {
      v8f ta[8], tb[8];
      LOAD_TILE(ta, a, sa0, sa1, i0, j0);
      LOAD_TILE(tb, b, sb0, sb1, i0, j0);
      for (int ii = 0; ii < 8; ii++) store8(out + (i0 + ii) * cols + j0, APPLY(op, ta[ii], tb[ii]));
    }
    for (int ii = 0; ii < 8; ii++)
      for (int64_t j = j0; j < cols; j++)
        out[(i0 + ii) * cols + j] = APPLY(op, a[(i0 + ii) * sa0 + j * sa1], b[(i0 + ii) * sb0 + j * sb1]);
  }
  for (int64_t i = i0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      out[i * cols + j] = APPLY(op, a[i * sa0 + j * sa1], b[i * sb0 + j * sb1]);
}

// one specialised copy per op, so the op select folds away
EMBER_INLINE void ember_binary2d_f32_impl(
    int32_t op, const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0,
    int64_t sb1, float *out, int64_t rows, int64_t cols) {
  switch (op) {
    case EMBER_OP_ADD: binary2d_op(EMBER_OP_ADD, a, sa0, sa1, b, sb0, sb1, out, rows, cols); break;
    case EMBER_OP_SUB: binary2d_op(EMBER_OP_SUB, a, sa0, sa1, b, sb0, sb1, out, rows, cols); break;
    case EMBER_OP_MUL: binary2d_op(EMBER_OP_MUL, a, sa0, sa1, b, sb0, sb1, out, rows, cols); break;
    default: binary2d_op(EMBER_OP_DIV, a, sa0, sa1, b, sb0, sb1, out, rows, cols); break;
  }
}
EMBER_DISPATCH(
    , ember_binary2d_f32,
    (int32_t op, const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0,
     int64_t sb1, float *out, int64_t rows, int64_t cols),
    (op, a, sa0, sa1, b, sb0, sb1, out, rows, cols))
