//! Recording reports in PostGIS: idempotency, dedup, the new incident,
//! dispatch and the events, in one transaction per batch.
//!
//! # Why several processes cannot open two incidents for one problem
//! Before deciding anything, the transaction takes the advisory locks of
//! [`super::locks`]: one per dedup cell the batch's reports can reach, one per
//! source id. Any other transaction whose dedup could see an incident this one
//! creates or changes (or whose incident this one could see) shares a cell
//! lock with it, so it waits until this one commits. Under READ COMMITTED each
//! statement sees every transaction committed before it began, so the
//! candidate query that runs after the lock sees the incidents of the
//! transaction that held it. The candidates come from `ST_DWithin` on
//! geography with a margin, and the decision is the same pure
//! [`choose_incident`] over haversine distances as in the embedded store, so
//! both stores choose the same incident for the same history.
//!
//! Dispatch counts the open work orders of each candidate contract; the
//! contract rows are locked `FOR UPDATE` (after the advisory locks, in id
//! order) so two processes cannot both see the last free slot.

use geo::Point;
use jiff::Timestamp;
use sqlx::{PgConnection, PgPool, Row};

use super::{locks, ms};
use crate::dispatch::{
    Assignment, Candidate, Contract, UnassignedReason, WorkOrderState, choose_contract,
};
use crate::events::{Actor, Event, EventKind};
use crate::incidents::{IncidentEntry, PhotoEvidence, choose_incident, priority_for};
use crate::sla::{DeadlineKind, Priority};
use crate::store::{RecordOutcome, ReportPlan, Result, StoreError, WorkOrderRef};

pub(super) async fn record(pool: &PgPool, plans: Vec<ReportPlan>) -> Result<Vec<RecordOutcome>> {
    let mut tx = pool.begin().await?;
    locks::acquire(&mut tx, &locks::lock_set(&plans)).await?;
    let contracts = plans.iter().flat_map(|plan| plan.candidates.iter());
    lock_contracts(&mut tx, contracts.map(|contract| contract.id)).await?;

    let mut outcomes = Vec::with_capacity(plans.len());
    for plan in plans {
        outcomes.push(record_one(&mut tx, plan).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Locks contract rows in id order, the one order intake and reassignment both
/// take, so that counting a contract's open work orders cannot race or deadlock.
pub(super) async fn lock_contracts(
    conn: &mut PgConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<()> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("SELECT id FROM contracts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(())
}

async fn record_one(conn: &mut PgConnection, plan: ReportPlan) -> Result<RecordOutcome> {
    if let Some(first) = already_recorded(conn, &plan).await? {
        return Ok(first);
    }

    let existing = if plan.placeholder {
        None
    } else {
        let candidates = dedup_candidates(conn, &plan).await?;
        let photos = candidate_photos(conn, &plan, &candidates).await?;
        choose_incident(
            &candidates,
            &plan.dedup,
            plan.position,
            plan.received_at,
            &photos,
        )
        .map(|e| e.id)
    };
    match existing {
        Some(incident_id) => merge(conn, &plan, incident_id).await,
        None => open_incident(conn, &plan).await,
    }
}

/// The new report's embedding and those of the candidates' photo reports made by
/// the same model; nothing is read when the report has no photo.
async fn candidate_photos(
    conn: &mut PgConnection,
    plan: &ReportPlan,
    candidates: &[IncidentEntry],
) -> Result<PhotoEvidence> {
    let mut photos =
        PhotoEvidence::for_report(plan.classification.as_ref().map(|c| c.embedding.as_slice()));
    if !photos.wants_candidates() || plan.dedup.min_photo_similarity.is_none() {
        return Ok(photos);
    }
    let ids: Vec<i64> = candidates.iter().map(|entry| entry.id).collect();
    if ids.is_empty() {
        return Ok(photos);
    }
    let model = plan
        .classification
        .as_ref()
        .map(|c| c.model_sha256.as_str());
    let rows: Vec<(i64, Vec<f32>)> = sqlx::query_as(
        "SELECT incident_id, embedding FROM reports \
         WHERE incident_id = ANY($1) AND embedding IS NOT NULL AND embedding_model = $2",
    )
    .bind(&ids)
    .bind(model)
    .fetch_all(&mut *conn)
    .await?;
    for (incident_id, embedding) in rows {
        photos.add(incident_id, embedding);
    }
    Ok(photos)
}

async fn already_recorded(
    conn: &mut PgConnection,
    plan: &ReportPlan,
) -> Result<Option<RecordOutcome>> {
    let Some(source_id) = &plan.source_id else {
        return Ok(None);
    };
    let row: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, fingerprint FROM reports WHERE source = $1 AND source_id = $2")
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

/// Incidents of the plan's category within reach, prefiltered by PostGIS; the
/// dedup rule then decides on haversine distance. The margin covers the gap
/// between PostGIS's sphere and geo's, so no admissible incident is missed.
pub(crate) async fn dedup_candidates(
    conn: &mut PgConnection,
    plan: &ReportPlan,
) -> Result<Vec<IncidentEntry>> {
    let at_ms = ms(plan.received_at);
    let window_ms = plan.dedup.window_s.saturating_mul(1000);
    let rows = sqlx::query(
        "SELECT id, category, ST_X(position) AS lon, ST_Y(position) AS lat, \
         cityfix_ms(opened_at) AS opened_at_ms, cityfix_ms(last_report_at) AS last_report_at_ms, \
         cityfix_ms(closed_at) AS closed_at_ms, placeholder, report_count FROM incidents \
         WHERE category = $1 AND NOT placeholder \
         AND ST_DWithin(position::geography, \
             ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4, false) \
         AND last_report_at BETWEEN cityfix_at($5 - $6) AND cityfix_at($5 + $6) \
         AND opened_at <= cityfix_at($5 + $6) \
         AND (closed_at IS NULL OR closed_at > cityfix_at($5))",
    )
    .bind(&plan.category)
    .bind(plan.position.x())
    .bind(plan.position.y())
    .bind(plan.dedup.radius_m * 1.01 + 1.0)
    .bind(at_ms)
    .bind(window_ms)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| IncidentEntry {
            id: row.get("id"),
            category: row.get("category"),
            position: Point::new(row.get("lon"), row.get("lat")),
            opened_at_ms: row.get("opened_at_ms"),
            last_report_at_ms: row.get("last_report_at_ms"),
            closed_at_ms: row.get("closed_at_ms"),
            placeholder: row.get("placeholder"),
            report_count: row.get::<i32, _>("report_count") as u32,
        })
        .collect())
}

async fn merge(
    conn: &mut PgConnection,
    plan: &ReportPlan,
    incident_id: i64,
) -> Result<RecordOutcome> {
    let report_count: i32 = sqlx::query_scalar(
        "UPDATE incidents SET report_count = report_count + 1, \
         last_report_at = GREATEST(last_report_at, cityfix_at($1)) WHERE id = $2 \
         RETURNING report_count",
    )
    .bind(ms(plan.received_at))
    .bind(incident_id)
    .fetch_one(&mut *conn)
    .await?;
    let report_count = report_count as u32;
    let priority = priority_for(
        plan.default_priority,
        plan.escalate_after_reports,
        report_count,
    );
    sqlx::query("UPDATE incidents SET priority = $1 WHERE id = $2")
        .bind(priority.as_str())
        .bind(incident_id)
        .execute(&mut *conn)
        .await?;
    let report_id = insert_report(conn, plan, incident_id).await?;

    let at = plan.received_at;
    let accepted = EventKind::ReportAccepted {
        report_id,
        incident_id,
    };
    append(conn, at, &plan.actor, accepted).await?;
    let merged = EventKind::IncidentMerged {
        incident_id,
        report_id,
        report_count,
    };
    append(conn, at, &Actor::System, merged).await?;

    Ok(RecordOutcome::Recorded {
        report_id,
        incident_id,
        merged: true,
        report_count,
        priority,
        work_order: None,
    })
}

async fn open_incident(conn: &mut PgConnection, plan: &ReportPlan) -> Result<RecordOutcome> {
    let at = plan.received_at;
    let priority = priority_for(plan.default_priority, plan.escalate_after_reports, 1);
    let incident_id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (category, jurisdiction_id, boundary_version_id, position, \
         priority, report_count, opened_at, last_report_at, closed_at, placeholder) \
         VALUES ($1, $2, (SELECT id FROM boundary_versions WHERE jurisdiction_id = $2 \
         AND valid_until IS NULL), ST_SetSRID(ST_MakePoint($3, $4), 4326), $5, 1, \
         cityfix_at($6), cityfix_at($6), cityfix_at($7), $8) RETURNING id",
    )
    .bind(&plan.category)
    .bind(plan.routing.jurisdiction_id)
    .bind(plan.position.x())
    .bind(plan.position.y())
    .bind(priority.as_str())
    .bind(ms(at))
    .bind(plan.source_closed_at.map(ms))
    .bind(plan.placeholder)
    .fetch_one(&mut *conn)
    .await?;
    let report_id = insert_report(conn, plan, incident_id).await?;

    let created = EventKind::IncidentCreated {
        incident_id,
        jurisdiction_id: plan.routing.jurisdiction_id,
        category: plan.category.clone(),
        priority,
    };
    append(conn, at, &Actor::System, created).await?;
    let accepted = EventKind::ReportAccepted {
        report_id,
        incident_id,
    };
    append(conn, at, &plan.actor, accepted).await?;
    let work_order = dispatch(conn, plan, incident_id, priority).await?;

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
    conn: &mut PgConnection,
    plan: &ReportPlan,
    incident_id: i64,
    priority: Priority,
) -> Result<WorkOrderRef> {
    let at = plan.received_at;
    let (contract_id, contractor, unassigned_reason) = match assign(conn, plan).await? {
        Assignment::Contract {
            contract_id,
            contractor,
        } => (Some(contract_id), Some(contractor), None),
        Assignment::Supervisors { reason } => (None, None, Some(reason)),
    };

    // Stamped with the wall clock, not the report's instant: a replayed
    // record's deadlines lie before it, so they are history and never escalate.
    let stored_at = Timestamp::now();
    let work_order_id: i64 = sqlx::query_scalar(
        "INSERT INTO work_orders (incident_id, contract_id, contractor, jurisdiction_id, \
         category, priority, status, assigned_at, response_due_at, resolution_due_at, state, \
         watched_from) VALUES ($1, $2, $3, $4, $5, $6, '', cityfix_at($7), cityfix_at($8), \
         cityfix_at($9), 'null', cityfix_at($10)) RETURNING id",
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
    sqlx::query(
        "INSERT INTO work_order_scopes (jurisdiction_id, work_order_id) \
         SELECT DISTINCT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING",
    )
    .bind(&scope)
    .bind(work_order_id)
    .execute(&mut *conn)
    .await?;

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
    append_event(conn, &assigned).await?;
    if let Some(closed_at) = plan.source_closed_at {
        let closed = Event {
            at: closed_at.max(at),
            actor: Actor::System,
            kind: EventKind::ClosedInSource { work_order_id },
        };
        state.apply(&closed).map_err(StoreError::corrupt)?;
        append_event(conn, &closed).await?;
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
/// counted as in the embedded store.
async fn assign(conn: &mut PgConnection, plan: &ReportPlan) -> Result<Assignment> {
    let loads = open_counts(conn, &plan.candidates, plan.received_at).await?;
    Ok(choose(&plan.candidates, &loads, None))
}

/// Open work orders of each contract at `at`. As in the embedded store, a
/// work order assigned after `at` (replayed records out of order) counts as
/// open too.
pub(super) async fn open_counts(
    conn: &mut PgConnection,
    contracts: &[Contract],
    at: Timestamp,
) -> Result<Vec<u32>> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = contracts.iter().map(|contract| contract.id).collect();
    let counted: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT contract_id, COUNT(*) FROM work_orders WHERE contract_id = ANY($1) \
         AND (closed_at IS NULL OR closed_at > cityfix_at($2)) GROUP BY contract_id",
    )
    .bind(&ids)
    .bind(ms(at))
    .fetch_all(&mut *conn)
    .await?;
    Ok(contracts
        .iter()
        .map(|contract| {
            counted
                .iter()
                .find(|(id, _)| *id == contract.id)
                .map_or(0, |(_, open)| *open as u32)
        })
        .collect())
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
pub(crate) async fn save_state(conn: &mut PgConnection, state: &WorkOrderState) -> Result<()> {
    let json = serde_json::to_string(state).map_err(StoreError::corrupt)?;
    let watched =
        |kind: DeadlineKind, due: Option<Timestamp>| due.filter(|_| state.awaits(kind)).map(ms);
    sqlx::query(
        "UPDATE work_orders SET status = $1, contractor = $2, closed_at = cityfix_at($3), \
         state = $4::jsonb, next_due = cityfix_at($5), \
         response_watch = CASE WHEN cityfix_at($6) >= watched_from THEN cityfix_at($6) END, \
         resolution_watch = CASE WHEN cityfix_at($7) >= watched_from THEN cityfix_at($7) END \
         WHERE id = $8",
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
    conn: &mut PgConnection,
    plan: &ReportPlan,
    incident_id: i64,
) -> Result<i64> {
    let classification = plan.classification.as_ref();
    let id = sqlx::query_scalar(
        "INSERT INTO reports (source, source_id, fingerprint, received_at, position, \
         accuracy_m, position_source, citizen_category, source_category, category, description, \
         photo_sha256, model_label, model_confidence, embedding, embedding_model, triage_reason, \
         jurisdiction_id, containing_jurisdictions, overlap, near_boundary, placeholder, \
         incident_id, source_closed_at) \
         VALUES ($1, $2, $3, cityfix_at($4), ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
         cityfix_at($25)) RETURNING id",
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
    .bind(classification.map(|c| c.confidence))
    .bind(classification.map(|c| c.embedding.clone()))
    .bind(classification.map(|c| c.model_sha256.clone()))
    .bind(&plan.triage_reason)
    .bind(plan.routing.jurisdiction_id)
    .bind(&plan.routing.containing)
    .bind(plan.routing.overlap)
    .bind(plan.routing.near_boundary)
    .bind(plan.placeholder)
    .bind(incident_id)
    .bind(plan.source_closed_at.map(ms))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

async fn append(
    conn: &mut PgConnection,
    at: Timestamp,
    actor: &Actor,
    kind: EventKind,
) -> Result<()> {
    let event = Event {
        at,
        actor: actor.clone(),
        kind,
    };
    append_event(conn, &event).await
}

pub(crate) async fn append_event(conn: &mut PgConnection, event: &Event) -> Result<()> {
    let body = serde_json::to_string(event).map_err(StoreError::corrupt)?;
    let (incident_id, report_id) = match &event.kind {
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
    };
    sqlx::query(
        "INSERT INTO events (at, type, work_order_id, incident_id, report_id, body) \
         VALUES (cityfix_at($1), $2, $3, $4, $5, $6::jsonb)",
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
