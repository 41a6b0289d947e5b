/* The route table: method, path pattern, the roles allowed, the body limit and the handler; and
 * the two steps of a request: authorization on its headers, then its handler. */
#ifndef ASYNCD_ROUTER_H
#define ASYNCD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

struct route;

/* The route for method and path, filling r->params; NULL when none. Sets *ret_path_known when
 * the path exists with another method (405 rather than 404). */
const struct route *router_match(struct api_req *r, bool *ret_path_known);
/* The most bytes of body the route accepts. */
size_t router_max_body(const struct route *rt);
/* Authenticate the caller from the request's headers and check the route's roles; on refusal the
 * answer (401/403) is set and the attempt audited. Never waits for a commit: it is called on an
 * HTTP I/O thread, before any byte of the body is accepted. */
int router_authorize(const struct route *rt, struct api_req *r);
/* Whether a body (has_body) may come with the request's Content-Type; if not, the answer is a
 * 415 naming the types the route takes. */
bool router_body_type_ok(const struct route *rt, struct api_req *r, bool has_body);
/* Begin an authorized request with its whole body on the I/O thread, for the routes that can
 * answer without a thread waiting for them (a single event: the answer is set when its commit is
 * done); API_BLOCKING for the others. */
enum api_start router_start(const struct route *rt, struct api_req *r);
/* The routes' table for metrics: how many, the index of rt (-1 for NULL), and the method and
 * pattern of route i (the pattern as written: "*" for a parameter). */
int router_count(void);
int router_index(const struct route *rt);
void router_describe(int i, const char **ret_method, const char **ret_pattern);
/* Run the route's handler (an authorized request with its whole body); may wait. */
void router_dispatch(const struct route *rt, struct api_req *r);

#endif
