-- Contractor queues, supervisors' scopes and breach detection.

-- The wall-clock instant the order was stored: deadlines before it are
-- history (replayed records) and never escalate.
ALTER TABLE work_orders ADD COLUMN watched_from_ms INTEGER;
-- The next step's deadline, for the queue's urgency order; NULL once resolved.
ALTER TABLE work_orders ADD COLUMN next_due_ms INTEGER;
-- Deadlines the breach scanner still watches; NULL once met, breached or history.
ALTER TABLE work_orders ADD COLUMN response_watch_ms INTEGER;
ALTER TABLE work_orders ADD COLUMN resolution_watch_ms INTEGER;

UPDATE work_orders SET next_due_ms = CASE
    WHEN status IN ('resolved', 'closed') THEN NULL
    WHEN json_extract(state, '$.accepted_at') IS NULL
        THEN COALESCE(response_due_at_ms, resolution_due_at_ms)
    ELSE resolution_due_at_ms
END;

CREATE INDEX work_orders_queue ON work_orders(contractor, next_due_ms);
CREATE INDEX work_orders_response_watch ON work_orders(response_watch_ms)
    WHERE response_watch_ms IS NOT NULL;
CREATE INDEX work_orders_resolution_watch ON work_orders(resolution_watch_ms)
    WHERE resolution_watch_ms IS NOT NULL;

-- The jurisdictions a work order answers to: its own and those containing it.
CREATE TABLE work_order_scopes (
    jurisdiction_id INTEGER NOT NULL,
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id),
    PRIMARY KEY (jurisdiction_id, work_order_id)
);
INSERT OR IGNORE INTO work_order_scopes (jurisdiction_id, work_order_id)
    SELECT jurisdiction_id, id FROM work_orders;
INSERT OR IGNORE INTO work_order_scopes (jurisdiction_id, work_order_id)
    SELECT j.value, w.id FROM work_orders w
    JOIN reports r ON r.incident_id = w.incident_id, json_each(r.containing_jurisdictions) j;

-- One row per breached deadline: claiming it is what makes an escalation
-- happen exactly once.
CREATE TABLE breaches (
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id),
    deadline TEXT NOT NULL,
    due_at_ms INTEGER NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    PRIMARY KEY (work_order_id, deadline)
);
