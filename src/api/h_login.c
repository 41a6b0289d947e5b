/* Console login: a user name and password (Argon2id, checked in constant time) open a session
 * kept in the store; the answer sets an HttpOnly, SameSite=Strict cookie and gives the CSRF
 * token that state-changing requests must echo in X-CSRF-Token. Logout ends the session. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/auth.h"
#include "api/body.h"
#include "api/handlers.h"
#include "api/login_guard.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"

static int session_insert_fn(struct store *s, void *arg)
{
	return store_session_insert(s, arg);
}

/* 429 while name or the caller's address must wait after failed attempts. */
static int check_throttle(struct api_req *r, const char *name)
{
	int wait = login_guard_wait_s(name, r->remote);
	if (!wait)
		return 0;
	r->retry_after_s = wait;
	return api_error(r, AE_RATELIMIT,
			 "too many failed logins for this user or from this address: try again "
			 "in %d s",
			 wait);
}

/* The password check: the same Argon2id work whether the user exists or not. */
static int check_password(struct api_req *r, const char *name, const char *password,
			  struct user *ret)
{
	if (!login_guard_hash_begin()) {
		r->retry_after_s = 1;
		return api_error(r, AE_RATELIMIT,
				 "%d logins are being checked already: try again in a moment",
				 LOGIN_HASHES_MAX);
	}
	struct store *s = api_reader(r);
	int rc = store_user_find(s, name, ret);
	api_reader_put(s);
	const char *stored = rc == 0 && ret->roles ? ret->password_hash : NULL;
	bool ok = login_guard_verify(stored, password);
	login_guard_hash_end();
	login_guard_record(name, r->remote, ok);
	if (ok)
		return 0;
	if (rc == 0)
		user_done(ret);
	return api_error(r, AE_UNAUTH, "wrong user name or password");
}

static int open_session(struct api_req *r, const struct user *u, char csrf[65])
{
	char cookie[72], hash[65];
	unsigned char raw[32];
	auth_new_token(cookie, hash);
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), csrf);
	int64_t now = clock_now_ms();
	struct session se = {.hash = hash,
			     .user_id = u->id,
			     .csrf = csrf,
			     .created_on = now,
			     .expires_on = now + AUTH_SESSION_TTL_MS};
	int rc = writer_call(r->api->w, session_insert_fn, &se);
	if (rc < 0)
		return api_error(r, rc, "cannot open a session: %s", asyncd_strerror(rc));
	if (asprintf(&r->set_cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld",
		     AUTH_SESSION_COOKIE, cookie, AUTH_SESSION_TTL_MS / 1000) < 0)
		r->set_cookie = NULL;
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

int h_login(struct api_req *r)
{
	json_t *body;
	struct user u;
	char csrf[65];
	int rc = api_body(r, BODY_LOGIN, &body);
	if (rc < 0)
		return rc;
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *pw = json_string_value(json_object_get(body, "password"));
	snprintf(r->user, sizeof(r->user), "%s", name ? name : "?");
	if (!name || !pw || strlen(pw) > 256)
		rc = api_error(r, AE_INVAL, "send {\"name\": ..., \"password\": ...}");
	if (rc == 0)
		rc = check_throttle(r, name);
	if (rc == 0)
		rc = check_password(r, name, pw, &u);
	if (rc == 0) {
		rc = open_session(r, &u, csrf);
		if (rc == 0)
			api_reply(r, 200,
				  json_pack("{s:s,s:o,s:s}", "user", u.name, "roles",
					    auth_roles_json(u.roles), "csrf_token", csrf));
		user_done(&u);
	}
	api_audit(r, "user.login", r->user, rc < 0 ? "refused" : "ok", NULL);
	json_decref(body);
	return rc;
}

static int session_delete_fn(struct store *s, void *arg)
{
	return store_session_delete(s, arg);
}

int h_logout(struct api_req *r)
{
	char hash[65];
	const char *cookie =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_SESSION_COOKIE);
	if (cookie && strlen(cookie) < 256) {
		auth_hash_token(cookie, hash);
		writer_call(r->api->w, session_delete_fn, hash);
	}
	r->set_cookie = strdup(AUTH_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; "
						   "Max-Age=0");
	return api_reply(r, 204, NULL);
}

int h_whoami(struct api_req *r)
{
	return api_reply(r, 200,
			 json_pack("{s:I,s:s,s:o}", "id", (json_int_t)r->user_id, "name", r->user,
				   "roles", auth_roles_json(r->roles)));
}
