/* The route table: method, path pattern, the roles allowed, the body limit and the handler; and
 * dispatch of a request through authentication and the role check to its handler. */
#ifndef ASYNCD_ROUTER_H
#define ASYNCD_ROUTER_H

#include <stddef.h>

#include "api/api.h"

struct route;

/* The route for method and path, filling r->params; NULL when none. Sets *ret_path_known when
 * the path exists with another method (405 rather than 404). */
const struct route *router_match(struct api_req *r, bool *ret_path_known);
/* The most bytes of body the route accepts. */
size_t router_max_body(const struct route *rt);
/* Authenticate, check the role, run the handler. */
void router_dispatch(const struct route *rt, struct api_req *r);

#endif
