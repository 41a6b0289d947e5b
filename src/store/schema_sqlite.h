/* The SQLite schema as an ordered list of migrations: migration i brings the database from
 * version i to i + 1. Append only; never edit a migration that has shipped. */
#ifndef ASYNCD_SCHEMA_SQLITE_H
#define ASYNCD_SCHEMA_SQLITE_H

/* Every column of jobs after migration 4, for the copy of migration 5. */
#define SQ_MIG5_COLUMNS                                                                            \
	"id, name, operation_type, state, status, message_name, primary_entity, regarding_id,"     \
	" step_id, assembly_id, plugin_type, data, depth, correlation_id, request_id,"             \
	" dependency_token, priority, postpone_until, retry_count, max_retries, error_code,"       \
	" message, friendly_message, host_id, attempt, lease_expires_on, created_on, started_on,"  \
	" completed_on, modified_on, execution_time_ms, recurrence_pattern,"                       \
	" recurrence_start_time, owner, idempotency_key, trace, output, auto_delete, host_crashes"

static const char *const sqlite_migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " operation_type INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " message_name TEXT, primary_entity TEXT, regarding_id TEXT,"
    " step_id INTEGER, assembly_id INTEGER,"
    " plugin_type TEXT NOT NULL,"
    " data TEXT,"
    " depth INTEGER NOT NULL DEFAULT 1,"
    " correlation_id TEXT, request_id TEXT, dependency_token TEXT,"
    " priority INTEGER NOT NULL DEFAULT 5,"
    " postpone_until INTEGER,"
    " retry_count INTEGER NOT NULL DEFAULT 0,"
    " max_retries INTEGER NOT NULL,"
    " error_code TEXT, message TEXT, friendly_message TEXT,"
    " host_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, lease_expires_on INTEGER,"
    " created_on INTEGER NOT NULL, started_on INTEGER, completed_on INTEGER,"
    " modified_on INTEGER NOT NULL, execution_time_ms INTEGER,"
    " recurrence_pattern TEXT, recurrence_start_time INTEGER,"
    " owner TEXT, idempotency_key TEXT,"
    " trace TEXT, output TEXT,"
    " auto_delete INTEGER NOT NULL DEFAULT 0);"
    /* the claim's index: only Ready rows, so finished rows never slow it down */
    "CREATE INDEX jobs_ready ON jobs(priority, id) WHERE state = 0;"
    /* Suspended and Locked rows (Ready ones are in jobs_ready): a job's row enters and leaves
     * few indexes on its way, which is most of what a job costs */
    "CREATE INDEX jobs_active ON jobs(state, id) WHERE state IN (1, 2);"
    "CREATE INDEX jobs_postponed ON jobs(postpone_until) WHERE state = 1"
    " AND postpone_until IS NOT NULL;"
    "CREATE INDEX jobs_token ON jobs(dependency_token, id) WHERE state < 3"
    " AND dependency_token IS NOT NULL;"
    "CREATE INDEX jobs_completed ON jobs(status, id) WHERE state = 3;"
    "CREATE UNIQUE INDEX jobs_idempotency ON jobs(idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"
    "CREATE TABLE assemblies("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL, description "
    "TEXT,"
    " isolation INTEGER NOT NULL, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
    " bytes BLOB NOT NULL, created_on INTEGER NOT NULL, modified_on INTEGER NOT NULL);"
    "CREATE TABLE plugin_types("
    " id INTEGER PRIMARY KEY,"
    " assembly_id INTEGER NOT NULL REFERENCES assemblies(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, UNIQUE(assembly_id, name));"
    "CREATE TABLE steps("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, plugin_type TEXT NOT NULL,"
    " assembly_id INTEGER NOT NULL REFERENCES assemblies(id), message TEXT NOT NULL,"
    " entity TEXT, stage INTEGER NOT NULL DEFAULT 40, rank INTEGER NOT NULL DEFAULT 1,"
    " filtering_attributes TEXT, configuration TEXT, secure_configuration TEXT,"
    " impersonating_user TEXT, images TEXT, async_auto_delete INTEGER NOT NULL DEFAULT 0,"
    " enabled INTEGER NOT NULL DEFAULT 1, created_on INTEGER NOT NULL,"
    " modified_on INTEGER NOT NULL);"
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, roles INTEGER NOT NULL,"
    " password_hash TEXT, created_on INTEGER NOT NULL);"
    "CREATE TABLE tokens("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users(id), name "
    "TEXT,"
    " hash TEXT NOT NULL UNIQUE, created_on INTEGER NOT NULL, revoked_on INTEGER);"
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, user TEXT, remote TEXT,"
    " action TEXT NOT NULL, target TEXT, result TEXT NOT NULL, detail TEXT);"
    "CREATE TABLE hosts(id TEXT PRIMARY KEY, heartbeat_on INTEGER NOT NULL);",
    /* 2: services' startup types, console sessions */
    "CREATE TABLE services("
    " host_id TEXT NOT NULL, name TEXT NOT NULL, startup_type INTEGER NOT NULL,"
    " recovery_delay_s INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(host_id, name));"
    "CREATE TABLE sessions("
    " hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " csrf TEXT NOT NULL, created_on INTEGER NOT NULL, expires_on INTEGER NOT NULL);"
    "CREATE INDEX audit_at ON audit(at);",
    /* 3: safe deletes of steps and assemblies */
    "ALTER TABLE steps ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE assemblies ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;",
    /* 4: how many times a job was running in-process when its host died (docs/engine.md) */
    "ALTER TABLE jobs ADD COLUMN host_crashes INTEGER NOT NULL DEFAULT 0;",
    /* 5: job ids are never reused (SPEC 1), not after deletes, cleanup, restarts or VACUUM:
     * SQLite cannot add AUTOINCREMENT to a table, so the table is rebuilt with the same columns
     * and every index of migration 1 is made again. sqlite_sequence starts at the highest id
     * left; ids deleted above it before this migration cannot be known any more. */
    "CREATE TABLE jobs_new("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL,"
    " operation_type INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " message_name TEXT, primary_entity TEXT, regarding_id TEXT,"
    " step_id INTEGER, assembly_id INTEGER,"
    " plugin_type TEXT NOT NULL,"
    " data TEXT,"
    " depth INTEGER NOT NULL DEFAULT 1,"
    " correlation_id TEXT, request_id TEXT, dependency_token TEXT,"
    " priority INTEGER NOT NULL DEFAULT 5,"
    " postpone_until INTEGER,"
    " retry_count INTEGER NOT NULL DEFAULT 0,"
    " max_retries INTEGER NOT NULL,"
    " error_code TEXT, message TEXT, friendly_message TEXT,"
    " host_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, lease_expires_on INTEGER,"
    " created_on INTEGER NOT NULL, started_on INTEGER, completed_on INTEGER,"
    " modified_on INTEGER NOT NULL, execution_time_ms INTEGER,"
    " recurrence_pattern TEXT, recurrence_start_time INTEGER,"
    " owner TEXT, idempotency_key TEXT,"
    " trace TEXT, output TEXT,"
    " auto_delete INTEGER NOT NULL DEFAULT 0,"
    " host_crashes INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO jobs_new(" SQ_MIG5_COLUMNS ") SELECT " SQ_MIG5_COLUMNS " FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_new RENAME TO jobs;"
    "CREATE INDEX jobs_ready ON jobs(priority, id) WHERE state = 0;"
    "CREATE INDEX jobs_active ON jobs(state, id) WHERE state IN (1, 2);"
    "CREATE INDEX jobs_postponed ON jobs(postpone_until) WHERE state = 1"
    " AND postpone_until IS NOT NULL;"
    "CREATE INDEX jobs_token ON jobs(dependency_token, id) WHERE state < 3"
    " AND dependency_token IS NOT NULL;"
    "CREATE INDEX jobs_completed ON jobs(status, id) WHERE state = 3;"
    "CREATE UNIQUE INDEX jobs_idempotency ON jobs(idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;",
    /* 6: the history of a job's runs, bounded: slot = attempt % STORE_ATTEMPTS_KEPT, so a job
     * keeps its last runs and each outcome writes one row; gone with its job */
    "CREATE TABLE job_attempts("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " slot INTEGER NOT NULL, attempt INTEGER NOT NULL, host_id TEXT,"
    " started_on INTEGER, ended_on INTEGER NOT NULL, outcome TEXT NOT NULL,"
    " error_code TEXT, message TEXT, trace TEXT,"
    " PRIMARY KEY(job_id, slot)) WITHOUT ROWID;",
    /* 7: a drain may have a deadline, after which what is left is canceled (plugin_deleted) */
    "ALTER TABLE steps ADD COLUMN drain_deadline INTEGER;"
    "ALTER TABLE assemblies ADD COLUMN drain_deadline INTEGER;",
    /* 8: the claim's index also holds the plug-in type, so that /metrics finds the first Ready
     * job of each type from the index alone (a separate (plugin_type, id) index cost 10-15% more
     * CPU per job inserted and claimed; this column costs nothing measurable) */
    "DROP INDEX jobs_ready;"
    "CREATE INDEX jobs_ready ON jobs(priority, id, plugin_type) WHERE state = 0;",
    /* 9: recurring jobs: the IANA zone their pattern is read in (NULL: UTC) */
    "ALTER TABLE jobs ADD COLUMN recurrence_timezone TEXT;",
    /* 10: jobs completed per hour, plug-in type and status, kept by the statistics job of
     * async-maintenance (the console's charts; they outlive the cleanup of the rows) */
    "CREATE TABLE job_stats_hourly(hour INTEGER NOT NULL, plugin_type TEXT NOT NULL,"
    " status INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(hour, plugin_type, status)) WITHOUT ROWID;",
};

#endif
