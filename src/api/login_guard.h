/* What keeps console logins from being a lever against the host: at most LOGIN_HASHES_MAX
 * password hashes (64 MiB and ~0.1-0.3 s of CPU each) at once, a growing delay after repeated
 * failures per user name and per client address (answered 429 with Retry-After), and the same
 * hashing work for an unknown user as for a known one, so that timing does not tell which names
 * exist. It stores nothing: counters live in memory, per host. */
#ifndef ASYNCD_LOGIN_GUARD_H
#define ASYNCD_LOGIN_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#define LOGIN_HASHES_MAX 2	  /* password hashes computed at once */
#define LOGIN_FREE_FAILURES 5	  /* failures before the delays start */
#define LOGIN_MAX_DELAY_S 900	  /* the longest delay */
#define LOGIN_FORGET_AFTER_S 3600 /* failures older than this are forgotten */

/* 0 when user may try from address now; else the seconds to wait (> 0). */
int login_guard_wait_s(const char *user, const char *address);
/* Take one of the hashing slots; false when all are in use. */
bool login_guard_hash_begin(void);
void login_guard_hash_end(void);
/* Check password against stored_hash (crypto_pwhash_str format); for an unknown user (NULL) a
 * dummy hash of the same cost is checked, and the answer is false. */
bool login_guard_verify(const char *stored_hash, const char *password);
/* Record the outcome of an attempt. */
void login_guard_record(const char *user, const char *address, bool ok);

#endif
