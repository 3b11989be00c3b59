-- Webhook delivery of each breach's notice. A notice is due at notify_after_ms
-- until it is delivered (notified_at_ms set, notify_after_ms cleared) or given
-- up; the process sending it leases it by moving notify_after_ms ahead, so a
-- crash before the outcome is written leaves it due again once the lease ends.
-- Breaches claimed before this column existed have no notice due.
ALTER TABLE breaches ADD COLUMN notify_after_ms INTEGER;
ALTER TABLE breaches ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE breaches ADD COLUMN notified_at_ms INTEGER;
CREATE INDEX breaches_notice_due ON breaches (notify_after_ms) WHERE notify_after_ms IS NOT NULL;
