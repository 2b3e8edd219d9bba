#ifndef CEMBER_ELEMENTWISE_H
#define CEMBER_ELEMENTWISE_H

#include <stdint.h>

/// Contiguous float32 elementwise kernels (AVX-512 / AVX2 / SSE2 picked at run time). Each writes
/// `n` results to `out`; `out` may alias an input (in-place ops). The results are bit-identical
/// to the Swift loops they replace (no FMA contraction; same exp/sigmoid/tanh formulas as
/// `FastMath`).

/// out[i] = a[i] + b[i]
void ember_add_f32(const float *a, const float *b, float *out, int64_t n);
/// out[i] = a[i] - b[i]
void ember_sub_f32(const float *a, const float *b, float *out, int64_t n);
/// out[i] = a[i] * b[i]
void ember_mul_f32(const float *a, const float *b, float *out, int64_t n);
/// out[i] = a[i] / b[i]
void ember_div_f32(const float *a, const float *b, float *out, int64_t n);

/// out[i] = a[i] + s
void ember_add_scalar_f32(const float *a, float s, float *out, int64_t n);
/// out[i] = a[i] - s
void ember_sub_scalar_f32(const float *a, float s, float *out, int64_t n);
/// out[i] = s - a[i]
void ember_rsub_scalar_f32(const float *a, float s, float *out, int64_t n);
/// out[i] = a[i] * s
void ember_mul_scalar_f32(const float *a, float s, float *out, int64_t n);
/// out[i] = a[i] / s
void ember_div_scalar_f32(const float *a, float s, float *out, int64_t n);
/// out[i] = s / a[i]
void ember_rdiv_scalar_f32(const float *a, float s, float *out, int64_t n);

/// out[i] = e^a[i] (Cephes polynomial, about 1 ulp; subnormal results, inf and NaN handled)
void ember_exp_f32(const float *a, float *out, int64_t n);
/// out[i] = 1 / (1 + e^-a[i]), from e^-|a[i]| so nothing overflows
void ember_sigmoid_f32(const float *a, float *out, int64_t n);
/// out[i] = tanh(a[i]) (odd polynomial for |x| < 0.625, else 1 - 2 / (e^2|x| + 1))
void ember_tanh_f32(const float *a, float *out, int64_t n);

#endif
