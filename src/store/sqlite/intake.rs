//! Recording reports in the embedded store: idempotency, dedup from the
//! in-memory index, the new incident, dispatch and the events, in one
//! transaction per batch.

use geo::Point;
use jiff::Timestamp;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::ms;
use crate::dispatch::{
    Assignment, Candidate, Contract, UnassignedReason, WorkOrderState, choose_contract,
};
use crate::events::{Actor, Event, EventKind};
use crate::incidents::{
    IncidentEntry, OpenIncidentIndex, PhotoEvidence, embedding_from_bytes, priority_for,
};
use crate::sla::{DeadlineKind, Priority};
use crate::store::{RecordOutcome, ReportPlan, Result, StoreError, WorkOrderRef};

/// How far back closed incidents still matter for dedup of replayed,
/// slightly out-of-order records.
const LOAD_WINDOW_MS: i64 = 366 * 86_400 * 1000;

pub(super) async fn load_open_incidents(pool: &SqlitePool) -> Result<OpenIncidentIndex> {
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(last_report_at_ms) FROM incidents")
        .fetch_one(pool)
        .await?;
    let Some(newest) = newest else {
        return Ok(OpenIncidentIndex::default());
    };
    let rows = sqlx::query(
        "SELECT id, category, lon, lat, opened_at_ms, last_report_at_ms, closed_at_ms, \
         placeholder, report_count FROM incidents \
         WHERE closed_at_ms IS NULL OR last_report_at_ms >= ?",
    )
    .bind(newest - LOAD_WINDOW_MS)
    .fetch_all(pool)
    .await?;
    let entries = rows.iter().map(|row| IncidentEntry {
        id: row.get("id"),
        category: row.get("category"),
        position: Point::new(row.get("lon"), row.get("lat")),
        opened_at_ms: row.get("opened_at_ms"),
        last_report_at_ms: row.get("last_report_at_ms"),
        closed_at_ms: row.get("closed_at_ms"),
        placeholder: row.get::<i64, _>("placeholder") != 0,
        report_count: row.get::<i64, _>("report_count") as u32,
    });
    Ok(OpenIncidentIndex::from_entries(entries))
}

pub(super) async fn record(
    pool: &SqlitePool,
    index: &mut OpenIncidentIndex,
    plans: Vec<ReportPlan>,
) -> Result<Vec<RecordOutcome>> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(plans.len());
    // Events are written together at the end of the batch, in order: one
    // statement per hundred events instead of one each.
    let mut events = Vec::new();
    for plan in plans {
        outcomes.push(record_one(&mut tx, index, plan, &mut events).await?);
    }
    insert_events(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(outcomes)
}

async fn record_one(
    conn: &mut SqliteConnection,
    index: &mut OpenIncidentIndex,
    plan: ReportPlan,
    events: &mut Vec<Event>,
) -> Result<RecordOutcome> {
    if let Some(first) = already_recorded(conn, &plan).await? {
        return Ok(first);
    }

    let existing = if plan.placeholder {
        None
    } else {
        let photos = candidate_photos(conn, index, &plan).await?;
        index
            .find_with_photos(
                &plan.category,
                plan.position,
                plan.received_at,
                &plan.dedup,
                &photos,
            )
            .map(|entry| (entry.id, entry.report_count))
    };

    match existing {
        Some((incident_id, report_count)) => {
            merge(conn, index, &plan, incident_id, report_count + 1, events).await
        }
        None => open_incident(conn, index, &plan, events).await,
    }
}

/// The new report's embedding and those of the photo reports of every incident
/// position and time admit, made by the same model; nothing is read when the
/// report has no photo.
async fn candidate_photos(
    conn: &mut SqliteConnection,
    index: &OpenIncidentIndex,
    plan: &ReportPlan,
) -> Result<PhotoEvidence> {
    let mut photos =
        PhotoEvidence::for_report(plan.classification.as_ref().map(|c| c.embedding.as_slice()));
    if !photos.wants_candidates() || plan.dedup.min_photo_similarity.is_none() {
        return Ok(photos);
    }
    let ids = index.admitted_ids(&plan.category, plan.position, plan.received_at, &plan.dedup);
    if ids.is_empty() {
        return Ok(photos);
    }
    let model = plan
        .classification
        .as_ref()
        .map(|c| c.model_sha256.as_str());
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT incident_id, embedding FROM reports WHERE embedding IS NOT NULL AND embedding_model = ",
    );
    sql.push_bind(model);
    sql.push(" AND incident_id IN (");
    let mut list = sql.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    sql.push(")");
    let rows = sql.build().fetch_all(&mut *conn).await?;
    for row in rows {
        let bytes: Vec<u8> = row.get("embedding");
        let embedding = embedding_from_bytes(&bytes)
            .ok_or_else(|| StoreError::corrupt("a stored embedding is not a list of f32"))?;
        photos.add(row.get("incident_id"), embedding);
    }
    Ok(photos)
}

async fn already_recorded(
    conn: &mut SqliteConnection,
    plan: &ReportPlan,
) -> Result<Option<RecordOutcome>> {
    let Some(source_id) = &plan.source_id else {
        return Ok(None);
    };
    let row: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, fingerprint FROM reports WHERE source = ? AND source_id = ?")
            .bind(&plan.source)
            .bind(source_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(
        row.map(|(report_id, fingerprint)| RecordOutcome::AlreadyRecorded {
            report_id,
            same_content: fingerprint == plan.fingerprint,
        }),
    )
}

async fn merge(
    conn: &mut SqliteConnection,
    index: &mut OpenIncidentIndex,
    plan: &ReportPlan,
    incident_id: i64,
    report_count: u32,
    events: &mut Vec<Event>,
) -> Result<RecordOutcome> {
    let priority = priority_for(
        plan.default_priority,
        plan.escalate_after_reports,
        report_count,
    );
    sqlx::query(
        "UPDATE incidents SET report_count = ?, priority = ?, \
         last_report_at_ms = MAX(last_report_at_ms, ?) WHERE id = ?",
    )
    .bind(i64::from(report_count))
    .bind(priority.as_str())
    .bind(ms(plan.received_at))
    .bind(incident_id)
    .execute(&mut *conn)
    .await?;
    let report_id = insert_report(conn, plan, incident_id).await?;

    let at = plan.received_at;
    append(
        events,
        at,
        &plan.actor,
        EventKind::ReportAccepted {
            report_id,
            incident_id,
        },
    );
    append(
        events,
        at,
        &Actor::System,
        EventKind::IncidentMerged {
            incident_id,
            report_id,
            report_count,
        },
    );
    index.record_report(incident_id, at);

    Ok(RecordOutcome::Recorded {
        report_id,
        incident_id,
        merged: true,
        report_count,
        priority,
        work_order: None,
    })
}

async fn open_incident(
    conn: &mut SqliteConnection,
    index: &mut OpenIncidentIndex,
    plan: &ReportPlan,
    events: &mut Vec<Event>,
) -> Result<RecordOutcome> {
    let at = plan.received_at;
    let priority = priority_for(plan.default_priority, plan.escalate_after_reports, 1);
    let incident_id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (category, jurisdiction_id, boundary_version_id, lon, lat, \
         priority, report_count, opened_at_ms, last_report_at_ms, closed_at_ms, placeholder) \
         VALUES (?, ?, (SELECT id FROM boundary_versions WHERE jurisdiction_id = ? \
         AND valid_until_ms IS NULL), ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&plan.category)
    .bind(plan.routing.jurisdiction_id)
    .bind(plan.routing.jurisdiction_id)
    .bind(plan.position.x())
    .bind(plan.position.y())
    .bind(priority.as_str())
    .bind(ms(at))
    .bind(ms(at))
    .bind(plan.source_closed_at.map(ms))
    .bind(plan.placeholder)
    .fetch_one(&mut *conn)
    .await?;
    let report_id = insert_report(conn, plan, incident_id).await?;

    append(
        events,
        at,
        &Actor::System,
        EventKind::IncidentCreated {
            incident_id,
            jurisdiction_id: plan.routing.jurisdiction_id,
            category: plan.category.clone(),
            priority,
        },
    );
    append(
        events,
        at,
        &plan.actor,
        EventKind::ReportAccepted {
            report_id,
            incident_id,
        },
    );
    let work_order = dispatch(conn, plan, incident_id, priority, events).await?;

    index.insert(IncidentEntry {
        id: incident_id,
        category: plan.category.clone(),
        position: plan.position,
        opened_at_ms: ms(at),
        last_report_at_ms: ms(at),
        closed_at_ms: plan.source_closed_at.map(ms),
        placeholder: plan.placeholder,
        report_count: 1,
    });

    Ok(RecordOutcome::Recorded {
        report_id,
        incident_id,
        merged: false,
        report_count: 1,
        priority,
        work_order: Some(work_order),
    })
}

async fn dispatch(
    conn: &mut SqliteConnection,
    plan: &ReportPlan,
    incident_id: i64,
    priority: Priority,
    events: &mut Vec<Event>,
) -> Result<WorkOrderRef> {
    let at = plan.received_at;
    let assignment = assign(conn, plan).await?;
    let (contract_id, contractor, unassigned_reason) = match &assignment {
        Assignment::Contract {
            contract_id,
            contractor,
        } => (Some(*contract_id), Some(contractor.clone()), None),
        Assignment::Supervisors { reason } => (None, None, Some(*reason)),
    };

    // Stamped with the wall clock, not the report's instant: a replayed
    // record's deadlines lie before it, so they are history and never escalate.
    let stored_at = Timestamp::now();
    let work_order_id: i64 = sqlx::query_scalar(
        "INSERT INTO work_orders (incident_id, contract_id, contractor, jurisdiction_id, \
         category, priority, status, assigned_at_ms, response_due_at_ms, resolution_due_at_ms, \
         state, watched_from_ms) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, '', ?) RETURNING id",
    )
    .bind(incident_id)
    .bind(contract_id)
    .bind(&contractor)
    .bind(plan.routing.jurisdiction_id)
    .bind(&plan.category)
    .bind(priority.as_str())
    .bind(ms(at))
    .bind(plan.deadlines.map(|d| ms(d.response_due_at)))
    .bind(plan.deadlines.map(|d| ms(d.resolution_due_at)))
    .bind(ms(stored_at))
    .fetch_one(&mut *conn)
    .await?;
    let mut scope = vec![plan.routing.jurisdiction_id];
    scope.extend(&plan.routing.containing);
    for jurisdiction_id in scope {
        sqlx::query(
            "INSERT OR IGNORE INTO work_order_scopes (jurisdiction_id, work_order_id) \
             VALUES (?, ?)",
        )
        .bind(jurisdiction_id)
        .bind(work_order_id)
        .execute(&mut *conn)
        .await?;
    }

    let assigned = Event {
        at,
        actor: Actor::System,
        kind: EventKind::WorkOrderAssigned {
            work_order_id,
            incident_id,
            contractor: contractor.clone(),
            response_due_at: plan.deadlines.map(|d| d.response_due_at),
            resolution_due_at: plan.deadlines.map(|d| d.resolution_due_at),
        },
    };
    let mut state = WorkOrderState::created(&assigned).map_err(StoreError::corrupt)?;
    events.push(assigned);
    if let Some(closed_at) = plan.source_closed_at {
        let closed = Event {
            at: closed_at.max(at),
            actor: Actor::System,
            kind: EventKind::ClosedInSource { work_order_id },
        };
        state.apply(&closed).map_err(StoreError::corrupt)?;
        events.push(closed);
    }
    save_state(conn, &state).await?;

    Ok(WorkOrderRef {
        id: work_order_id,
        contractor,
        unassigned_reason,
        response_due_at: state.response_due_at,
        resolution_due_at: state.resolution_due_at,
    })
}

/// The dispatch rule over the plan's candidates, with their open work orders
/// counted as of the report's instant (so replayed history sees the load of
/// its own time).
async fn assign(conn: &mut SqliteConnection, plan: &ReportPlan) -> Result<Assignment> {
    let loads = open_counts(conn, &plan.candidates, plan.received_at).await?;
    Ok(choose(&plan.candidates, &loads, None))
}

/// Open work orders of each contract at `at`.
pub(super) async fn open_counts(
    conn: &mut SqliteConnection,
    contracts: &[Contract],
    at: Timestamp,
) -> Result<Vec<u32>> {
    let at_ms = ms(at);
    let mut loads = Vec::with_capacity(contracts.len());
    for contract in contracts {
        // Two range scans of the (contract_id, closed_at_ms) index. A work order
        // assigned after `at` exists only when replayed records come out of
        // order; it counts as open too, which errs towards spreading the load.
        let open: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM work_orders WHERE contract_id = ?1 \
             AND closed_at_ms IS NULL) + (SELECT COUNT(*) FROM work_orders \
             WHERE contract_id = ?1 AND closed_at_ms > ?2)",
        )
        .bind(contract.id)
        .bind(at_ms)
        .fetch_one(&mut *conn)
        .await?;
        loads.push(open as u32);
    }
    Ok(loads)
}

/// The dispatch rule over contracts with their loads, passing over the
/// `excluded` contractor (the one that just rejected the order).
pub(super) fn choose(contracts: &[Contract], loads: &[u32], excluded: Option<&str>) -> Assignment {
    let eligible: Vec<(&Contract, u32)> = contracts
        .iter()
        .zip(loads.iter().copied())
        .filter(|(contract, _)| Some(contract.contractor.as_str()) != excluded)
        .collect();
    if eligible.is_empty() {
        return Assignment::Supervisors {
            reason: UnassignedReason::NoContract,
        };
    }
    let candidates = eligible.iter().map(|(contract, open)| Candidate {
        contract_id: contract.id,
        contractor: &contract.contractor,
        open_work_orders: *open,
        capacity: contract.capacity,
    });
    match choose_contract(candidates) {
        Some(chosen) => Assignment::Contract {
            contract_id: chosen.contract_id,
            contractor: chosen.contractor.to_string(),
        },
        None => Assignment::Supervisors {
            reason: UnassignedReason::AtCapacity,
        },
    }
}

/// Writes the folded state and the columns derived from it: the status, the
/// queue's urgency and the deadlines the breach scanner still watches (only
/// those due after the order was stored).
pub(crate) async fn save_state(conn: &mut SqliteConnection, state: &WorkOrderState) -> Result<()> {
    let json = serde_json::to_string(state).map_err(StoreError::corrupt)?;
    let watched =
        |kind: DeadlineKind, due: Option<Timestamp>| due.filter(|_| state.awaits(kind)).map(ms);
    sqlx::query(
        "UPDATE work_orders SET status = ?1, contractor = ?2, closed_at_ms = ?3, state = ?4, \
         next_due_ms = ?5, response_watch_ms = CASE WHEN ?6 >= watched_from_ms THEN ?6 END, \
         resolution_watch_ms = CASE WHEN ?7 >= watched_from_ms THEN ?7 END WHERE id = ?8",
    )
    .bind(state.status.as_str())
    .bind(&state.contractor)
    .bind(state.closed_at.map(ms))
    .bind(json)
    .bind(state.next_due_at().map(ms))
    .bind(watched(DeadlineKind::Response, state.response_due_at))
    .bind(watched(DeadlineKind::Resolution, state.resolution_due_at))
    .bind(state.work_order_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_report(
    conn: &mut SqliteConnection,
    plan: &ReportPlan,
    incident_id: i64,
) -> Result<i64> {
    let containing =
        serde_json::to_string(&plan.routing.containing).map_err(StoreError::corrupt)?;
    let classification = plan.classification.as_ref();
    let embedding = classification.map(|c| embedding_bytes(&c.embedding));
    let id = sqlx::query_scalar(
        "INSERT INTO reports (source, source_id, fingerprint, received_at_ms, lon, lat, \
         accuracy_m, position_source, citizen_category, source_category, category, description, \
         photo_sha256, model_label, model_confidence, embedding, embedding_model, triage_reason, \
         jurisdiction_id, containing_jurisdictions, overlap, near_boundary, placeholder, \
         incident_id, source_closed_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(&plan.source)
    .bind(&plan.source_id)
    .bind(&plan.fingerprint)
    .bind(ms(plan.received_at))
    .bind(plan.position.x())
    .bind(plan.position.y())
    .bind(plan.accuracy_m)
    .bind(plan.position_source.as_str())
    .bind(&plan.citizen_category)
    .bind(&plan.source_category)
    .bind(&plan.category)
    .bind(&plan.description)
    .bind(&plan.photo_sha256)
    .bind(classification.map(|c| c.label.clone()))
    .bind(classification.map(|c| f64::from(c.confidence)))
    .bind(embedding)
    .bind(classification.map(|c| c.model_sha256.clone()))
    .bind(&plan.triage_reason)
    .bind(plan.routing.jurisdiction_id)
    .bind(containing)
    .bind(plan.routing.overlap)
    .bind(plan.routing.near_boundary)
    .bind(plan.placeholder)
    .bind(incident_id)
    .bind(plan.source_closed_at.map(ms))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Little-endian f32s: compact, and the same bytes on every platform.
pub(crate) fn embedding_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

fn append(events: &mut Vec<Event>, at: Timestamp, actor: &Actor, kind: EventKind) {
    events.push(Event {
        at,
        actor: actor.clone(),
        kind,
    });
}

/// Rows per multi-row INSERT: 6 values each, far below SQLite's bind limit.
const EVENTS_PER_STATEMENT: usize = 100;

async fn insert_events(conn: &mut SqliteConnection, events: &[Event]) -> Result<()> {
    for chunk in events.chunks(EVENTS_PER_STATEMENT) {
        let mut sql: sqlx::QueryBuilder<sqlx::Sqlite> = sqlx::QueryBuilder::new(
            "INSERT INTO events (at_ms, type, work_order_id, incident_id, report_id, body) ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for event in chunk {
            let body = serde_json::to_string(event).map_err(StoreError::corrupt)?;
            rows.push((event, body));
        }
        sql.push_values(rows, |mut row, (event, body)| {
            let (incident_id, report_id) = event_links(event);
            row.push_bind(ms(event.at))
                .push_bind(event.kind.type_name())
                .push_bind(event.kind.work_order_id())
                .push_bind(incident_id)
                .push_bind(report_id)
                .push_bind(body);
        });
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The incident and report an event is about, for the log's columns.
fn event_links(event: &Event) -> (Option<i64>, Option<i64>) {
    match &event.kind {
        EventKind::ReportAccepted {
            report_id,
            incident_id,
        } => (Some(*incident_id), Some(*report_id)),
        EventKind::IncidentCreated { incident_id, .. } => (Some(*incident_id), None),
        EventKind::IncidentMerged {
            incident_id,
            report_id,
            ..
        } => (Some(*incident_id), Some(*report_id)),
        EventKind::WorkOrderAssigned { incident_id, .. } => (Some(*incident_id), None),
        EventKind::CategoryCorrected {
            report_id,
            incident_id,
            ..
        } => (Some(*incident_id), Some(*report_id)),
        _ => (None, None),
    }
}

pub(crate) async fn append_event(conn: &mut SqliteConnection, event: &Event) -> Result<()> {
    let body = serde_json::to_string(event).map_err(StoreError::corrupt)?;
    let (incident_id, report_id) = event_links(event);
    sqlx::query(
        "INSERT INTO events (at_ms, type, work_order_id, incident_id, report_id, body) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(ms(event.at))
    .bind(event.kind.type_name())
    .bind(event.kind.work_order_id())
    .bind(incident_id)
    .bind(report_id)
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
