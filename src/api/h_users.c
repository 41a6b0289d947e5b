/* Users and API tokens (System Administrator only): create and list users with their roles
 * (passwords hashed with Argon2id), take a user's access away, create tokens (shown once, stored
 * as SHA-256) and revoke them. Every change is audited. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/body.h"
#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "plugin/loader.h"
#include "store/store.h"

#define PASSWORD_MIN 12
#define PASSWORD_MAX 256

int h_users_list(struct api_req *r)
{
	struct user *v;
	size_t n;
	struct store *s = api_reader(r);
	int rc = store_users_list(s, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list users: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:o,s:o}", "id", (json_int_t)v[i].id,
						   "name", v[i].name, "roles",
						   auth_roles_json(v[i].roles), "created_on",
						   time_json(v[i].created_on)));
	users_free(v, n);
	return api_reply(r, 200, json_pack("{s:o}", "users", a));
}

static int parse_roles(struct api_req *r, json_t *roles, unsigned *ret)
{
	size_t i;
	json_t *x;
	*ret = 0;
	if (!json_is_array(roles) || json_array_size(roles) == 0)
		return api_error(r, AE_INVAL,
				 "roles must be a non-empty array of \"System "
				 "Administrator\", \"Operator\", \"Submitter\" or \"Reader\"");
	json_array_foreach(roles, i, x)
	{
		unsigned bit = auth_role_bit(json_string_value(x));
		if (!bit)
			return api_error(r, AE_INVAL,
					 "unknown role '%s': use System Administrator, Operator, "
					 "Submitter or Reader",
					 json_string_value(x) ? json_string_value(x) : "?");
		*ret |= bit;
	}
	return 0;
}

static int hash_password(struct api_req *r, json_t *pw, char **ret)
{
	const char *p = json_string_value(pw);
	char hash[crypto_pwhash_STRBYTES];
	*ret = NULL;
	if (!pw || json_is_null(pw))
		return 0;
	if (!p || strlen(p) < PASSWORD_MIN || strlen(p) > PASSWORD_MAX)
		return api_error(r, AE_INVAL, "password must be %d to %d characters", PASSWORD_MIN,
				 PASSWORD_MAX);
	if (crypto_pwhash_str(hash, p, strlen(p), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return api_error(r, AE_NOMEM, "cannot hash the password: out of memory");
	*ret = strdup(hash);
	return *ret ? 0 : AE_NOMEM;
}

static int user_insert_fn(struct store *s, void *arg)
{
	return store_user_insert(s, arg);
}

int h_users_create(struct api_req *r)
{
	json_t *body;
	struct user u = {.created_on = clock_now_ms()};
	int rc = api_body(r, BODY_USER, &body);
	if (rc < 0)
		return rc;
	const char *name = json_string_value(json_object_get(body, "name"));
	if (!name || !plugin_name_valid(name))
		rc = api_field_error(r, body, "name", "1 to 64 letters, digits, '_' or '-'");
	if (rc == 0)
		rc = parse_roles(r, json_object_get(body, "roles"), &u.roles);
	if (rc == 0)
		rc = hash_password(r, json_object_get(body, "password"), &u.password_hash);
	u.name = (char *)name;
	if (rc == 0 && (rc = writer_call(r->api->w, user_insert_fn, &u)) < 0)
		api_error(r, rc,
			  rc == AE_EXISTS ? "a user named %s exists already"
					  : "cannot store the user %s",
			  name);
	api_audit(r, "user.create", name ? name : "?", rc < 0 ? "refused" : "ok", NULL);
	if (rc == 0)
		api_reply(r, 201, json_pack("{s:I}", "id", (json_int_t)u.id));
	free(u.password_hash);
	json_decref(body);
	return rc;
}

struct delete_call {
	int64_t id;
};

static int user_delete_fn(struct store *s, void *arg)
{
	struct delete_call *c = arg;
	return store_user_delete(s, c->id);
}

int h_user_delete(struct api_req *r)
{
	struct delete_call c;
	char target[48];
	int rc = api_param_id(r, 0, &c.id);
	if (rc < 0)
		return rc;
	if (c.id == r->user_id)
		rc = api_error(r, AE_CONFLICT, "you cannot remove your own access");
	else if ((rc = writer_call(r->api->w, user_delete_fn, &c)) == 0)
		auth_forget_tokens();
	else
		api_error(r, rc, "cannot remove user %lld: %s", (long long)c.id,
			  rc == AE_NOTFOUND ? "no such user" : asyncd_strerror(rc));
	snprintf(target, sizeof(target), "user %lld", (long long)c.id);
	api_audit(r, "user.delete", target, rc < 0 ? "refused" : "ok", NULL);
	return rc < 0 ? rc : api_reply(r, 204, NULL);
}

/* ---- tokens ---- */

struct token_call {
	const char *user;
	struct token t;
};

static int token_create_fn(struct store *s, void *arg)
{
	struct token_call *c = arg;
	struct user u;
	int rc = store_user_find(s, c->user, &u);
	if (rc < 0)
		return rc;
	c->t.user_id = u.id;
	bool no_roles = u.roles == 0;
	user_done(&u);
	return no_roles ? AE_CONFLICT : store_token_insert(s, &c->t);
}

int h_tokens_create(struct api_req *r)
{
	json_t *body;
	char token[72], hash[65];
	int rc = api_body(r, BODY_TOKEN, &body);
	if (rc < 0)
		return rc;
	struct token_call c = {.user = json_string_value(json_object_get(body, "user"))};
	const char *name = json_string_value(json_object_get(body, "name"));
	auth_new_token(token, hash);
	c.t = (struct token){.name = (char *)name, .hash = hash, .created_on = clock_now_ms()};
	if (!c.user)
		rc = api_field_error(r, body, "user", "the name of an existing user");
	else if (name && strlen(name) > 128)
		rc = api_error(r, AE_INVAL, "name may be at most 128 bytes");
	else if ((rc = writer_call(r->api->w, token_create_fn, &c)) < 0)
		api_error(r, rc,
			  rc == AE_NOTFOUND   ? "no user named %s"
			  : rc == AE_CONFLICT ? "user %s has no roles left"
					      : "cannot create a token for %s",
			  c.user);
	api_audit(r, "token.create", c.user ? c.user : "?", rc < 0 ? "refused" : "ok", name);
	if (rc == 0)
		api_reply(r, 201, json_pack("{s:I,s:s}", "id", (json_int_t)c.t.id, "token", token));
	sodium_memzero(token, sizeof(token));
	json_decref(body);
	return rc;
}

int h_tokens_list(struct api_req *r)
{
	struct token *v;
	size_t n;
	struct store *s = api_reader(r);
	int rc = store_tokens_list(s, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list tokens: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a,
				      json_pack("{s:I,s:I,s:s?,s:o,s:o}", "id", (json_int_t)v[i].id,
						"user_id", (json_int_t)v[i].user_id, "name",
						v[i].name, "created_on", time_json(v[i].created_on),
						"revoked_on", time_json(v[i].revoked_on)));
	tokens_free(v, n);
	return api_reply(r, 200, json_pack("{s:o}", "tokens", a));
}

static int token_revoke_fn(struct store *s, void *arg)
{
	struct delete_call *c = arg;
	return store_token_revoke(s, c->id, clock_now_ms());
}

int h_token_revoke(struct api_req *r)
{
	struct delete_call c;
	char target[48];
	int rc = api_param_id(r, 0, &c.id);
	if (rc < 0)
		return rc;
	if ((rc = writer_call(r->api->w, token_revoke_fn, &c)) == 0)
		auth_forget_tokens();
	else
		api_error(r, rc, "cannot revoke token %lld: %s", (long long)c.id,
			  rc == AE_NOTFOUND ? "no such token, or already revoked"
					    : asyncd_strerror(rc));
	snprintf(target, sizeof(target), "token %lld", (long long)c.id);
	api_audit(r, "token.revoke", target, rc < 0 ? "refused" : "ok", NULL);
	return rc < 0 ? rc : api_reply(r, 204, NULL);
}
