/* The PostgreSQL schema as an ordered list of migrations: migration i brings the database from
 * version i to i + 1 (asyncd_schema.version records where a database is). Append only; never edit
 * a migration that has shipped. Times are milliseconds since the epoch (BIGINT), as in SQLite;
 * flags are INTEGER 0/1 so that both backends' statements read alike. */
#ifndef ASYNCD_SCHEMA_PG_H
#define ASYNCD_SCHEMA_PG_H

static const char *const pg_migrations[] = {
    /* 1: the schema of SQLite's migration 6, in one step */
    "CREATE TABLE jobs("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " operation_type INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " message_name TEXT, primary_entity TEXT, regarding_id TEXT,"
    " step_id BIGINT, assembly_id BIGINT,"
    " plugin_type TEXT NOT NULL,"
    " data TEXT,"
    " depth INTEGER NOT NULL DEFAULT 1,"
    " correlation_id TEXT, request_id TEXT, dependency_token TEXT,"
    " priority INTEGER NOT NULL DEFAULT 5,"
    " postpone_until BIGINT,"
    " retry_count INTEGER NOT NULL DEFAULT 0,"
    " max_retries INTEGER NOT NULL,"
    " error_code TEXT, message TEXT, friendly_message TEXT,"
    " host_id TEXT, attempt BIGINT NOT NULL DEFAULT 0, lease_expires_on BIGINT,"
    " created_on BIGINT NOT NULL, started_on BIGINT, completed_on BIGINT,"
    " modified_on BIGINT NOT NULL, execution_time_ms BIGINT,"
    " recurrence_pattern TEXT, recurrence_start_time BIGINT,"
    " owner TEXT, idempotency_key TEXT,"
    " trace TEXT, output TEXT,"
    " auto_delete INTEGER NOT NULL DEFAULT 0,"
    " host_crashes INTEGER NOT NULL DEFAULT 0);"
    /* the claim's index covers only Ready rows: finished rows never slow it down */
    "CREATE INDEX jobs_ready ON jobs(priority, id) WHERE state = 0;"
    "CREATE INDEX jobs_active ON jobs(state, id) WHERE state IN (1, 2);"
    "CREATE INDEX jobs_locked_host ON jobs(host_id) WHERE state = 2;"
    "CREATE INDEX jobs_postponed ON jobs(postpone_until) WHERE state = 1"
    " AND postpone_until IS NOT NULL;"
    "CREATE INDEX jobs_token ON jobs(dependency_token, id) WHERE state < 3"
    " AND dependency_token IS NOT NULL;"
    "CREATE INDEX jobs_completed ON jobs(status, id) WHERE state = 3;"
    "CREATE UNIQUE INDEX jobs_idempotency ON jobs(idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"
    "CREATE TABLE job_attempts("
    " job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " slot INTEGER NOT NULL, attempt BIGINT NOT NULL, host_id TEXT,"
    " started_on BIGINT, ended_on BIGINT NOT NULL, outcome TEXT NOT NULL,"
    " error_code TEXT, message TEXT, trace TEXT,"
    " PRIMARY KEY(job_id, slot));"
    "CREATE TABLE assemblies("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL,"
    " version TEXT NOT NULL, description TEXT,"
    " isolation INTEGER NOT NULL, sha256 TEXT NOT NULL UNIQUE, size BIGINT NOT NULL,"
    " bytes BYTEA NOT NULL, created_on BIGINT NOT NULL, modified_on BIGINT NOT NULL,"
    " draining INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE plugin_types("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " assembly_id BIGINT NOT NULL REFERENCES assemblies(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, UNIQUE(assembly_id, name));"
    "CREATE TABLE steps("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL,"
    " plugin_type TEXT NOT NULL,"
    " assembly_id BIGINT NOT NULL REFERENCES assemblies(id), message TEXT NOT NULL,"
    " entity TEXT, stage INTEGER NOT NULL DEFAULT 40, rank INTEGER NOT NULL DEFAULT 1,"
    " filtering_attributes TEXT, configuration TEXT, secure_configuration TEXT,"
    " impersonating_user TEXT, images TEXT, async_auto_delete INTEGER NOT NULL DEFAULT 0,"
    " enabled INTEGER NOT NULL DEFAULT 1, created_on BIGINT NOT NULL,"
    " modified_on BIGINT NOT NULL, draining INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " roles INTEGER NOT NULL, password_hash TEXT, created_on BIGINT NOT NULL);"
    "CREATE TABLE tokens("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " user_id BIGINT NOT NULL REFERENCES users(id), name TEXT,"
    " hash TEXT NOT NULL UNIQUE, created_on BIGINT NOT NULL, revoked_on BIGINT);"
    "CREATE TABLE audit("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, user_name TEXT,"
    " remote TEXT, action TEXT NOT NULL, target TEXT, result TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX audit_at ON audit(at);"
    "CREATE TABLE services("
    " host_id TEXT NOT NULL, name TEXT NOT NULL, startup_type INTEGER NOT NULL,"
    " recovery_delay_s INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(host_id, name));"
    "CREATE TABLE sessions("
    " hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " csrf TEXT NOT NULL, created_on BIGINT NOT NULL, expires_on BIGINT NOT NULL);"
    /* one row per asyncd process that ever ran against this database */
    "CREATE TABLE hosts(id TEXT PRIMARY KEY, address TEXT, version TEXT,"
    " started_on BIGINT NOT NULL, heartbeat_on BIGINT NOT NULL,"
    " stopped_on BIGINT);",
    /* 2: a drain may have a deadline, after which what is left is canceled (SQLite's 7) */
    "ALTER TABLE steps ADD COLUMN drain_deadline BIGINT;"
    "ALTER TABLE assemblies ADD COLUMN drain_deadline BIGINT;",
    /* 3: service actions addressed to another host (peers.c) */
    "CREATE TABLE host_commands("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, host_id TEXT NOT NULL,"
    " service TEXT NOT NULL, action TEXT NOT NULL, requested_by TEXT,"
    " requested_on BIGINT NOT NULL, done_on BIGINT, rc INTEGER, answer TEXT);"
    "CREATE INDEX host_commands_pending ON host_commands(host_id, id) WHERE done_on IS NULL;",
    /* 4: recurring jobs: the IANA zone their pattern is read in (NULL: UTC; SQLite's 9) */
    "ALTER TABLE jobs ADD COLUMN recurrence_timezone TEXT;",
    /* 5: jobs completed per hour, plug-in type and status (SQLite's 10) */
    "CREATE TABLE job_stats_hourly(hour BIGINT NOT NULL, plugin_type TEXT NOT NULL,"
    " status INTEGER NOT NULL, count BIGINT NOT NULL, PRIMARY KEY(hour, plugin_type, status));",
    /* 6: a command may carry a JSON payload: the service configuration a PATCH sends to
     * another host */
    "ALTER TABLE host_commands ADD COLUMN payload TEXT;",
};

#endif
