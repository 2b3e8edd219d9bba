#ifndef CEMBER_DISPATCH_H
#define CEMBER_DISPATCH_H

// Run-time choice between AVX-512, AVX2 and baseline variants of a kernel.
//
// The kernels used to be `target_clones`, whose ifunc resolvers run during dynamic relocation,
// before any sanitizer runtime is up: under ThreadSanitizer the instrumented resolver crashed the
// test binary at start-up. Here each kernel's body is an always-inline function compiled three
// times (inlined into functions with `target` attributes), and a plain entry point picks one
// through a cached CPU level. The cost is one well-predicted switch per call.

#include <stdint.h>

#if defined(__x86_64__)
#define EMBER_DISPATCH_X86 1
#else
#define EMBER_DISPATCH_X86 0
#endif

enum { EMBER_CPU_BASELINE = 0, EMBER_CPU_AVX2 = 1, EMBER_CPU_AVX512 = 2 };

/// The best level this CPU runs, computed once (a relaxed atomic: racing first calls store the
/// same value).
static inline int ember_cpu_level(void) {
#if EMBER_DISPATCH_X86
  static int cached = -1;
  int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (level >= 0) return level;
  __builtin_cpu_init();
  level = EMBER_CPU_BASELINE;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = EMBER_CPU_AVX2;
  if (level == EMBER_CPU_AVX2 && __builtin_cpu_supports("avx512f")) level = EMBER_CPU_AVX512;
  __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
  return level;
#else
  return EMBER_CPU_BASELINE;
#endif
}

/// Defines `LINKAGE void NAME PARAMS` that runs `NAME##_impl ARGS` compiled for the best level.
/// `NAME##_impl` must be a `static inline __attribute__((always_inline))` function.
#if EMBER_DISPATCH_X86
#define EMBER_DISPATCH(LINKAGE, NAME, PARAMS, ARGS)                                \
  __attribute__((target("avx512f,avx2,fma"))) static void NAME##_avx512 PARAMS { \
    NAME##_impl ARGS;                                                              \
  }                                                                                \
  __attribute__((target("avx2,fma"))) static void NAME##_avx2 PARAMS { NAME##_impl ARGS; } \
  static void NAME##_base PARAMS { NAME##_impl ARGS; }                             \
  LINKAGE void NAME PARAMS {                                                       \
    switch (ember_cpu_level()) {                                                   \
      case EMBER_CPU_AVX512: NAME##_avx512 ARGS; return;                           \
      case EMBER_CPU_AVX2: NAME##_avx2 ARGS; return;                               \
      default: NAME##_base ARGS; return;                                           \
    }                                                                              \
  }
#else
#define EMBER_DISPATCH(LINKAGE, NAME, PARAMS, ARGS) \
  LINKAGE void NAME PARAMS { NAME##_impl ARGS; }
#endif

#define EMBER_INLINE static inline __attribute__((always_inline))

#endif
