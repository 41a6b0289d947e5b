/* Bearer tokens: hashing, lookup, and the bootstrap of the first administrator. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"

static const struct {
	unsigned bit;
	const char *name;
} role_names[] = {
    {ROLE_SYSADMIN, "System Administrator"},
    {ROLE_OPERATOR, "Operator"},
    {ROLE_SUBMITTER, "Submitter"},
    {ROLE_READER, "Reader"},
};

const char *auth_role_name(unsigned role_bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (role_names[i].bit == role_bit)
			return role_names[i].name;
	return "unknown";
}

json_t *auth_roles_json(unsigned mask)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ARRAY_SIZE(role_names); i++)
		if (mask & role_names[i].bit)
			json_array_append_new(a, json_string(role_names[i].name));
	return a;
}

unsigned auth_role_bit(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(role_names); i++)
		if (!strcasecmp(role_names[i].name, name))
			return role_names[i].bit;
	return 0;
}

void auth_roles_text(unsigned mask, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (mask & role_names[i].bit)
			used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s",
						 used ? " or " : "", role_names[i].name);
}

void auth_hash_token(const char *token, char hash[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
	hex_encode(d, sizeof(d), hash);
}

void auth_new_token(char token[72], char hash[65])
{
	unsigned char b[32];
	randombytes_buf(b, sizeof(b));
	memcpy(token, "asyncd_", 7);
	hex_encode(b, sizeof(b), token + 7);
	auth_hash_token(token, hash);
}

static const char *bearer(struct api_req *r)
{
	const char *h =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h && strlen(h) < 256 ? h : NULL;
}

static int lookup(struct store *s, const char *hash, struct api_req *r)
{
	struct token t;
	struct user u;
	int rc = store_token_find(s, hash, &t);
	if (rc < 0)
		return rc;
	bool revoked = t.revoked_on != 0;
	int64_t uid = t.user_id;
	token_done(&t);
	if (revoked)
		return AE_NOTFOUND;
	if ((rc = store_user_get(s, uid, &u)) < 0)
		return rc;
	r->user_id = u.id;
	snprintf(r->user, sizeof(r->user), "%s", u.name);
	r->roles = u.roles;
	user_done(&u);
	return 0;
}

/* Tokens seen in the last moments, so that a busy client does not cost a store lookup per
 * request. A revocation or a user's removal on this host clears it at once; another host's
 * takes effect here within TOKEN_CACHE_TTL_MS. */
#define TOKEN_CACHE_SLOTS 64
#define TOKEN_CACHE_TTL_MS 2000

struct cached_token {
	char hash[65];
	int64_t user_id;
	char user[128];
	unsigned roles;
	int64_t until; /* monotonic ms */
};

static struct cached_token token_cache[TOKEN_CACHE_SLOTS];
static pthread_mutex_t token_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cached_token *cache_slot(const char *hash)
{
	unsigned h = 0;
	for (int i = 0; i < 8 && hash[i]; i++)
		h = h * 31 + (unsigned char)hash[i];
	return &token_cache[h % TOKEN_CACHE_SLOTS];
}

static bool cache_get(const char *hash, struct api_req *r)
{
	bool hit = false;
	pthread_mutex_lock(&token_cache_lock);
	struct cached_token *c = cache_slot(hash);
	if (!strcmp(c->hash, hash) && c->until > clock_mono_ms()) {
		r->user_id = c->user_id;
		memcpy(r->user, c->user, sizeof(r->user));
		r->roles = c->roles;
		hit = true;
	}
	pthread_mutex_unlock(&token_cache_lock);
	return hit;
}

static void cache_put(const char *hash, const struct api_req *r)
{
	pthread_mutex_lock(&token_cache_lock);
	struct cached_token *c = cache_slot(hash);
	memcpy(c->hash, hash, sizeof(c->hash));
	c->user_id = r->user_id;
	memcpy(c->user, r->user, sizeof(c->user));
	c->roles = r->roles;
	c->until = clock_mono_ms() + TOKEN_CACHE_TTL_MS;
	pthread_mutex_unlock(&token_cache_lock);
}

void auth_forget_tokens(void)
{
	pthread_mutex_lock(&token_cache_lock);
	memset(token_cache, 0, sizeof(token_cache));
	pthread_mutex_unlock(&token_cache_lock);
}

static int fill_user(struct store *s, int64_t uid, struct api_req *r)
{
	struct user u;
	int rc = store_user_get(s, uid, &u);
	if (rc < 0)
		return rc;
	r->user_id = u.id;
	snprintf(r->user, sizeof(r->user), "%s", u.name);
	r->roles = u.roles;
	user_done(&u);
	return 0;
}

/* A console session from the cookie; state-changing requests must echo its CSRF token. */
static int session_auth(struct api_req *r, const char *cookie)
{
	char hash[65];
	struct session se = {0};
	auth_hash_token(cookie, hash);
	struct store *s = api_auth_reader();
	int rc = store_session_find(s, hash, clock_now_ms(), &se);
	if (rc == 0)
		rc = fill_user(s, se.user_id, r);
	api_auth_reader_put(s);
	if (rc == AE_NOTFOUND)
		return api_error(r, AE_UNAUTH, "the session has expired: log in again");
	if (rc < 0)
		return api_error(r, rc, "cannot check the session: %s", asyncd_strerror(rc));
	const char *sent = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	bool safe = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	bool csrf_ok = sent && strlen(sent) == strlen(se.csrf) &&
		       sodium_memcmp(sent, se.csrf, strlen(se.csrf)) == 0;
	session_done(&se);
	if (!safe && !csrf_ok)
		return api_error(r, AE_FORBIDDEN,
				 "send the session's CSRF token in the X-CSRF-Token header");
	return 0;
}

/* Whether the local user uid is root or a member of the group asyncd-admin. */
static bool local_admin(uid_t uid, gid_t gid, char *name, size_t n)
{
	struct passwd pw, *p = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = 256;
	snprintf(name, n, "uid %u", (unsigned)uid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &p) == 0 && p)
		snprintf(name, n, "%s", p->pw_name);
	if (uid == 0)
		return true;
	struct group gr, *g = NULL;
	char gbuf[8192];
	if (getgrnam_r(AUTH_ADMIN_GROUP, &gr, gbuf, sizeof(gbuf), &g) != 0 || !g || !p)
		return false;
	if (gid == g->gr_gid)
		return true;
	if (getgrouplist(p->pw_name, p->pw_gid, groups, &ng) < 0)
		return false;
	for (int i = 0; i < ng; i++)
		if (groups[i] == g->gr_gid)
			return true;
	return false;
}

/* A caller on the Unix socket without a token: known by its peer credentials. */
static int peer_auth(struct api_req *r)
{
	char name[64];
	if (!local_admin((uid_t)r->peer_uid, (gid_t)r->peer_gid, name, sizeof(name)))
		return api_error(r, AE_UNAUTH,
				 "local user %s is neither root nor in the group %s: use an API "
				 "token",
				 name, AUTH_ADMIN_GROUP);
	snprintf(r->user, sizeof(r->user), "unix:%s", name);
	r->user_id = 0;
	r->roles = ROLE_SYSADMIN;
	return 0;
}

int auth_request(struct api_req *r)
{
	char hash[65];
	const char *tok = bearer(r);
	if (!tok && r->via_unix)
		return peer_auth(r);
	const char *cookie =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_SESSION_COOKIE);
	if (!tok && cookie && strlen(cookie) < 256)
		return session_auth(r, cookie);
	if (!tok)
		return api_error(r, AE_UNAUTH,
				 "send an API token as 'Authorization: Bearer TOKEN' (the first "
				 "administrator's token is in STATE/admin.token)");
	auth_hash_token(tok, hash);
	int rc = 0;
	if (!cache_get(hash, r)) {
		struct store *s = api_auth_reader();
		rc = lookup(s, hash, r);
		api_auth_reader_put(s);
		if (rc == 0)
			cache_put(hash, r);
	}
	if (rc == AE_NOTFOUND)
		return api_error(r, AE_UNAUTH, "the API token is unknown or revoked");
	if (rc < 0)
		return api_error(r, rc, "cannot check the API token: %s", asyncd_strerror(rc));
	if (!r->roles)
		return api_error(r, AE_UNAUTH, "user %s has no roles any more", r->user);
	return 0;
}

struct bootstrap {
	struct user u;
	struct token t;
	bool created;
};

static int bootstrap_fn(struct store *s, void *arg)
{
	struct bootstrap *b = arg;
	struct user existing;
	if (store_user_find(s, "admin", &existing) == 0) {
		user_done(&existing);
		return 0;
	}
	int rc = store_user_insert(s, &b->u);
	if (rc < 0)
		return rc;
	b->t.user_id = b->u.id;
	rc = store_token_insert(s, &b->t);
	b->created = rc == 0;
	return rc;
}

static int write_token_file(const char *state_dir, const char *token, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return AE_IO;
	}
	size_t n = strlen(token);
	bool ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return AE_IO;
	}
	return 0;
}

static void forget_token_file(const char *state_dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	unlink(path);
}

int auth_bootstrap(struct writer *w, struct store *reader, const char *state_dir, char *err,
		   size_t errlen)
{
	char token[72], hash[65];
	struct user existing;
	if (store_user_find(reader, "admin", &existing) == 0) {
		user_done(&existing);
		return 0;
	}
	auth_new_token(token, hash);
	struct bootstrap b = {
	    .u = {.name = "admin", .roles = ROLE_SYSADMIN, .created_on = clock_now_ms()},
	    .t = {.name = "bootstrap", .hash = hash, .created_on = clock_now_ms()},
	};
	/* the file first: a token that is stored but was never written would lock the admin out */
	int rc = write_token_file(state_dir, token, err, errlen);
	if (rc == 0)
		rc = writer_call(w, bootstrap_fn, &b);
	if (rc == AE_EXISTS) {
		/* another host sharing the store made the administrator first: its token is the one
		 */
		forget_token_file(state_dir);
		rc = 0;
	} else if (rc < 0) {
		snprintf(err, errlen, "cannot store the administrator: %s", asyncd_strerror(rc));
	}
	sodium_memzero(token, sizeof(token));
	return rc;
}
