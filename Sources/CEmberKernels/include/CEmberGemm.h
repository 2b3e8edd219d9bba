#ifndef CEMBER_GEMM_H
#define CEMBER_GEMM_H

#include <stdint.h>

/// Native GEMM: C = alpha * op(A) * op(B) + beta * C on strided operands.
///
/// A is M x K with element (i, k) at A[i * rsa + k * csa]; B is K x N with (k, j) at
/// B[k * rsb + j * csb]; C is M x N with (i, j) at C[i * rsc + j * csc]. A transposed view is just
/// swapped strides, so no copy is needed. When beta == 0, C is not read (it may hold garbage or
/// NaN). Any M, N, K >= 0 is valid. The result for each element does not depend on how the caller
/// splits C into blocks, so splitting rows or columns across threads is deterministic.
///
/// `isa` picks the kernel family (EMBER_GEMM_ISA_*); EMBER_GEMM_ISA_AUTO (0) picks the best one the
/// CPU supports, and a family the CPU lacks falls back to the best supported one.
void ember_sgemm(int isa, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t rsa, int64_t csa, const float *B, int64_t rsb, int64_t csb, float beta,
                 float *C, int64_t rsc, int64_t csc);
void ember_dgemm(int isa, int64_t M, int64_t N, int64_t K, double alpha, const double *A,
                 int64_t rsa, int64_t csa, const double *B, int64_t rsb, int64_t csb, double beta,
                 double *C, int64_t rsc, int64_t csc);

/// Kernel families of the native GEMM.
enum {
  EMBER_GEMM_ISA_AUTO = 0,
  EMBER_GEMM_ISA_BASELINE = 1,  // portable vector code (SSE2 on x86-64, NEON on arm64)
  EMBER_GEMM_ISA_AVX2 = 2,      // AVX2 + FMA
  EMBER_GEMM_ISA_AVX512 = 3,    // AVX-512F
};

/// The family `isa` resolves to on this CPU (AUTO gives the best one).
int ember_gemm_resolve_isa(int isa);

/// Register tiles: AVX-512 float32 products run on a 12 x 32 (standard) or an 8 x 48 (wide) tile,
/// picked per call from M and N (ember_gemm_pick_tile); every other family has one tile. Both
/// tiles give the same bits.
enum {
  EMBER_GEMM_TILE_AUTO = 0,
  EMBER_GEMM_TILE_STANDARD = 1,
  EMBER_GEMM_TILE_WIDE = 2,
};
/// Register tile (rows, columns) of a kernel family and tile (AUTO gives the standard one);
/// callers split work on these multiples.
void ember_gemm_tile(int isa, int is_double, int tile, int64_t *mr, int64_t *nr);
/// The tile `ember_sgemm` / `ember_dgemm` use for an M x N product (STANDARD or WIDE).
int ember_gemm_pick_tile(int isa, int is_double, int64_t M, int64_t N);
/// `ember_sgemm` / `ember_dgemm` on a given tile: callers that split C into blocks pick the
/// tile for the whole product and run every block on it.
void ember_sgemm_tiled(int isa, int tile, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t rsa, int64_t csa, const float *B, int64_t rsb,
                       int64_t csb, float beta, float *C, int64_t rsc, int64_t csc);
void ember_dgemm_tiled(int isa, int tile, int64_t M, int64_t N, int64_t K, double alpha,
                       const double *A, int64_t rsa, int64_t csa, const double *B, int64_t rsb,
                       int64_t csb, double beta, double *C, int64_t rsc, int64_t csc);

/// C (M x N) = A (M x K) @ B (K x N), or C += A @ B when `accumulate`, float32, with A of any
/// strides and B and C row-major (rows `ldb` and `ldc` apart): B read in place, 32 columns at a
/// time, instead of packed as the blocked GEMM packs both operands on every call. The sums are
/// ember_sgemm's (K blocks of 192, each a chain of FMAs from zero added to C), so the results
/// are its bits. Returns 1 when done, 0 (C untouched) unless N is a multiple of 32, K > 0 and
/// the CPU has AVX-512. ember_sgemm takes this path itself for narrow products (gemm.c); the
/// LSTM's steps call it directly (their B, W_hh, is the same for every step).
int ember_sgemm_unpacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsa,
                         int64_t csa, const float *B, int64_t ldb, float *C, int64_t ldc,
                         int accumulate);
/// Whether ``ember_sgemm_unpacked`` runs on this CPU (1: AVX-512).
int ember_sgemm_unpacked_available(void);
#endif
