// One-thread timing of the native float32 GEMM on the products the benchmark workloads run, on
// each AVX-512 register tile (standard 12 x 32, wide 8 x 48) and on the per-call pick.
//
//   clang -O2 -march=native -ISources/CEmberKernels/include -ISources/CEmberKernels \
//     Benchmarks/gemm-shapes/gemm_shapes.c Sources/CEmberKernels/gemm.c -o /tmp/gemm_shapes -lpthread
//   /tmp/gemm_shapes
//
// Prints, per shape and tile, the best of 7 rounds of 200 calls (us per call and GFLOP/s).
#include "CEmberGemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
  const char *name;
  int64_t M, N, K, rsa, csa, rsb, csb;
} Shape;

static const Shape shapes[] = {
    {"cnn conv2 forward, 2 samples", 64, 392, 288, 288, 1, 392, 1},
    {"cnn conv2 weight gradient, 1 sample", 64, 288, 196, 196, 1, 1, 196},
    {"cnn conv2 input gradient, 2 samples", 288, 392, 64, 1, 288, 392, 1},
    {"cnn Linear(3136, 128) forward", 64, 128, 3136, 3136, 1, 1, 3136},
    {"mlp Linear(784, 512) forward", 128, 512, 784, 784, 1, 1, 784},
    {"mlp Linear(784, 512) weight gradient", 784, 512, 128, 1, 784, 512, 1},
    {"lstm W_hh gradient", 1024, 256, 1568, 1, 1024, 256, 1},
    {"lstm input projection x W_ih^T", 1600, 1024, 64, 64, 1, 1, 64},
    {"lstm W_ih gradient", 1024, 64, 1600, 1, 1024, 64, 1},
    {"lstm input gradient", 1600, 64, 1024, 1024, 1, 64, 1},
    {"lstm head Linear(256, 64) forward", 1600, 64, 256, 256, 1, 1, 256},
    {"lstm head weight gradient", 64, 256, 1600, 1, 64, 256, 1},
    {"matmul 1024^3", 1024, 1024, 1024, 1024, 1, 1024, 1},
};

int main(void) {
  const char *tiles[] = {"pick", "12x32", "8x48"};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const Shape *sh = &shapes[s];
    float *A = malloc(sizeof(float) * sh->M * sh->K), *B = malloc(sizeof(float) * sh->K * sh->N);
    float *C = malloc(sizeof(float) * sh->M * sh->N);
    for (int64_t i = 0; i < sh->M * sh->K; i++) A[i] = (float)(i % 7) * 0.1f;
    for (int64_t i = 0; i < sh->K * sh->N; i++) B[i] = (float)(i % 5) * 0.1f;
    int reps = sh->M * sh->N * sh->K > 100000000 ? 10 : 200;
    printf("%s (M %lld N %lld K %lld, picked: %s)\n", sh->name, (long long)sh->M,
           (long long)sh->N, (long long)sh->K,
           tiles[ember_gemm_pick_tile(0, 0, sh->M, sh->N)]);
    for (int tile = 0; tile <= EMBER_GEMM_TILE_WIDE; tile++) {
      double best = 1e9;
      for (int round = 0; round < 7; round++) {
        double t0 = now();
        for (int i = 0; i < reps; i++)
          ember_sgemm_tiled(0, tile, sh->M, sh->N, sh->K, 1, A, sh->rsa, sh->csa, B, sh->rsb,
                            sh->csb, 0, C, sh->N, 1);
        double t = (now() - t0) / reps;
        if (t < best) best = t;
      }
      printf("  %-6s %9.1f us %7.1f GFLOP/s\n", tiles[tile], best * 1e6,
             2.0 * sh->M * sh->N * sh->K / best / 1e9);
    }
    free(A), free(B), free(C);
  }
  return 0;
}
