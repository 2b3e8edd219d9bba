#include "CEmberKernels.h"

// Swift's Synchronization.Mutex is built on futexes on Linux, which ThreadSanitizer does not
// model, so accesses it serializes look like races. Under TSan these calls tell it that the
// lock was taken and released (happens-before edges on `addr`); otherwise they do nothing.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EMBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define EMBER_TSAN 1
#endif

#ifdef EMBER_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void ember_lock_acquired(void *addr) { __tsan_acquire(addr); }
void ember_lock_releasing(void *addr) { __tsan_release(addr); }
#else
void ember_lock_acquired(void *addr) { (void)addr; }
void ember_lock_releasing(void *addr) { (void)addr; }
#endif
