-- The embedded store. Instants are INTEGER milliseconds since the Unix epoch (UTC);
-- positions are WGS84 longitude/latitude in degrees.

CREATE TABLE levels (
    name TEXT PRIMARY KEY,
    -- Higher is more specific (region < municipality < district).
    rank INTEGER NOT NULL UNIQUE
);

CREATE TABLE boundary_imports (
    id INTEGER PRIMARY KEY,
    level TEXT NOT NULL REFERENCES levels(name),
    content_hash TEXT NOT NULL,
    source_name TEXT NOT NULL,
    feature_count INTEGER NOT NULL,
    imported_at_ms INTEGER NOT NULL
);

CREATE TABLE jurisdictions (
    id INTEGER PRIMARY KEY,
    level TEXT NOT NULL REFERENCES levels(name),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    UNIQUE (level, external_id)
);

-- One row per polygon a jurisdiction has had; the current one has no valid_until.
CREATE TABLE boundary_versions (
    id INTEGER PRIMARY KEY,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    import_id INTEGER NOT NULL REFERENCES boundary_imports(id),
    valid_from_ms INTEGER NOT NULL,
    valid_until_ms INTEGER,
    geometry TEXT NOT NULL,
    area_m2 REAL NOT NULL
);
CREATE INDEX boundary_versions_current ON boundary_versions(jurisdiction_id, valid_until_ms);

CREATE TABLE setup_documents (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL
);

CREATE TABLE categories (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    dedup_radius_m REAL NOT NULL,
    dedup_window_s INTEGER NOT NULL,
    default_priority TEXT NOT NULL
);

CREATE TABLE contractors (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    contractor TEXT NOT NULL REFERENCES contractors(slug),
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    categories TEXT NOT NULL,
    valid_from_ms INTEGER NOT NULL,
    valid_until_ms INTEGER,
    capacity INTEGER NOT NULL,
    UNIQUE (slug, jurisdiction_id)
);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    category TEXT NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    boundary_version_id INTEGER REFERENCES boundary_versions(id),
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    priority TEXT NOT NULL,
    report_count INTEGER NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    last_report_at_ms INTEGER NOT NULL,
    -- Set when the incident's work order is closed (or, in replayed history,
    -- when the source system closed it).
    closed_at_ms INTEGER,
    placeholder INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_position ON incidents(lon, lat);
CREATE INDEX incidents_open ON incidents(closed_at_ms, last_report_at_ms);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    -- Idempotency: (source, source_id) is a record id in replay, the
    -- Idempotency-Key of an API submission.
    source TEXT NOT NULL,
    source_id TEXT,
    fingerprint TEXT,
    received_at_ms INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    accuracy_m REAL,
    position_source TEXT NOT NULL,
    citizen_category TEXT,
    source_category TEXT,
    category TEXT NOT NULL,
    description TEXT,
    photo_sha256 TEXT,
    model_label TEXT,
    model_confidence REAL,
    embedding BLOB,
    triage_reason TEXT,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    containing_jurisdictions TEXT NOT NULL,
    overlap INTEGER NOT NULL,
    near_boundary INTEGER NOT NULL,
    placeholder INTEGER NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    source_closed_at_ms INTEGER,
    UNIQUE (source, source_id)
);
CREATE INDEX reports_incident ON reports(incident_id);
CREATE INDEX reports_received ON reports(received_at_ms);

CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL UNIQUE REFERENCES incidents(id),
    contract_id INTEGER REFERENCES contracts(id),
    contractor TEXT,
    jurisdiction_id INTEGER NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    assigned_at_ms INTEGER NOT NULL,
    response_due_at_ms INTEGER,
    resolution_due_at_ms INTEGER,
    closed_at_ms INTEGER,
    -- Cache of the fold of this work order's events.
    state TEXT NOT NULL
);
CREATE INDEX work_orders_contract_open ON work_orders(contract_id, closed_at_ms);
CREATE INDEX work_orders_contractor ON work_orders(contractor, status);

-- Append-only: rows are never updated or deleted.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    work_order_id INTEGER,
    incident_id INTEGER,
    report_id INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX events_work_order ON events(work_order_id);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    contractor TEXT,
    jurisdiction_id INTEGER,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
