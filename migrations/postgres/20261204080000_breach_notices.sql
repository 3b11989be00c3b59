-- Webhook delivery of each breach's notice. A notice is due at notify_after
-- until it is delivered (notified_at set, notify_after cleared) or given up;
-- the process sending it leases it by moving notify_after ahead, so a crash
-- before the outcome is written leaves it due again once the lease ends.
-- Breaches claimed before this column existed have no notice due.
ALTER TABLE breaches
    ADD COLUMN notify_after timestamptz,
    ADD COLUMN notify_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN notified_at timestamptz;
CREATE INDEX breaches_notice_due ON breaches (notify_after) WHERE notify_after IS NOT NULL;
