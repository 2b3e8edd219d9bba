#ifndef CEMBER_STRIDED_H
#define CEMBER_STRIDED_H

#include <stdint.h>

/// Float32 elementwise kernels beyond plain contiguous arithmetic: relu, comparisons, `where`
/// and binary ops over 2-d strided (broadcast or transposed) inputs (AVX-512 / AVX2 / SSE2 picked
/// at run time, Sources/CEmberKernels/strided.c). Bool results are bytes 0 or 1.

/// Comparison codes for `ember_cmp_*`.
enum { EMBER_CMP_EQ = 0, EMBER_CMP_NE = 1, EMBER_CMP_LT = 2, EMBER_CMP_LE = 3, EMBER_CMP_GT = 4,
       EMBER_CMP_GE = 5 };
/// Arithmetic codes for `ember_binary2d_f32`.
enum { EMBER_OP_ADD = 0, EMBER_OP_SUB = 1, EMBER_OP_MUL = 2, EMBER_OP_DIV = 3 };

/// out[i] = a[i] <= 0 ? 0 : a[i] (NaN stays NaN)
void ember_relu_f32(const float *a, float *out, int64_t n);
/// out[i] = y[i] > 0 ? g[i] : 0 (the gradient of relu from its result y; NaN y gives 0)
void ember_relu_backward_f32(const float *g, const float *y, float *out, int64_t n);
/// out[i] = a[i] CMP s
void ember_cmp_scalar_f32(const float *a, float s, uint8_t *out, int64_t n, int32_t cmp);
/// out[i] = a[i] CMP b[i]
void ember_cmp_f32(const float *a, const float *b, uint8_t *out, int64_t n, int32_t cmp);
/// out[i] = c[i] ? x[i] : y[i]
void ember_where_f32(const uint8_t *c, const float *x, const float *y, float *out, int64_t n);
/// out[i * cols + j] = a[i * sa0 + j * sa1] OP b[i * sb0 + j * sb1] for i < rows, j < cols: rows
/// of unit-stride inputs run as vectors, inputs whose rows are strided but whose columns are
/// contiguous (transposed) are read in 8x8 tiles transposed in registers.
void ember_binary2d_f32(
    int32_t op, const float *a, int64_t sa0, int64_t sa1, const float *b, int64_t sb0,
    int64_t sb1, float *out, int64_t rows, int64_t cols);

#endif
