#ifndef CEMBER_REDUCE_H
#define CEMBER_REDUCE_H

#include <stdint.h>

/// Contiguous float32 reductions and row-wise softmax (AVX-512 / AVX2 / SSE2 picked at run time,
/// Sources/CEmberKernels/reduce.c). Each works on the range it is given; callers split large
/// inputs across threads.

/// *out = the sum of `n` floats: 16-lane float partials of four vectors (64 elements), added into
/// double lanes (as accurate as a double accumulator for long runs).
void ember_sum_f32(const float *p, int64_t n, double *out);
/// *out = the sum of squares of `n` floats, accumulated as `ember_sum_f32`.
void ember_sumsq_f32(const float *p, int64_t n, double *out);
/// out[r] = (float) the sum of row r (`rows` rows of `n` contiguous floats, as `ember_sum_f32`).
void ember_sum_rows_f32(const float *p, int64_t rows, int64_t n, float *out);
/// out[k] = (float) sum over i < rows of p[i * ld + k] for k < cols, accumulated in double in row
/// order.
void ember_sum_cols_f32(const float *p, int64_t rows, int64_t cols, int64_t ld, float *out);

/// The largest (`is_max`) or smallest of `n >= 1` floats and the index of its first occurrence;
/// NaN wins over numbers (the first NaN is reported), as in PyTorch.
void ember_extreme_f32(const float *p, int64_t n, int32_t is_max, float *value, int64_t *index);
/// `ember_extreme_f32` for each of `rows` contiguous rows of `n >= 1` floats.
void ember_extreme_rows_f32(
    const float *p, int64_t rows, int64_t n, int32_t is_max, float *values, int64_t *indices);

/// out[r] = the variance of row r (`rows` rows of `n` floats) with the given divisor (n - correction):
/// two passes in double, the mean first, then sum (x - mean)^2 minus the rounding correction
/// (sum (x - mean))^2 / n.
void ember_var_rows_f32(const float *p, int64_t rows, int64_t n, double divisor, float *out);

/// Softmax (or log-softmax when `log` is nonzero) of each of `rows` contiguous rows of `n` floats:
/// a max pass ignoring NaN, one exp pass (stored and summed for softmax, summed for log-softmax)
/// and one normalising pass. `o` may not alias `p`.
void ember_softmax_rows_f32(const float *p, float *o, int64_t rows, int64_t n, int32_t log);

#endif
