-- 0005: the order in which events became visible, for the SIEM export.
--
-- An export cursor must yield every event exactly once, in a stable order,
-- while several indexers commit concurrently and out of order. Neither ts
-- (agents' clocks, late batches) nor a sequence (assigned before commit, so
-- a smaller value can become visible after a larger one was read) gives
-- that. txid does: the id of the transaction that inserted the row
-- (pg_current_xact_id(), the same for a whole indexer batch). Every
-- transaction whose id is below pg_snapshot_xmin(pg_current_snapshot()) has
-- ended, and no later transaction can get an id that low; so reading only
-- rows with txid below that horizon, in (txid, event_id) order, after the
-- cursor's (txid, event_id), never skips a row that commits later. Rows that
-- exist already take the id of this migration's transaction.
--
-- The cost: a long-running transaction anywhere in the cluster holds the
-- horizon back, so the export waits for it (it never skips).
ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- The export's scan: per tenant, in cursor order, on every partition.
CREATE INDEX events_tenant_txid ON events (tenant_id, txid, event_id);
