/* Whether the worker is built with AddressSanitizer, which reserves terabytes of address space
 * (so RLIMIT_AS cannot apply) and brings its own malloc (so oom.c must not interpose one). */
#ifndef ASYNCD_WORKER_SANITIZER_H
#define ASYNCD_WORKER_SANITIZER_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define WORKER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define WORKER_ASAN 1
#endif

#endif
