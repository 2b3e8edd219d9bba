#ifndef CEMBER_VECMATH_H
#define CEMBER_VECMATH_H

// Vector types and the FastMath formulas (Sources/Ember/Kernels/FastMath.swift) as GNU vector
// extensions, shared by the C kernels, with explicit FMAs in the polynomials (fma16). Include
// after dispatch.h, with FP_CONTRACT off.

#include <stdint.h>

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

/// a * b + c rounded once. The exp/sigmoid/tanh polynomials use it: a third fewer vector
/// instructions than separate multiplies and adds (1 thread, 500k floats, clang -O2 on this
/// Zen 5: exp 0.376 -> 0.252 ns per element, sigmoid 0.524 -> 0.398, tanh 0.681 -> 0.498), with
/// the same worst error against float64 (exp 1 ulp, sigmoid 3, tanh 1 over 2^24 points) and a
/// mean error as low or lower. The AVX-512 and AVX2 variants get vfmadd; the baseline x86-64
/// variant (CPUs without FMA, before 2013) calls libm's fmaf, slow but with the same results, and
/// arm64 has it natively. The Swift `FastMath` formulas round twice, so a small or strided tensor
/// (the Swift path) can differ from a large contiguous one in the last bit.
#define fma16(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define splat16(c) ((v16f){0} + (c))

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
    v16f t = fma16(xc, splat16(1.4426950408889634f), splat16(12582912.0f));     \
    v16f n = t - 12582912.0f;                                                      \
    v16f r = fma16(n, splat16(2.1219444e-4f), fma16(n, splat16(-0.693359375f), xc)); \
    v16f p = fma16(splat16(1.98756915e-4f), r, splat16(1.3981999507e-3f));        \
    p = fma16(p, r, splat16(8.3334519073e-3f));                                    \
    p = fma16(p, r, splat16(4.1665795894e-2f));                                    \
    p = fma16(p, r, splat16(1.6666665459e-1f));                                    \
    p = fma16(p, r, splat16(5.0000001201e-1f));                                    \
    p = fma16(p, r * r, r) + 1.0f;                                                 \
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
    v16f th_p = fma16(splat16(-5.70498872745e-3f), th_z, splat16(2.06390887954e-2f)); \
    th_p = fma16(th_p, th_z, splat16(-5.37397155531e-2f));                          \
    th_p = fma16(th_p, th_z, splat16(1.33314422036e-1f));                           \
    th_p = fma16(th_p, th_z, splat16(-3.33332819422e-1f));                          \
    v16f th_small = th_x * fma16(th_z, th_p, splat16(1.0f)); /* keeps -0.0's sign */ \
    v16f th_large = 1.0f - 2.0f / (exp16(2.0f * th_ax) + 1.0f);                    \
    select16(th_ax < 0.625f, th_small, select16(th_x < 0.0f, -th_large, th_large)); \
  })

#endif
