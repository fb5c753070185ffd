-- 0002: identity. API keys, enrollment tokens, agents (with their credentials)
-- and the audit log, all tenant rows under forced row-level security.
--
-- Secrets are 256-bit random values: stored as SHA-256 digests, compared in
-- constant time by the services, shown once at creation. A credential names
-- its tenant and its row id in clear, so a service can set the tenant before
-- looking the row up: RLS applies to authentication itself.

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role          text NOT NULL CHECK (role IN ('admin', 'analyst')),
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE enrollment_tokens (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  expires_at    timestamptz,
  max_uses      integer CHECK (max_uses IS NULL OR max_uses > 0),
  uses          integer NOT NULL DEFAULT 0,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens (tenant_id, created_at);

CREATE TABLE agents (
  id                  uuid PRIMARY KEY,
  tenant_id           uuid NOT NULL REFERENCES tenants (id),
  container_id        text NOT NULL CHECK (length(container_id) BETWEEN 1 AND 128),
  image_name          text NOT NULL,
  image_digest        text NOT NULL,
  hostname            text NOT NULL,
  labels              jsonb NOT NULL DEFAULT '{}',
  agent_version       text NOT NULL,
  kernel_version      text NOT NULL,
  secret_sha256       bytea NOT NULL CHECK (length(secret_sha256) = 32),
  enrollment_token_id uuid NOT NULL REFERENCES enrollment_tokens (id),
  registered_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz,
  events_sent         bigint NOT NULL DEFAULT 0,
  events_dropped      bigint NOT NULL DEFAULT 0,
  events_spooled      bigint NOT NULL DEFAULT 0,
  policy_version      bigint NOT NULL DEFAULT 0,
  UNIQUE (tenant_id, container_id)
) WITH (fillfactor = 70);
-- Heartbeats rewrite last_seen_at and the counters many times a second: no
-- index covers those columns, and pages keep free space (fillfactor), so the
-- updates are HOT (no index writes). Listing pages by id; status filters scan
-- one tenant's agents.
CREATE INDEX agents_tenant_image ON agents (tenant_id, image_name);

CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  at          timestamptz NOT NULL DEFAULT now(),
  actor_kind  text NOT NULL,
  actor_id    text NOT NULL,
  action      text NOT NULL,
  target      text NOT NULL,
  remote_addr text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'enrollment_tokens', 'agents', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                   'USING (tenant_id = portcullis_current_tenant()) '
                   'WITH CHECK (tenant_id = portcullis_current_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON api_keys, enrollment_tokens, agents TO portcullis_app;
-- The audit log is append-only for the services.
GRANT SELECT, INSERT ON audit_log TO portcullis_app;

-- RFC 3339 UTC with milliseconds, the one time format of the REST API.
CREATE FUNCTION portcullis_rfc3339(t timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The agent heartbeat in one statement (the registry's hot path: every agent,
-- every 30 s). SECURITY INVOKER: it runs as the application role, so the
-- row-level security policy applies to its UPDATE exactly as to any other;
-- it only sets the tenant (and an asynchronous commit: a lost heartbeat is
-- replaced by the next one) inside the statement's own transaction, saving
-- the BEGIN / settings / COMMIT round trips. True when the agent exists in
-- that tenant, is not revoked, and the secret's digest matches.
CREATE FUNCTION portcullis_agent_heartbeat(p_tenant uuid, p_agent uuid, p_secret_sha256 bytea,
                                           p_sent bigint, p_dropped bigint, p_spooled bigint,
                                           p_policy_version bigint)
  RETURNS boolean
  LANGUAGE plpgsql SECURITY INVOKER
  AS $$
BEGIN
  PERFORM set_config('app.tenant', p_tenant::text, true);
  PERFORM set_config('synchronous_commit', 'off', true);
  UPDATE agents SET last_seen_at = now(),
         events_sent = COALESCE(p_sent, events_sent),
         events_dropped = COALESCE(p_dropped, events_dropped),
         events_spooled = COALESCE(p_spooled, events_spooled),
         policy_version = COALESCE(p_policy_version, policy_version)
   WHERE id = p_agent AND revoked_at IS NULL AND secret_sha256 = p_secret_sha256;
  RETURN FOUND;
END $$;
REVOKE ALL ON FUNCTION portcullis_agent_heartbeat(uuid, uuid, bytea, bigint, bigint, bigint, bigint)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION portcullis_agent_heartbeat(uuid, uuid, bytea, bigint, bigint, bigint, bigint)
  TO portcullis_app;
