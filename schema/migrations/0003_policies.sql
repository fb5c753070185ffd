-- 0003: policies. A policy is a name with a history of immutable versions;
-- each version keeps the document an admin wrote and the rule table it
-- compiled to (what agents download), so a version served today is byte for
-- byte the one served when it was published. Assignments say which agents
-- get which policy. All tenant rows under forced row-level security.

CREATE TABLE policies (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  current_version bigint NOT NULL CHECK (current_version >= 1),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE policy_versions (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  policy_id      uuid NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  version        bigint NOT NULL CHECK (version >= 1),
  document       jsonb NOT NULL,
  rule_table     bytea NOT NULL,  -- portcullis.v1.RuleTable
  sha256         text NOT NULL CHECK (length(sha256) = 64),  -- of rule_table
  comment        text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
  source_version bigint,  -- set by a rollback: the version it republished
  created_at     timestamptz NOT NULL DEFAULT now(),
  created_by     text NOT NULL,
  PRIMARY KEY (policy_id, version)
);

-- Selector: exactly one of an image name glob, a set of labels (all must be
-- present with those values), or the tenant default.
CREATE TABLE policy_assignments (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  policy_id   uuid NOT NULL REFERENCES policies (id),
  priority    integer NOT NULL CHECK (priority BETWEEN -1000000 AND 1000000),
  image_glob  text CHECK (length(image_glob) BETWEEN 1 AND 512),
  labels      jsonb,
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  CHECK ((image_glob IS NOT NULL)::int + (labels IS NOT NULL)::int + is_default::int = 1)
);
CREATE INDEX policy_assignments_tenant ON policy_assignments (tenant_id, priority DESC);
CREATE INDEX policy_assignments_policy ON policy_assignments (policy_id);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['policies', 'policy_versions', 'policy_assignments'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                   'USING (tenant_id = portcullis_current_tenant()) '
                   'WITH CHECK (tenant_id = portcullis_current_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON policies, policy_assignments TO portcullis_app;
-- Versions are immutable: no UPDATE for the services (DELETE only through
-- the cascade of a policy's deletion).
GRANT SELECT, INSERT, DELETE ON policy_versions TO portcullis_app;
