-- 0006: indexes for the selective QQL filters analysts pivot on.
--
-- Without them a selective query ("what did nc do this week", "everything
-- rule r-17 caught") reads every row of the range through (tenant_id, ts):
-- a million rows a day is seconds, not the tens of milliseconds an
-- investigation needs. Each index costs the indexer's COPY (measured in
-- tests/bench/README.md), so there is one per filter an incident responder
-- starts from, and no more:
--
--   process.name       a stored generated column (below)
--   rule.id            "what did this rule catch"  (text_pattern_ops: equality
--                      and prefix wildcards alike, as for every text here)
--   container.id       "what did this container do"
--   network.remote.ip  equality and CIDR (<<= becomes a btree range through
--                      PostgreSQL's network_subset_support); partial: only
--                      network events carry an address
--   file.path          equality and prefix wildcards (LIKE '/etc/%'); the
--                      database's collation is not C, so prefix matching
--                      needs text_pattern_ops; partial: only file events
--
-- Every index leads with tenant_id (every query is one tenant's) and ends
-- with ts (the range, and newest-first order without sorting the matches).
-- Created on the parent, so every partition, present and future, has them.
-- tests/integration/query_plan_test.cc checks with EXPLAIN, as the
-- application role under row-level security, that the benchmark's selective
-- queries use them on every partition.

-- process.name is the executable's last path segment. QQL used to compute it
-- in each query (regexp_replace(executable, '^.*/', '')), and an index on
-- that expression exists in name only: under row-level security the planner
-- uses an index condition only if every function in it is leakproof, and
-- regexp_replace is not, so the condition stayed a filter above the
-- tenant's whole range. A stored column compared with = (leakproof) is
-- indexable. PostgreSQL computes it on insert; the indexer's COPY names its
-- columns and never this one. Existing rows are rewritten once, here.
ALTER TABLE events
  ADD COLUMN process_name text GENERATED ALWAYS AS (regexp_replace(executable, '^.*/', '')) STORED;

CREATE INDEX events_tenant_process_name ON events (tenant_id, process_name text_pattern_ops, ts);

CREATE INDEX events_tenant_rule ON events (tenant_id, rule_id text_pattern_ops, ts);

CREATE INDEX events_tenant_container ON events (tenant_id, container_id text_pattern_ops, ts);

CREATE INDEX events_tenant_remote_ip ON events (tenant_id, remote_ip, ts)
  WHERE remote_ip IS NOT NULL;

CREATE INDEX events_tenant_file_path ON events (tenant_id, file_path text_pattern_ops, ts)
  WHERE file_path IS NOT NULL;
