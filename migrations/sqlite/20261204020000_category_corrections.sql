-- Supervisors' category verdicts on reports. Each row is a labelled example for the
-- classifier (`cityfix export-training-data`); rows are never updated or deleted, the
-- latest per report counts.
CREATE TABLE category_corrections (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    old_category TEXT NOT NULL,
    new_category TEXT NOT NULL,
    supervisor_token_id INTEGER NOT NULL REFERENCES tokens(id),
    corrected_at_ms INTEGER NOT NULL
);
CREATE INDEX category_corrections_report ON category_corrections(report_id);
CREATE INDEX reports_triage ON reports(jurisdiction_id) WHERE triage_reason IS NOT NULL;
