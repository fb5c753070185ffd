-- 0004: the indexer writes events as its own role, portcullis_indexer.
--
-- The role is created outside the migrations, like portcullis_app (creating
-- a BYPASSRLS role needs a superuser): scripts/infra.sh, the compose
-- postgres-init script, or the operator (helm/README.md).
--
-- It may INSERT into events (COPY FROM included) and create partitions, and
-- nothing else: no SELECT on any table, no UPDATE, no DELETE. It bypasses
-- row-level security because COPY FROM refuses a table under row-level
-- security for any role subject to it, and the check skipped was
-- tautological for the indexer: it would set app.tenant from the very row
-- being checked. What keeps a tenant's events its own is ingest, which
-- stamps the tenant from the agent's credential (services/ingest/README.md);
-- every read still goes through portcullis_app and the policies.
GRANT INSERT ON events TO portcullis_indexer;
GRANT EXECUTE ON FUNCTION portcullis_ensure_event_partitions(date, integer) TO portcullis_indexer;
