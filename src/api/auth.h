/* Authentication: API tokens (only their SHA-256 is stored), the caller's roles, and the first
 * start's System Administrator token written to STATE/admin.token (0600). Which role an endpoint
 * needs is the router's table, not this module's. */
#ifndef ASYNCD_AUTH_H
#define ASYNCD_AUTH_H

#include "api/api.h"

#define AUTH_SESSION_COOKIE "asyncd_session"
#define AUTH_ADMIN_GROUP "asyncd-admin"
#define AUTH_SESSION_TTL_MS (12LL * 3600 * 1000)

/* Fill r->user, r->user_id and r->roles from the bearer token; AE_UNAUTH (answered) if none. */
int auth_request(struct api_req *r);
/* Create the administrator and its token on first start. */
int auth_bootstrap(struct writer *w, struct store *reader, const char *state_dir, char *err,
		   size_t errlen);
/* A new random token (asyncd_ + 64 hex digits) and its hash. */
void auth_new_token(char token[72], char hash[65]);
void auth_hash_token(const char *token, char hash[65]);
/* Forget the tokens remembered for speed (after a revocation or a user's removal). */
void auth_forget_tokens(void);
/* Names of roles, and the bit of a name (0 when unknown). */
const char *auth_role_name(unsigned role_bit);
unsigned auth_role_bit(const char *name);
/* The names of the roles of mask as a JSON array (as login, whoami and the users list show them).
 */
json_t *auth_roles_json(unsigned mask);
/* "System Administrator or Operator" for a mask, into buf. */
void auth_roles_text(unsigned mask, char *buf, size_t n);

#endif
