-- 0001: tenants and the partitioned events table, both under row-level security.
--
-- Runs as portcullis_owner (owns the schema, not a superuser). Services connect
-- as portcullis_app, which owns nothing, so every policy below applies to it.
-- The tenant of a transaction is set with
--   SELECT set_config('app.tenant', '<uuid>', true)
-- and read back with NULLIF(..., '') because a pooled connection that once ran
-- SET LOCAL reports '' rather than NULL afterwards: unset means "no rows".

CREATE FUNCTION portcullis_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.tenant', true), '')::uuid $$;

CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (id = portcullis_current_tenant())
  WITH CHECK (id = portcullis_current_tenant());
GRANT SELECT, INSERT, UPDATE ON tenants TO portcullis_app;

-- Events are immutable: the application role may insert and read, never update
-- or delete. Retention drops whole partitions (portcullis_drop_event_partitions).
-- Partitioned by day on the event's own time. The primary key includes the
-- partition key, as PostgreSQL requires; (tenant_id, event_id) is unique per
-- day, which is what makes a redelivered event (same id, same time) a no-op.
CREATE TABLE events (
  tenant_id       uuid        NOT NULL,
  event_id        uuid        NOT NULL,
  ts              timestamptz NOT NULL,
  agent_id        uuid        NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  container_id    text,
  image           text,
  hostname        text,
  pid             integer,
  ppid            integer,
  uid             bigint,
  gid             bigint,
  executable      text,
  cmdline         text,
  syscall         text,
  category        text,
  action          text,
  enforced        boolean,
  result          integer,
  rule_id         text,
  policy_id       uuid,
  policy_version  bigint,
  file_path       text,
  file_operation  text,
  net_direction   text,
  net_protocol    text,
  remote_ip       inet,
  remote_port     integer,
  local_ip        inet,
  local_port      integer,
  labels          jsonb,
  PRIMARY KEY (tenant_id, event_id, ts)
) PARTITION BY RANGE (ts);

CREATE INDEX events_tenant_ts ON events (tenant_id, ts);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
  USING (tenant_id = portcullis_current_tenant())
  WITH CHECK (tenant_id = portcullis_current_tenant());
GRANT SELECT, INSERT ON events TO portcullis_app;

-- Partitions don't inherit the parent's RLS. The application role gets no
-- privilege on any partition, so it can only reach rows through the parent,
-- where the policy applies; RLS is enabled on each partition as well, so even
-- a grant added by mistake would fail closed.
CREATE FUNCTION portcullis_ensure_event_partitions(first_day date, days integer)
  RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE
  created integer := 0;
  d date;
  part text;
BEGIN
  IF days < 1 OR days > 366 THEN
    RAISE EXCEPTION 'days must be between 1 and 366, got %', days;
  END IF;
  FOR i IN 0 .. days - 1 LOOP
    d := first_day + i;
    part := format('events_p%s', to_char(d, 'YYYYMMDD'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Drops the daily partitions that end before `before_day`; returns how many.
CREATE FUNCTION portcullis_drop_event_partitions(before_day date)
  RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE
  dropped integer := 0;
  r record;
BEGIN
  FOR r IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'events' AND c.relname ~ '^events_p[0-9]{8}$'
       AND to_date(substr(c.relname, 9), 'YYYYMMDD') < before_day
  LOOP
    EXECUTE format('DROP TABLE %I', r.relname);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END $$;

REVOKE ALL ON FUNCTION portcullis_ensure_event_partitions(date, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION portcullis_drop_event_partitions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION portcullis_ensure_event_partitions(date, integer) TO portcullis_app;
-- Dropping partitions deletes every tenant's events: not for the services'
-- role. Retention runs as the owner role (scheduled by the deployment).

SELECT portcullis_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 1, 9);
