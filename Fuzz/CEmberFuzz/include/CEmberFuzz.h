#ifndef CEMBERFUZZ_H
#define CEMBERFUZZ_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (present only in binaries linked with -sanitize=fuzzer): the fuzz
/// executables' main calls it, since SwiftPM gives every executable a Swift main of its own.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
