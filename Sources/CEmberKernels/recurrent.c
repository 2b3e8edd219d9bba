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
