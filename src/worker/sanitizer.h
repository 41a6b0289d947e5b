/* Whether the worker is built with AddressSanitizer or ThreadSanitizer, which reserve terabytes of
 * address space (so RLIMIT_AS cannot apply) and bring their own malloc (so oom.c must not
 * interpose one). WORKER_ASAN names both. */
#ifndef ASYNCD_WORKER_SANITIZER_H
#define ASYNCD_WORKER_SANITIZER_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) /* clang */
#define WORKER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) /* gcc */
#define WORKER_ASAN 1
#endif

#endif
