// Native single- and double-precision GEMM for Ember.
//
// Layout: BLIS-style blocking, mirrored for row-major C. The register tile is MR rows x NR
// columns, NR being NV vectors along a row of C. A is packed into MR-row panels (a block of
// MC x KC, kept in L2/L3), B into NR-column panels (a block of KC x NC, kept in L2). For each
// MR-row panel of A (which then stays in L1) the microkernel walks all NR-column panels of the
// B block.
//
// The register tile must differ per instruction set (32 zmm, 16 ymm or 16 xmm registers), so the
// GEMM kernels are instantiated once per family with `target` attributes and one is picked at run
// time with __builtin_cpu_supports. AVX-512 float32 has two tiles (12 x 32 and 8 x 48, picked per
// product by ember_gemm_pick_tile) and an unpacked path for narrow products whose B is row-major
// (s512_unpacked); all three sum in the same order, so they give the same bits. The matrix-vector path (M == 1 or N == 1), whose body is the
// same for every family, is compiled per family and dispatched as in dispatch.h.
//
// Written with GCC/Clang vector extensions so the code vectorizes explicitly even at -O0 (SwiftPM
// debug builds).

#include "CEmberGemm.h"
#include "dispatch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#define EMBER_X86 1
#else
#define EMBER_X86 0
#endif

#if defined(__clang__)
#define EMBER_UNROLL _Pragma("clang loop unroll(full)")
#else
#define EMBER_UNROLL _Pragma("GCC unroll 32")
#endif

#define EMBER_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EMBER_ROUND_UP(x, m) (((x) + (m) - 1) / (m) * (m))

// MARK: - per-thread scratch

// Packing buffers are kept per thread and reused across calls (large allocations would otherwise
// be fresh mmaps with page faults on every call); freed when the thread exits.
static pthread_key_t ember_scratch_key;
static pthread_once_t ember_scratch_once = PTHREAD_ONCE_INIT;

static void ember_scratch_free(void *p) { free(p); }
static void ember_scratch_init(void) { pthread_key_create(&ember_scratch_key, ember_scratch_free); }

// A 64-byte aligned buffer of at least `bytes` bytes owned by the calling thread. The first 64
// bytes of the allocation hold its capacity.
static void *ember_scratch(size_t bytes) {
  pthread_once(&ember_scratch_once, ember_scratch_init);
  size_t *block = (size_t *)pthread_getspecific(ember_scratch_key);
  if (block == NULL || block[0] < bytes) {
    free(block);
    size_t cap = EMBER_ROUND_UP(bytes + bytes / 4 + 64, (size_t)4096);
    void *p = NULL;
    if (posix_memalign(&p, 64, cap + 64) != 0 || p == NULL) abort();
    block = (size_t *)p;
    block[0] = cap;
    pthread_setspecific(ember_scratch_key, block);
  }
  return (char *)block + 64;
}

// MARK: - GEMM kernels, one instantiation per (type, instruction set)

// NAME: prefix; T: element type; VL: lanes per vector; MR x (NV * VL): register tile;
// KC, MC, NC: cache blocks; ATTR: target attribute of the family.
#define EMBER_DEFINE_GEMM(NAME, T, VL, MR, NV, KC, MC, NC, ATTR)                                  \
  typedef T NAME##_vec __attribute__((vector_size((VL) * sizeof(T))));                           \
  typedef T NAME##_uvec __attribute__((vector_size((VL) * sizeof(T)), aligned(sizeof(T))));     \
                                                                                                 \
  /* c[0..<mr, 0..<nr] (+)= alpha * a_panel * b_panel over kc steps. `first` means this is the  \
     first K block: C = alpha * AB + beta * C (C unread when beta == 0); later blocks add. */    \
  ATTR static void NAME##_micro(int64_t kc, const T *restrict a, const T *restrict b,            \
                                T *restrict c, int64_t rsc, int64_t csc, int64_t mr, int64_t nr, \
                                T alpha, T beta, int first) {                                    \
    NAME##_vec acc[MR][NV];                                                                      \
    EMBER_UNROLL for (int r = 0; r < (MR); r++) {                                                \
      EMBER_UNROLL for (int v = 0; v < (NV); v++) acc[r][v] = (NAME##_vec){0};                   \
    }                                                                                            \
    for (int64_t p = 0; p < kc; p++) {                                                           \
      NAME##_vec bv[NV];                                                                         \
      EMBER_UNROLL for (int v = 0; v < (NV); v++) bv[v] = ((const NAME##_vec *)b)[v];            \
      EMBER_UNROLL for (int r = 0; r < (MR); r++) {                                              \
        const T ar = a[r];                                                                       \
        EMBER_UNROLL for (int v = 0; v < (NV); v++) acc[r][v] += ar * bv[v];                     \
      }                                                                                          \
      a += (MR);                                                                                 \
      b += (VL) * (NV);                                                                          \
    }                                                                                            \
    if (mr == (MR) && nr == (VL) * (NV) && csc == 1) {                                           \
      EMBER_UNROLL for (int r = 0; r < (MR); r++) {                                              \
        NAME##_uvec *cr = (NAME##_uvec *)(c + r * rsc);                                          \
        EMBER_UNROLL for (int v = 0; v < (NV); v++) {                                            \
          NAME##_vec x = alpha * acc[r][v];                                                      \
          if (!first) {                                                                          \
            cr[v] += x;                                                                          \
          } else if (beta == 0) {                                                                \
            cr[v] = x;                                                                           \
          } else {                                                                               \
            cr[v] = x + beta * cr[v];                                                            \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
      return;                                                                                    \
    }                                                                                            \
    T tile[MR][(VL) * (NV)] __attribute__((aligned(64)));                                        \
    for (int r = 0; r < (MR); r++) {                                                             \
      for (int v = 0; v < (NV); v++) *(NAME##_vec *)&tile[r][v * (VL)] = acc[r][v];              \
    }                                                                                            \
    for (int64_t i = 0; i < mr; i++) {                                                           \
      for (int64_t j = 0; j < nr; j++) {                                                         \
        T *cij = c + i * rsc + j * csc;                                                          \
        T x = alpha * tile[i][j];                                                                \
        if (!first) {                                                                            \
          *cij += x;                                                                             \
        } else if (beta == 0) {                                                                  \
          *cij = x;                                                                              \
        } else {                                                                                 \
          *cij = x + beta * *cij;                                                                \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }                                                                                              \
                                                                                                 \
  typedef T NAME##_t8 __attribute__((vector_size(8 * sizeof(T))));                               \
  typedef T NAME##_ut8 __attribute__((vector_size(8 * sizeof(T)), aligned(sizeof(T))));          \
                                                                                                 \
  /* dst[p * W + q] = src[q * ld + p] for q < W, p < kc: a W-wide panel from W lines that are    \
     contiguous along k (rows of a row-major A, columns of a transposed B). With W a multiple    \
     of 8, 8 x 8 blocks are transposed in registers (8 sequential reads, 8 vector writes);       \
     otherwise, and for the k tail, one element at a time, reading along the lines. The k-outer  \
     loop it replaces compiled to gathers and scatters: packing the MLP's transposed 784x512     \
     weight took 11.1% of the 128x784x512 product's samples, now 9.2% (perf, 1 thread; the       \
     rest is reading the 1.6 MB weight from L3), and the conv weight gradient's 64x288x196       \
     product from 106-116 to 85-92 us (gemm harness, CPU time, 3 runs, noisy machine). */        \
  ATTR static void NAME##_pack_t(int64_t kc, int64_t W, const T *restrict src, int64_t ld,       \
                                 T *restrict dst) {                                              \
    int64_t p = 0;                                                                               \
    if (W % 8 == 0) {                                                                            \
      for (; p + 8 <= kc; p += 8) {                                                              \
        for (int64_t q = 0; q < W; q += 8) {                                                     \
          const T *s = src + q * ld + p;                                                         \
          NAME##_t8 r0 = *(const NAME##_ut8 *)(s);                                               \
          NAME##_t8 r1 = *(const NAME##_ut8 *)(s + ld);                                          \
          NAME##_t8 r2 = *(const NAME##_ut8 *)(s + 2 * ld);                                      \
          NAME##_t8 r3 = *(const NAME##_ut8 *)(s + 3 * ld);                                      \
          NAME##_t8 r4 = *(const NAME##_ut8 *)(s + 4 * ld);                                      \
          NAME##_t8 r5 = *(const NAME##_ut8 *)(s + 5 * ld);                                      \
          NAME##_t8 r6 = *(const NAME##_ut8 *)(s + 6 * ld);                                      \
          NAME##_t8 r7 = *(const NAME##_ut8 *)(s + 7 * ld);                                      \
          NAME##_t8 t0 = __builtin_shufflevector(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13);              \
          NAME##_t8 t1 = __builtin_shufflevector(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);            \
          NAME##_t8 t2 = __builtin_shufflevector(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13);              \
          NAME##_t8 t3 = __builtin_shufflevector(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);            \
          NAME##_t8 t4 = __builtin_shufflevector(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13);              \
          NAME##_t8 t5 = __builtin_shufflevector(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);            \
          NAME##_t8 t6 = __builtin_shufflevector(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13);              \
          NAME##_t8 t7 = __builtin_shufflevector(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);            \
          NAME##_t8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);              \
          NAME##_t8 u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);            \
          NAME##_t8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);              \
          NAME##_t8 u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);            \
          NAME##_t8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);              \
          NAME##_t8 u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);            \
          NAME##_t8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);              \
          NAME##_t8 u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);            \
          T *d = dst + p * W + q;                                                                \
          NAME##_t8 o0 = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);              \
          NAME##_t8 o1 = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);              \
          NAME##_t8 o2 = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);              \
          NAME##_t8 o3 = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);              \
          NAME##_t8 o4 = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);            \
          NAME##_t8 o5 = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);            \
          NAME##_t8 o6 = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);            \
          NAME##_t8 o7 = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);            \
          *(NAME##_ut8 *)(d) = o0;                                                               \
          *(NAME##_ut8 *)(d + W) = o1;                                                           \
          *(NAME##_ut8 *)(d + 2 * W) = o2;                                                       \
          *(NAME##_ut8 *)(d + 3 * W) = o3;                                                       \
          *(NAME##_ut8 *)(d + 4 * W) = o4;                                                       \
          *(NAME##_ut8 *)(d + 5 * W) = o5;                                                       \
          *(NAME##_ut8 *)(d + 6 * W) = o6;                                                       \
          *(NAME##_ut8 *)(d + 7 * W) = o7;                                                       \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
    for (int64_t q = 0; q < W; q++) {                                                            \
      const T *s = src + q * ld;                                                                 \
      for (int64_t r = p; r < kc; r++) dst[r * W + q] = s[r];                                    \
    }                                                                                            \
  }                                                                                              \
                                                                                                 \
  /* Packs the mc x kc block at `a` into MR-row panels (k-major inside a panel), zero-padded. */ \
  ATTR static void NAME##_pack_a(int64_t mc, int64_t kc, const T *a, int64_t rsa, int64_t csa,  \
                                 T *restrict dst) {                                              \
    for (int64_t i = 0; i < mc; i += (MR)) {                                                     \
      const int64_t m = EMBER_MIN((MR), mc - i);                                                 \
      const T *src = a + i * rsa;                                                                \
      if (m == (MR) && rsa == 1) {                                                               \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          EMBER_UNROLL for (int r = 0; r < (MR); r++) dst[p * (MR) + r] = src[p * csa + r];      \
        }                                                                                        \
      } else if (m == (MR) && csa == 1) {                                                        \
        NAME##_pack_t(kc, (MR), src, rsa, dst);                                                  \
      } else if (m == (MR)) {                                                                    \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          EMBER_UNROLL for (int r = 0; r < (MR); r++) dst[p * (MR) + r] = src[r * rsa + p * csa]; \
        }                                                                                        \
      } else {                                                                                   \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          int64_t r = 0;                                                                         \
          for (; r < m; r++) dst[p * (MR) + r] = src[r * rsa + p * csa];                         \
          for (; r < (MR); r++) dst[p * (MR) + r] = 0;                                           \
        }                                                                                        \
      }                                                                                          \
      dst += (MR) * kc;                                                                          \
    }                                                                                            \
  }                                                                                              \
                                                                                                 \
  /* Packs the kc x nc block at `b` into NR-column panels (k-major inside a panel), padded. */   \
  ATTR static void NAME##_pack_b(int64_t kc, int64_t nc, const T *b, int64_t rsb, int64_t csb,  \
                                 T *restrict dst) {                                              \
    enum { NR = (VL) * (NV) };                                                                   \
    for (int64_t j = 0; j < nc; j += NR) {                                                       \
      const int64_t n = EMBER_MIN(NR, nc - j);                                                   \
      const T *src = b + j * csb;                                                                \
      if (n == NR && csb == 1) {                                                                 \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          const NAME##_uvec *s = (const NAME##_uvec *)(src + p * rsb);                           \
          NAME##_vec *d = (NAME##_vec *)(dst + p * NR);                                          \
          EMBER_UNROLL for (int v = 0; v < (NV); v++) d[v] = s[v];                               \
        }                                                                                        \
      } else if (n == NR && rsb == 1) {                                                          \
        /* a transposed B (a Linear weight's .t()): each column is contiguous along k */         \
        NAME##_pack_t(kc, NR, src, csb, dst);                                                    \
      } else if (n == NR) {                                                                      \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          EMBER_UNROLL for (int q = 0; q < NR; q++) dst[p * NR + q] = src[p * rsb + q * csb];    \
        }                                                                                        \
      } else {                                                                                   \
        for (int64_t p = 0; p < kc; p++) {                                                       \
          int64_t q = 0;                                                                         \
          for (; q < n; q++) dst[p * NR + q] = src[p * rsb + q * csb];                           \
          for (; q < NR; q++) dst[p * NR + q] = 0;                                               \
        }                                                                                        \
      }                                                                                          \
      dst += NR * kc;                                                                            \
    }                                                                                            \
  }                                                                                              \
                                                                                                 \
  /* The blocked driver (M, N, K >= 1). */                                                       \
  ATTR static void NAME##_gemm(int64_t M, int64_t N, int64_t K, T alpha, const T *A,             \
                               int64_t rsa, int64_t csa, const T *B, int64_t rsb, int64_t csb,   \
                               T beta, T *C, int64_t rsc, int64_t csc) {                         \
    enum { NR = (VL) * (NV) };                                                                   \
    const int64_t kcMax = EMBER_MIN((int64_t)(KC), K);                                           \
    const int64_t mcMax = EMBER_MIN((int64_t)(MC), EMBER_ROUND_UP(M, (int64_t)(MR)));             \
    const int64_t ncMax = EMBER_MIN((int64_t)(NC), EMBER_ROUND_UP(N, (int64_t)NR));               \
    const int64_t aSize = EMBER_ROUND_UP(mcMax * kcMax, (int64_t)64);                            \
    T *ap = (T *)ember_scratch((size_t)(aSize + ncMax * kcMax) * sizeof(T));                     \
    T *bp = ap + aSize;                                                                          \
    for (int64_t ic = 0; ic < M; ic += (MC)) {                                                   \
      const int64_t mc = EMBER_MIN((int64_t)(MC), M - ic);                                       \
      for (int64_t pc = 0; pc < K; pc += (KC)) {                                                 \
        const int64_t kc = EMBER_MIN((int64_t)(KC), K - pc);                                     \
        NAME##_pack_a(mc, kc, A + ic * rsa + pc * csa, rsa, csa, ap);                            \
        for (int64_t jc = 0; jc < N; jc += (NC)) {                                               \
          const int64_t nc = EMBER_MIN((int64_t)(NC), N - jc);                                   \
          NAME##_pack_b(kc, nc, B + pc * rsb + jc * csb, rsb, csb, bp);                          \
          for (int64_t ir = 0; ir < mc; ir += (MR)) {                                            \
            for (int64_t jr = 0; jr < nc; jr += NR) {                                            \
              NAME##_micro(kc, ap + ir * kc, bp + jr * kc, C + (ic + ir) * rsc + (jc + jr) * csc, \
                           rsc, csc, EMBER_MIN((int64_t)(MR), mc - ir),                          \
                           EMBER_MIN((int64_t)NR, nc - jr), alpha, beta, pc == 0);               \
            }                                                                                    \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

#define EMBER_NO_ATTR

#if EMBER_X86
#define EMBER_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define EMBER_AVX2 __attribute__((target("avx2,fma")))
// AVX-512: 32 zmm registers; a 12 x 2-vector tile uses 24 accumulators. Float K blocks of 192
// are MKL's on this CPU (probed: torch.mm of 128x784 by 784x512 equals sequential-FMA chains of
// 192 k-steps added block by block, bit for bit), so a training step rounds as PyTorch's does:
// the MNIST MLP's first 100 SGD steps then equal PyTorch's losses to 4.8e-7 relative, against a
// drift to 1e-4 by step 80 with K blocks of 384. Measured speed is unchanged (matmul 1024
// fwd+bwd: 171.6 GFLOP/s with 192, 163.3 with 384, same load; ember-bench matmul).
EMBER_DEFINE_GEMM(s512, float, 16, 12, 2, 192, 960, 256, EMBER_AVX512)
// The wide float32 tile (ember_gemm_pick_tile): 8 rows x 3 vectors, the same 24 accumulators
// and the same K blocks (so the same sums, bit for bit) as s512.
EMBER_DEFINE_GEMM(s512w, float, 16, 8, 3, 192, 960, 288, EMBER_AVX512)
EMBER_DEFINE_GEMM(d512, double, 8, 12, 2, 256, 960, 192, EMBER_AVX512)
// AVX2: 16 ymm registers; 6 x 2-vector tile (12 accumulators).
EMBER_DEFINE_GEMM(s256, float, 8, 6, 2, 256, 960, 512, EMBER_AVX2)
EMBER_DEFINE_GEMM(d256, double, 4, 6, 2, 256, 960, 256, EMBER_AVX2)
// SSE2 baseline: 16 xmm registers, no FMA; 4 x 2-vector tile.
EMBER_DEFINE_GEMM(s128, float, 4, 4, 2, 256, 960, 512, EMBER_NO_ATTR)
EMBER_DEFINE_GEMM(d128, double, 2, 4, 2, 256, 960, 256, EMBER_NO_ATTR)
#else
// Portable 128-bit vectors (NEON on arm64: 32 registers, so an 8 x 2-vector tile).
EMBER_DEFINE_GEMM(s128, float, 4, 8, 2, 256, 960, 512, EMBER_NO_ATTR)
EMBER_DEFINE_GEMM(d128, double, 2, 8, 2, 256, 960, 256, EMBER_NO_ATTR)
#endif

// MARK: - instruction-set selection

static int ember_best_isa(void) {
#if EMBER_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return EMBER_GEMM_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return EMBER_GEMM_ISA_AVX2;
#endif
  return EMBER_GEMM_ISA_BASELINE;
}

int ember_gemm_resolve_isa(int isa) {
  int best = ember_best_isa();
  if (isa <= EMBER_GEMM_ISA_AUTO || isa > best) return best;
  return isa;
}

void ember_gemm_tile(int isa, int is_double, int tile, int64_t *mr, int64_t *nr) {
  switch (ember_gemm_resolve_isa(isa)) {
#if EMBER_X86
    case EMBER_GEMM_ISA_AVX512:
      if (!is_double && tile == EMBER_GEMM_TILE_WIDE) {
        *mr = 8;
        *nr = 48;
        return;
      }
      *mr = 12;
      *nr = is_double ? 16 : 32;
      return;
    case EMBER_GEMM_ISA_AVX2:
      *mr = 6;
      *nr = is_double ? 8 : 16;
      return;
    default:
      *mr = 4;
      *nr = is_double ? 4 : 8;
      return;
#else
    default:
      *mr = 8;
      *nr = is_double ? 4 : 8;
      return;
#endif
  }
}

// Which register tile an AVX-512 float32 product of M x N outputs runs on. The standard 12 x 32
// tile leaves rows of its last panel empty when M is not near a multiple of 12 (M = 64: 64 of 72
// rows computed); the wide 8 x 48 tile has the same 24 accumulators, fits M = 16, 32, 64, ... and
// loads less per FMA (3 vectors and 8 broadcasts per 24 FMAs instead of 2 and 12). Measured (one
// thread, Zen 4, ember_sgemm best of 7 x 200 calls, standard -> wide, GFLOP/s): M 64 N 392 K 288
// (the CNN's second convolution over two samples) 83 -> 93; M 64 N 288 K 196 (its weight
// gradient per sample) 85 -> 100; M 64 N 128 K 3136 (its first Linear) 76 -> 88; 1024^3 90-92 ->
// 95-99; M 128 N 512 K 784 (the MLP's first layer) 98 -> 102; but M 1024 N 256 K 1568 (N a
// multiple of 32, not of 48) 89-91 -> 81-84 and M 288 N 392 K 64 100 -> 97. So the wide tile runs
// unless it covers M x N less than 97% as fully as the standard one. Both give the same bits.
int ember_gemm_pick_tile(int isa, int is_double, int64_t M, int64_t N) {
#if EMBER_X86
  if (!is_double && M > 0 && N > 0 && ember_gemm_resolve_isa(isa) == EMBER_GEMM_ISA_AVX512) {
    double standard = (double)M / EMBER_ROUND_UP(M, 12) * ((double)N / EMBER_ROUND_UP(N, 32));
    double wide = (double)M / EMBER_ROUND_UP(M, 8) * ((double)N / EMBER_ROUND_UP(N, 48));
    if (wide >= 0.97 * standard) return EMBER_GEMM_TILE_WIDE;
  }
#else
  (void)isa, (void)is_double, (void)M, (void)N;
#endif
  return EMBER_GEMM_TILE_STANDARD;
}

// MARK: - the unpacked float32 product (AVX-512)

// C (+)= A B with B row-major and read in place, 32 columns (two vectors) by 8 rows of A at a
// time; A's elements are broadcast from memory (any strides). The sums run as the blocked
// kernels': K blocks of 192, each a chain of FMAs from zero, then added to C in order (so the
// results are their bits). Without packing, a narrow product does not pay for packing all of A
// for a few columns of B, and a product repeated with the same B (an LSTM's steps) does not pack
// B again each time. Measured (one thread, Zen 4, best of 7 x 500 calls, GFLOP/s, unpacked vs
// ember_sgemm's blocked path): M 1600 N 64 K 1024 (the LSTM's input gradient) 102 vs 73; N 32
// 102 vs 55; N 128 100 vs 81; N 96 98 vs 102 (the wide tile fits it exactly); N 256 95 vs 85
// at K 1024 but 94 vs 99 at K 64; M 128 N 64 K 512 106 vs 77; M 32 N 1024 K 256 (an LSTM step)
// 94 vs 85.
#if EMBER_X86
#include <immintrin.h>

#define UG_ROWS 8
#define UG_KC 192

EMBER_AVX512 static void s512_unpacked(int64_t M, int64_t N, int64_t K, const float *A,
                                       int64_t rsa, int64_t csa, const float *B, int64_t ldb,
                                       float *C, int64_t ldc, int accumulate) {
  for (int64_t j = 0; j + 32 <= N; j += 32) {
    for (int64_t i = 0; i < M; i += UG_ROWS) {
      const int64_t mr = M - i < UG_ROWS ? M - i : UG_ROWS;
      for (int64_t pc = 0; pc < K; pc += UG_KC) {
        const int64_t kc = K - pc < UG_KC ? K - pc : UG_KC;
        __m512 acc[UG_ROWS][2];
        for (int r = 0; r < UG_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        const float *a = A + i * rsa + pc * csa;
        const float *b = B + pc * ldb + j;
        // the K loop over ROWS rows (a constant for full blocks, so it unrolls)
#define UG_K_LOOP(ROWS)                                                                   \
  for (int64_t p = 0; p < kc; p++) {                                                      \
    __m512 b0 = _mm512_loadu_ps(b + p * ldb), b1 = _mm512_loadu_ps(b + p * ldb + 16);     \
    for (int r = 0; r < (ROWS); r++) {                                                    \
      __m512 ar = _mm512_set1_ps(a[r * rsa + p * csa]);                                   \
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);                                     \
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);                                     \
    }                                                                                     \
  }
        if (mr == UG_ROWS) {
          UG_K_LOOP(UG_ROWS)
        } else {
          UG_K_LOOP(mr)
        }
#undef UG_K_LOOP
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

// Whether ember_sgemm runs an M x N x K product unpacked: B and C row-major, alpha 1, beta 0 or
// 1, and N one of the narrow widths measured faster above (a multiple of 32 up to 128, but not
// 96).
static int s512_prefers_unpacked(int64_t N, int64_t K, float alpha, float beta, int64_t csb,
                                 int64_t csc) {
  return csb == 1 && csc == 1 && alpha == 1 && (beta == 0 || beta == 1) && K > 0 && N % 32 == 0 &&
         N <= 128 && N != 96;
}
#endif

int ember_sgemm_unpacked_available(void) {
#if EMBER_X86
  return ember_gemm_resolve_isa(EMBER_GEMM_ISA_AUTO) == EMBER_GEMM_ISA_AVX512;
#else
  return 0;
#endif
}

int ember_sgemm_unpacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsa,
                         int64_t csa, const float *B, int64_t ldb, float *C, int64_t ldc,
                         int accumulate) {
#if EMBER_X86
  if (N % 32 != 0 || K <= 0 || M <= 0 || !ember_sgemm_unpacked_available()) return 0;
  s512_unpacked(M, N, K, A, rsa, csa, B, ldb, C, ldc, accumulate);
  return 1;
#else
  (void)M, (void)N, (void)K, (void)A, (void)rsa, (void)csa, (void)B, (void)ldb, (void)C;
  (void)ldc, (void)accumulate;
  return 0;
#endif
}

// MARK: - matrix-vector path

// y[0..<M] = alpha * A x + beta * y, A being M x K with strides (rsa, csa). Eight-lane vectors:
// one ymm register on AVX2/AVX-512, two xmm on the baseline.
#define EMBER_DEFINE_GEMV(NAME, T)                                                               \
  typedef T NAME##_v8 __attribute__((vector_size(8 * sizeof(T)), aligned(sizeof(T))));          \
                                                                                                 \
  EMBER_INLINE void NAME##_impl(int64_t M, int64_t K, T alpha, const T *A, int64_t rsa,        \
                                int64_t csa, const T *x, int64_t incx, T beta, T *y,             \
                                int64_t incy) {                                                  \
    if (csa == 1 || (rsa != 1 && K == 1)) {                                                      \
      /* rows contiguous: one dot product per output */                                          \
      const T *xc = x;                                                                           \
      if (incx != 1 && K > 1) {                                                                  \
        T *buf = (T *)ember_scratch((size_t)K * sizeof(T));                                      \
        for (int64_t k = 0; k < K; k++) buf[k] = x[k * incx];                                    \
        xc = buf;                                                                                \
      }                                                                                          \
      for (int64_t i = 0; i < M; i++) {                                                          \
        const T *row = A + i * rsa;                                                              \
        NAME##_v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                        \
        int64_t k = 0;                                                                           \
        for (; k + 32 <= K; k += 32) {                                                           \
          s0 += *(const NAME##_v8 *)(row + k) * *(const NAME##_v8 *)(xc + k);                    \
          s1 += *(const NAME##_v8 *)(row + k + 8) * *(const NAME##_v8 *)(xc + k + 8);            \
          s2 += *(const NAME##_v8 *)(row + k + 16) * *(const NAME##_v8 *)(xc + k + 16);          \
          s3 += *(const NAME##_v8 *)(row + k + 24) * *(const NAME##_v8 *)(xc + k + 24);          \
        }                                                                                        \
        for (; k + 8 <= K; k += 8) {                                                             \
          s0 += *(const NAME##_v8 *)(row + k) * *(const NAME##_v8 *)(xc + k);                   \
        }                                                                                        \
        s0 = (s0 + s1) + (s2 + s3);                                                              \
        T s = 0;                                                                                 \
        for (int l = 0; l < 8; l++) s += s0[l];                                                  \
        for (; k < K; k++) s += row[k] * xc[k];                                                  \
        T *yi = y + i * incy;                                                                    \
        *yi = beta == 0 ? alpha * s : alpha * s + beta * *yi;                                    \
      }                                                                                          \
    } else if (rsa == 1) {                                                                       \
      /* columns contiguous: accumulate alpha-free column sums, then scale */                    \
      T *acc = (T *)ember_scratch((size_t)M * sizeof(T));                                        \
      for (int64_t i = 0; i < M; i++) acc[i] = 0;                                                \
      for (int64_t k = 0; k < K; k++) {                                                          \
        const T *col = A + k * csa;                                                              \
        const T xk = x[k * incx];                                                                \
        int64_t i = 0;                                                                           \
        for (; i + 8 <= M; i += 8) *(NAME##_v8 *)(acc + i) += xk * *(const NAME##_v8 *)(col + i); \
        for (; i < M; i++) acc[i] += xk * col[i];                                                \
      }                                                                                          \
      for (int64_t i = 0; i < M; i++) {                                                          \
        T *yi = y + i * incy;                                                                    \
        *yi = beta == 0 ? alpha * acc[i] : alpha * acc[i] + beta * *yi;                          \
      }                                                                                          \
    } else {                                                                                     \
      for (int64_t i = 0; i < M; i++) {                                                          \
        T s = 0;                                                                                 \
        for (int64_t k = 0; k < K; k++) s += A[i * rsa + k * csa] * x[k * incx];                 \
        T *yi = y + i * incy;                                                                    \
        *yi = beta == 0 ? alpha * s : alpha * s + beta * *yi;                                    \
      }                                                                                          \
    }                                                                                            \
  }                                                                                              \
  EMBER_DISPATCH(static, NAME,                                                                   \
                 (int64_t M, int64_t K, T alpha, const T *A, int64_t rsa, int64_t csa,           \
                  const T *x, int64_t incx, T beta, T *y, int64_t incy),                         \
                 (M, K, alpha, A, rsa, csa, x, incx, beta, y, incy))

EMBER_DEFINE_GEMV(ember_sgemv, float)
EMBER_DEFINE_GEMV(ember_dgemv, double)

// MARK: - entry points

#define EMBER_DEFINE_ENTRY(NAME, T, GEMV, K512, K256, K128)                                      \
  void NAME##_tiled(int isa, int tile, int64_t M, int64_t N, int64_t K, T alpha, const T *A,     \
                    int64_t rsa, int64_t csa, const T *B, int64_t rsb, int64_t csb, T beta,      \
                    T *C, int64_t rsc, int64_t csc) {                                            \
    (void)tile;                                                                                  \
    if (M <= 0 || N <= 0) return;                                                                \
    if (K <= 0 || alpha == 0) {                                                                  \
      for (int64_t i = 0; i < M; i++) {                                                          \
        for (int64_t j = 0; j < N; j++) {                                                        \
          T *cij = C + i * rsc + j * csc;                                                        \
          *cij = beta == 0 ? 0 : beta * *cij;                                                    \
        }                                                                                        \
      }                                                                                          \
      return;                                                                                    \
    }                                                                                            \
    if (N == 1) {                                                                                \
      GEMV(M, K, alpha, A, rsa, csa, B, rsb, beta, C, rsc);                                      \
      return;                                                                                    \
    }                                                                                            \
    if (M == 1) {                                                                                \
      GEMV(N, K, alpha, B, csb, rsb, A, csa, beta, C, csc);                                      \
      return;                                                                                    \
    }                                                                                            \
    switch (ember_gemm_resolve_isa(isa)) {                                                       \
      K512 K256 default : K128(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);     \
    }                                                                                            \
  }                                                                                              \
  void NAME(int isa, int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t rsa,         \
            int64_t csa, const T *B, int64_t rsb, int64_t csb, T beta, T *C, int64_t rsc,        \
            int64_t csc) {                                                                       \
    NAME##_tiled(isa, EMBER_GEMM_TILE_AUTO, M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C,   \
                 rsc, csc);                                                                      \
  }

#if EMBER_X86
#define EMBER_CASE512(F)                                                \
  case EMBER_GEMM_ISA_AVX512:                                           \
    F(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);     \
    return;
#define EMBER_CASE256(F)                                                \
  case EMBER_GEMM_ISA_AVX2:                                             \
    F(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);     \
    return;
#define EMBER_CASE512_TILED(F, FW)                                       \
  case EMBER_GEMM_ISA_AVX512:                                           \
    if (s512_prefers_unpacked(N, K, alpha, beta, csb, csc)) {           \
      s512_unpacked(M, N, K, A, rsa, csa, B, rsb, C, rsc, beta == 1);   \
      return;                                                           \
    }                                                                   \
    if (tile == EMBER_GEMM_TILE_AUTO) tile = ember_gemm_pick_tile(isa, 0, M, N); \
    if (tile == EMBER_GEMM_TILE_WIDE)                                   \
      FW(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);  \
    else                                                                \
      F(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc);   \
    return;
EMBER_DEFINE_ENTRY(ember_sgemm, float, ember_sgemv, EMBER_CASE512_TILED(s512_gemm, s512w_gemm),
                   EMBER_CASE256(s256_gemm), s128_gemm)
EMBER_DEFINE_ENTRY(ember_dgemm, double, ember_dgemv, EMBER_CASE512(d512_gemm),
                   EMBER_CASE256(d256_gemm), d128_gemm)
#else
EMBER_DEFINE_ENTRY(ember_sgemm, float, ember_sgemv, , , s128_gemm)
EMBER_DEFINE_ENTRY(ember_dgemm, double, ember_dgemv, , , d128_gemm)
#endif

// MARK: - Swift bindings
//
