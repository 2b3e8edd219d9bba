// Per-thread object counters (see CEmberKernels.h): each thread writes only its own block, with
// relaxed loads and stores (plain moves on x86 and arm64, no locked read-modify-write); a reader
// sums every registered block under the registry's lock, plus what exited threads left behind.
#include <pthread.h>
#include <stdlib.h>

#include "CEmberKernels.h"

typedef struct ember_count_block {
  int64_t values[EMBER_COUNT_KINDS];
  struct ember_count_block *next;
  struct ember_count_block *prev;
} ember_count_block;

_Thread_local int64_t *ember_counts_tls_values = NULL;
static pthread_mutex_t ember_counts_lock = PTHREAD_MUTEX_INITIALIZER;
static ember_count_block *ember_counts_head = NULL;
// counts of threads that have exited (their blocks are gone)
static int64_t ember_counts_retired[EMBER_COUNT_KINDS];
static pthread_key_t ember_counts_key;
static pthread_once_t ember_counts_once = PTHREAD_ONCE_INIT;

static void ember_counts_thread_exit(void *p) {
  ember_count_block *b = p;
  pthread_mutex_lock(&ember_counts_lock);
  for (int k = 0; k < EMBER_COUNT_KINDS; k++) ember_counts_retired[k] += b->values[k];
  if (b->prev) b->prev->next = b->next; else ember_counts_head = b->next;
  if (b->next) b->next->prev = b->prev;
  pthread_mutex_unlock(&ember_counts_lock);
  ember_counts_tls_values = NULL;
  free(b);
}

static void ember_counts_make_key(void) {
  pthread_key_create(&ember_counts_key, ember_counts_thread_exit);
}

int64_t *ember_counts_register(void) {
  pthread_once(&ember_counts_once, ember_counts_make_key);
  ember_count_block *b = calloc(1, sizeof(ember_count_block));
  if (!b) abort();
  pthread_mutex_lock(&ember_counts_lock);
  b->next = ember_counts_head;
  if (ember_counts_head) ember_counts_head->prev = b;
  ember_counts_head = b;
  pthread_mutex_unlock(&ember_counts_lock);
  pthread_setspecific(ember_counts_key, b);
  ember_counts_tls_values = b->values;
  return b->values;
}

int64_t ember_count_total(int kind) {
  pthread_mutex_lock(&ember_counts_lock);
  int64_t sum = ember_counts_retired[kind];
  for (ember_count_block *b = ember_counts_head; b; b = b->next) {
    sum += __atomic_load_n(&b->values[kind], __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&ember_counts_lock);
  return sum;
}
