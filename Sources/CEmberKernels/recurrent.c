// The fused LSTM cell, forward and backward, float32 (Sources/Ember/Kernels/Recurrent.swift calls
// it once per time step). Compiled for AVX-512, AVX2 and the baseline, one picked at run time
// (dispatch.h), with 16-lane vector extensions so debug builds stay vectorised. No FMA
// contraction in the cell's products and sums; sigmoid/tanh are vecmath.h's `FastMath` formulas
// (with FMAs in their polynomials, as the elementwise kernels of large tensors), so the forward
// agrees with the composed tensor ops (sigmoid, tanh, mul, add) it replaces to a few ulp.

#include "CEmberRecurrent.h"
#include "dispatch.h"

#pragma STDC FP_CONTRACT OFF

#include "vecmath.h"

// Loads `n` (< 16) floats into a zero-padded vector and stores them back.
#define loadn(p, n)                                        \
  ({                                                       \
    v16f ln_v = {0};                                       \
    for (int64_t ln_k = 0; ln_k < (n); ln_k++) ln_v[ln_k] = (p)[ln_k]; \
    ln_v;                                                  \
  })
#define storen(p, v, n)                                                   \
  do {                                                                    \
    v16f sn_v = (v);                                                      \
    for (int64_t sn_k = 0; sn_k < (n); sn_k++) (p)[sn_k] = sn_v[sn_k];    \
  } while (0)

// One vector of the forward cell; LOAD(p) and STORE(p, v) read and write 16 (or fewer) lanes.
#define CELL_FWD(LOAD, STORE)                                   \
  do {                                                          \
    v16f vi = sigmoid16(LOAD(gi + j));                          \
    v16f vf = sigmoid16(LOAD(gf + j));                          \
    v16f vg = tanh16(LOAD(gg + j));                             \
    v16f vo = sigmoid16(LOAD(go + j));                          \
    STORE(gi + j, vi);                                          \
    STORE(gf + j, vf);                                          \
    STORE(gg + j, vg);                                          \
    STORE(go + j, vo);                                          \
    v16f fc = vf * LOAD(cp + j);                                \
    v16f ig = vi * vg;                                          \
    v16f cy = fc + ig;                                          \
    STORE(cb + j, cy);                                          \
    STORE(hb + j, vo * tanh16(cy));                             \
  } while (0)

EMBER_INLINE void ember_lstm_cell_f32_impl(float *gates, const float *c_prev, float *c, float *h,
                                           int64_t batch, int64_t hidden, int64_t j0,
                                           int64_t j1) {
  for (int64_t b = 0; b < batch; b++) {
    float *gi = gates + b * 4 * hidden, *gf = gi + hidden, *gg = gf + hidden, *go = gg + hidden;
    const float *cp = c_prev + b * hidden;
    float *cb = c + b * hidden, *hb = h + b * hidden;
    int64_t j = j0;
    for (; j + 16 <= j1; j += 16) CELL_FWD(load16, store16);
    if (j < j1) {
      int64_t n = j1 - j;
#define LOADT(p) loadn(p, n)
#define STORET(p, v) storen(p, v, n)
      CELL_FWD(LOADT, STORET);
#undef LOADT
#undef STORET
    }
  }
}

EMBER_DISPATCH(, ember_lstm_cell_f32,
               (float *gates, const float *c_prev, float *c, float *h, int64_t batch,
                int64_t hidden, int64_t j0, int64_t j1),
               (gates, c_prev, c, h, batch, hidden, j0, j1))

// One vector of the backward cell.
#define CELL_BWD(LOAD, STORE)                                        \
  do {                                                               \
    v16f vi = LOAD(gi + j), vf = LOAD(gf + j);                       \
    v16f vg = LOAD(gg + j), vo = LOAD(go + j);                       \
    v16f vdh = LOAD(dhb + j);                                        \
    if (dob) vdh = vdh + LOAD(dob + j);                              \
    v16f tc = tanh16(LOAD(cb + j));                                  \
    v16f dct = LOAD(dcb + j) + (vdh * vo) * (1.0f - tc * tc);        \
    v16f dov = vdh * tc;                                             \
    STORE(dgi + j, (dct * vg) * (vi * (1.0f - vi)));                 \
    STORE(dgf + j, (dct * LOAD(cp + j)) * (vf * (1.0f - vf)));       \
    STORE(dgg + j, (dct * vi) * (1.0f - vg * vg));                   \
    STORE(dgo + j, dov * (vo * (1.0f - vo)));                        \
    STORE(dcb + j, dct * vf);                                        \
  } while (0)

EMBER_INLINE void ember_lstm_cell_backward_f32_impl(const float *gates, const float *c_prev,
                                                    const float *c, const float *dh,
                                                    const float *dout, float *dc, float *dgates,
                                                    int64_t batch, int64_t hidden, int64_t j0,
                                                    int64_t j1) {
  for (int64_t b = 0; b < batch; b++) {
    const float *gi = gates + b * 4 * hidden, *gf = gi + hidden, *gg = gf + hidden,
                *go = gg + hidden;
    float *dgi = dgates + b * 4 * hidden, *dgf = dgi + hidden, *dgg = dgf + hidden,
          *dgo = dgg + hidden;
    const float *cp = c_prev + b * hidden, *cb = c + b * hidden, *dhb = dh + b * hidden;
    const float *dob = dout ? dout + b * hidden : 0;
    float *dcb = dc + b * hidden;
    int64_t j = j0;
    for (; j + 16 <= j1; j += 16) CELL_BWD(load16, store16);
    if (j < j1) {
      int64_t n = j1 - j;
#define LOADT(p) loadn(p, n)
#define STORET(p, v) storen(p, v, n)
      CELL_BWD(LOADT, STORET);
#undef LOADT
#undef STORET
    }
  }
}

EMBER_DISPATCH(, ember_lstm_cell_backward_f32,
               (const float *gates, const float *c_prev, const float *c, const float *dh,
                const float *dout, float *dc, float *dgates, int64_t batch, int64_t hidden,
                int64_t j0, int64_t j1),
               (gates, c_prev, c, dh, dout, dc, dgates, batch, hidden, j0, j1))

// The recurrent products of the steps (h W_hh^T forward, dgates W_hh backward): small M (the
// batch), B (W_hh in the needed orientation) row-major and the same for every step. The native
// GEMM packs both operands on every call; here B is read in place, 32 columns (two vectors) by 8
// rows of A at a time. The sums run as ember_sgemm's: K blocks of 192, each a chain of FMAs from
// zero, then added to C (so the results are its bits).
#if EMBER_DISPATCH_X86
#include <immintrin.h>

#define RG_ROWS 8
#define RG_KC 192

__attribute__((target("avx512f,avx2,fma"))) static void ember_recurrent_gemm_avx512(
    int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
    float *C, int64_t ldc, int accumulate) {
  for (int64_t j = 0; j + 32 <= N; j += 32) {
    for (int64_t i = 0; i < M; i += RG_ROWS) {
      const int64_t mr = M - i < RG_ROWS ? M - i : RG_ROWS;
      for (int64_t pc = 0; pc < K; pc += RG_KC) {
        const int64_t kc = K - pc < RG_KC ? K - pc : RG_KC;
        __m512 acc[RG_ROWS][2];
        for (int r = 0; r < RG_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        const float *a = A + i * lda + pc;
        const float *b = B + pc * ldb + j;
        if (mr == RG_ROWS) {
          for (int64_t p = 0; p < kc; p++) {
            __m512 b0 = _mm512_loadu_ps(b + p * ldb), b1 = _mm512_loadu_ps(b + p * ldb + 16);
            for (int r = 0; r < RG_ROWS; r++) {
              __m512 ar = _mm512_set1_ps(a[r * lda + p]);
              acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
              acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
            }
          }
        } else {
          for (int64_t p = 0; p < kc; p++) {
            __m512 b0 = _mm512_loadu_ps(b + p * ldb), b1 = _mm512_loadu_ps(b + p * ldb + 16);
            for (int r = 0; r < mr; r++) {
              __m512 ar = _mm512_set1_ps(a[r * lda + p]);
              acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
              acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
            }
          }
        }
        for (int r = 0; r < mr; r++) {
          float *c = C + (i + r) * ldc + j;
          if (pc == 0 && !accumulate) {
            _mm512_storeu_ps(c, acc[r][0]);
            _mm512_storeu_ps(c + 16, acc[r][1]);
          } else {
            _mm512_storeu_ps(c, _mm512_add_ps(_mm512_loadu_ps(c), acc[r][0]));
            _mm512_storeu_ps(c + 16, _mm512_add_ps(_mm512_loadu_ps(c + 16), acc[r][1]));
          }
        }
      }
    }
  }
}
#endif

int ember_recurrent_gemm_available(void) {
#if EMBER_DISPATCH_X86
  return ember_cpu_level() == EMBER_CPU_AVX512;
#else
  return 0;
#endif
}

int ember_recurrent_gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                             const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate) {
#if EMBER_DISPATCH_X86
  if (N % 32 != 0 || K <= 0 || ember_cpu_level() != EMBER_CPU_AVX512) return 0;
  ember_recurrent_gemm_avx512(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  return 1;
#else
  (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc;
  (void)accumulate;
  return 0;
#endif
}
