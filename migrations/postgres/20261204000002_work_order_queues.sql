-- Contractor queues, supervisors' scopes and breach detection, as in the
-- embedded store.

-- The wall-clock instant the order was stored: deadlines before it are
-- history (replayed records) and never escalate.
ALTER TABLE work_orders ADD COLUMN watched_from timestamptz;
-- The next step's deadline, for the queue's urgency order; NULL once resolved.
ALTER TABLE work_orders ADD COLUMN next_due timestamptz;
-- Deadlines the breach scanner still watches; NULL once met, breached or history.
ALTER TABLE work_orders ADD COLUMN response_watch timestamptz;
ALTER TABLE work_orders ADD COLUMN resolution_watch timestamptz;

UPDATE work_orders SET next_due = CASE
    WHEN status IN ('resolved', 'closed') THEN NULL
    WHEN state->>'accepted_at' IS NULL THEN COALESCE(response_due_at, resolution_due_at)
    ELSE resolution_due_at
END;

CREATE INDEX work_orders_queue ON work_orders(contractor, next_due);
CREATE INDEX work_orders_response_watch ON work_orders(response_watch)
    WHERE response_watch IS NOT NULL;
CREATE INDEX work_orders_resolution_watch ON work_orders(resolution_watch)
    WHERE resolution_watch IS NOT NULL;

-- The jurisdictions a work order answers to: its own and those containing it.
CREATE TABLE work_order_scopes (
    jurisdiction_id bigint NOT NULL,
    work_order_id bigint NOT NULL REFERENCES work_orders(id),
    PRIMARY KEY (jurisdiction_id, work_order_id)
);
CREATE INDEX work_order_scopes_order ON work_order_scopes(work_order_id);
INSERT INTO work_order_scopes (jurisdiction_id, work_order_id)
    SELECT jurisdiction_id, id FROM work_orders ON CONFLICT DO NOTHING;
INSERT INTO work_order_scopes (jurisdiction_id, work_order_id)
    SELECT j, w.id FROM work_orders w
    JOIN reports r ON r.incident_id = w.incident_id, unnest(r.containing_jurisdictions) j
    ON CONFLICT DO NOTHING;

-- One row per breached deadline: claiming it is what makes an escalation
-- happen exactly once, whatever the number of scanning processes.
CREATE TABLE breaches (
    work_order_id bigint NOT NULL REFERENCES work_orders(id),
    deadline text NOT NULL,
    due_at timestamptz NOT NULL,
    detected_at timestamptz NOT NULL,
    PRIMARY KEY (work_order_id, deadline)
);
