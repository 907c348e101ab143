#pragma once
// FUZZ_CHECK: an invariant of the code under test, checked on every input. A failure is a defect
// like a crash (the fuzzer keeps the input), so it aborts instead of returning.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
