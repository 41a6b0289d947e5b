/* The roles of SPEC §6 as bits: what a user may do. The store keeps a user's set as a number; the
 * API's route table and auth decide with it. */
#ifndef ASYNCD_ROLES_H
#define ASYNCD_ROLES_H

enum role {
	ROLE_SYSADMIN = 1u << 0,
	ROLE_OPERATOR = 1u << 1,
	ROLE_SUBMITTER = 1u << 2,
	ROLE_READER = 1u << 3,
};
#define ROLE_ANY (ROLE_SYSADMIN | ROLE_OPERATOR | ROLE_SUBMITTER | ROLE_READER)

#endif
