//! Work orders in PostGIS: queues, one order with its log, the lifecycle
//! commands and the breach claims, safe with several processes.
//!
//! A change locks its work order's row (`FOR UPDATE`) before reading the
//! state, so two processes changing one order take turns and the second
//! decides on the first one's result. A reassignment locks the candidate
//! contracts' rows too, as intake does, so loads are counted race-free.
//! Breach scanners in several processes claim due deadlines with
//! `FOR UPDATE SKIP LOCKED`: each skips the orders another scanner is
//! working on, and the unique breach row written in the same transaction
//! makes each (work order, deadline) escalate exactly once.

use jiff::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use super::intake::{append_event, choose, lock_contracts, open_counts, save_state};
use super::{instant, ms, reads};
use crate::dispatch::{Assignment, Command, Contract, WorkOrderState};
use crate::events::{Actor, Event, EventKind};
use crate::sla::{DeadlineKind, EscalationNotice};
use crate::store::{
    ChangeOutcome, NoticeDelivery, PendingNotice, Result, StoreError, WorkOrderChange,
    WorkOrderDetail, WorkOrderQuery, WorkOrderView,
};

const VIEW_SELECT: &str = "SELECT w.jurisdiction_id, w.category, w.priority, \
     w.state::text AS state, ST_X(i.position) AS lon, ST_Y(i.position) AS lat \
     FROM work_orders w JOIN incidents i ON i.id = w.incident_id";

pub(super) async fn list(pool: &PgPool, query: &WorkOrderQuery) -> Result<Vec<WorkOrderView>> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(VIEW_SELECT);
    sql.push(" WHERE true");
    if let Some(contractor) = &query.contractor {
        sql.push(" AND w.contractor = ")
            .push_bind(contractor.clone());
    }
    if let Some(jurisdiction_id) = query.within_jurisdiction {
        sql.push(
            " AND w.id IN (SELECT work_order_id FROM work_order_scopes WHERE jurisdiction_id = ",
        )
        .push_bind(jurisdiction_id)
        .push(")");
    }
    if query.open_only || query.overdue_only {
        sql.push(" AND w.status NOT IN ('resolved', 'closed')");
    }
    if query.overdue_only {
        sql.push(" AND w.id IN (SELECT work_order_id FROM breaches)");
    }
    if let Some(from) = query.assigned_from {
        sql.push(" AND w.assigned_at >= cityfix_at(")
            .push_bind(ms(from))
            .push(")");
    }
    if let Some(before) = query.assigned_before {
        sql.push(" AND w.assigned_at < cityfix_at(")
            .push_bind(ms(before))
            .push(")");
    }
    sql.push(" ORDER BY w.next_due IS NULL, w.next_due, w.id");
    if let Some(limit) = query.limit {
        sql.push(" LIMIT ").push_bind(limit as i64);
    }

    let rows = sql.build().fetch_all(pool).await?;
    rows.iter().map(view).collect()
}

fn view(row: &PgRow) -> Result<WorkOrderView> {
    let state: WorkOrderState =
        serde_json::from_str(row.get("state")).map_err(StoreError::corrupt)?;
    Ok(WorkOrderView {
        jurisdiction_id: row.get("jurisdiction_id"),
        category: row.get("category"),
        priority: row
            .get::<String, _>("priority")
            .parse()
            .map_err(StoreError::corrupt)?,
        lon: row.get("lon"),
        lat: row.get("lat"),
        next_due_at: state.next_due_at(),
        overdue: state.is_overdue(),
        state,
    })
}

pub(super) async fn detail(pool: &PgPool, id: i64) -> Result<Option<WorkOrderDetail>> {
    let row = sqlx::query(&format!("{VIEW_SELECT} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let view = view(&row)?;
    // The connection goes back before the events are read: an in-memory
    // store's pool has only one.
    let scope = {
        let mut conn = pool.acquire().await?;
        scope_of(&mut conn, id, view.jurisdiction_id).await?
    };
    let events = reads::events(pool, Some(id)).await?;
    Ok(Some(WorkOrderDetail {
        view,
        scope,
        events,
    }))
}

async fn scope_of(conn: &mut PgConnection, id: i64, own: i64) -> Result<Vec<i64>> {
    let others: Vec<i64> = sqlx::query_scalar(
        "SELECT jurisdiction_id FROM work_order_scopes WHERE work_order_id = $1 \
         AND jurisdiction_id <> $2 ORDER BY jurisdiction_id",
    )
    .bind(id)
    .bind(own)
    .fetch_all(&mut *conn)
    .await?;
    Ok(std::iter::once(own).chain(others).collect())
}

/// A work order as a change reads it.
struct Stored {
    state: WorkOrderState,
    jurisdiction_id: i64,
    category: String,
    /// The instant of its latest event: new events never go before it.
    last_event_at: Timestamp,
}

async fn load(conn: &mut PgConnection, id: i64) -> Result<Stored> {
    let row = sqlx::query(
        "SELECT w.state::text AS state, w.jurisdiction_id, w.category, \
         (SELECT cityfix_ms(MAX(at)) FROM events e WHERE e.work_order_id = w.id) AS last_at_ms \
         FROM work_orders w WHERE w.id = $1 FOR UPDATE OF w",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("work order {id}")))?;
    let state: WorkOrderState =
        serde_json::from_str(row.get("state")).map_err(StoreError::corrupt)?;
    let last_event_at = match row.get::<Option<i64>, _>("last_at_ms") {
        Some(at_ms) => instant(at_ms)?,
        None => state.assigned_at,
    };
    Ok(Stored {
        state,
        jurisdiction_id: row.get("jurisdiction_id"),
        category: row.get("category"),
        last_event_at,
    })
}

pub(super) async fn change(pool: &PgPool, change: WorkOrderChange) -> Result<ChangeOutcome> {
    let mut tx = pool.begin().await?;
    let stored = load(&mut tx, change.work_order_id).await?;
    lock_contracts(
        &mut tx,
        change.candidates.iter().map(|contract| contract.id),
    )
    .await?;
    let mut state = stored.state;
    let at = change.at.max(stored.last_event_at);

    let mut events = Vec::new();
    let (command, moves_to) = match change.command.clone() {
        Command::Reassign { contractor } => {
            let current = state.contractor.clone();
            let target = reassignment(
                &mut tx,
                &change.candidates,
                at,
                contractor,
                current.as_deref(),
            );
            let (command, contract_id) = target.await?;
            (command, Some(contract_id))
        }
        other => (other, None),
    };
    let event = state.decide(command, &change.actor, at)?;
    record(&mut tx, &mut state, &event).await?;
    if let Some(contract_id) = moves_to {
        set_contract(&mut tx, state.work_order_id, contract_id).await?;
    }
    events.push(event);

    if let Some(EventKind::WorkOrderRejected { .. }) = events.last().map(|e| &e.kind) {
        let rejecting = actor_contractor(&change);
        let loads = open_counts(&mut tx, &change.candidates, at).await?;
        let (contractor, contract_id) =
            match choose(&change.candidates, &loads, rejecting.as_deref()) {
                Assignment::Contract {
                    contract_id,
                    contractor,
                } => (Some(contractor), Some(contract_id)),
                Assignment::Supervisors { .. } => (None, None),
            };
        let event = state.decide(Command::Reassign { contractor }, &Actor::System, at)?;
        record(&mut tx, &mut state, &event).await?;
        set_contract(&mut tx, state.work_order_id, contract_id).await?;
        events.push(event);
    }

    incident_update(&mut tx, &state, &events, at).await?;
    save_state(&mut tx, &state).await?;
    let scope = scope_of(&mut tx, state.work_order_id, stored.jurisdiction_id).await?;
    tx.commit().await?;

    tracing::debug!(work_order.id = state.work_order_id, category = %stored.category, status = %state.status, "work order changed");
    Ok(ChangeOutcome {
        state,
        events,
        scope,
    })
}

/// The contractor that acted, when a contractor did.
fn actor_contractor(change: &WorkOrderChange) -> Option<String> {
    match &change.actor {
        Actor::Contractor { contractor } => Some(contractor.clone()),
        _ => None,
    }
}

/// A supervisor's reassignment: to the named contractor's least loaded
/// covering contract (capacity is the supervisor's call), or by the dispatch
/// rule to anyone but the current contractor.
async fn reassignment(
    conn: &mut PgConnection,
    candidates: &[Contract],
    at: Timestamp,
    named: Option<String>,
    current: Option<&str>,
) -> Result<(Command, Option<i64>)> {
    let loads = open_counts(conn, candidates, at).await?;
    if let Some(slug) = named {
        let chosen = candidates
            .iter()
            .zip(&loads)
            .filter(|(contract, _)| contract.contractor == slug)
            .min_by_key(|(contract, open)| (**open, contract.id))
            .map(|(contract, _)| contract.id);
        let Some(contract_id) = chosen else {
            return Err(StoreError::Invalid(format!(
                "contractor {slug:?} holds no contract for this work order's jurisdiction \
                 and category today"
            )));
        };
        let command = Command::Reassign {
            contractor: Some(slug),
        };
        return Ok((command, Some(contract_id)));
    }

    match choose(candidates, &loads, current) {
        Assignment::Contract {
            contract_id,
            contractor,
        } => Ok((
            Command::Reassign {
                contractor: Some(contractor),
            },
            Some(contract_id),
        )),
        Assignment::Supervisors { .. } if current.is_none() => Err(StoreError::Invalid(
            "no contract can take this work order; name a contractor".into(),
        )),
        Assignment::Supervisors { .. } => Ok((Command::Reassign { contractor: None }, None)),
    }
}

async fn record(conn: &mut PgConnection, state: &mut WorkOrderState, event: &Event) -> Result<()> {
    state.apply(event).map_err(StoreError::corrupt)?;
    append_event(conn, event).await
}

async fn set_contract(
    conn: &mut PgConnection,
    work_order_id: i64,
    contract_id: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE work_orders SET contract_id = $1 WHERE id = $2")
        .bind(contract_id)
        .bind(work_order_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Closing a work order closes its incident (dedup stops merging into it);
/// reopening reopens it.
async fn incident_update(
    conn: &mut PgConnection,
    state: &WorkOrderState,
    events: &[Event],
    at: Timestamp,
) -> Result<()> {
    let closed_at = match events.last().map(|e| &e.kind) {
        Some(EventKind::WorkOrderClosed { .. }) => Some(ms(at)),
        Some(EventKind::WorkOrderReopened { .. }) => None,
        _ => return Ok(()),
    };
    sqlx::query("UPDATE incidents SET closed_at = cityfix_at($1) WHERE id = $2")
        .bind(closed_at)
        .bind(state.incident_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn claim_breaches(
    pool: &PgPool,
    now: Timestamp,
    notice_lease: Option<Timestamp>,
    limit: usize,
) -> Result<Vec<EscalationNotice>> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query(
        "SELECT id, deadline, cityfix_ms(due) AS due_ms FROM ( \
         SELECT id, 'response' AS deadline, response_watch AS due FROM work_orders \
         WHERE response_watch < cityfix_at($1) \
         UNION ALL SELECT id, 'resolution', resolution_watch FROM work_orders \
         WHERE resolution_watch < cityfix_at($1)) due \
         WHERE id IN (SELECT id FROM work_orders WHERE id = due.id \
         FOR UPDATE SKIP LOCKED) ORDER BY due, id LIMIT $2",
    )
    .bind(ms(now))
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;

    let mut notices = Vec::with_capacity(due.len());
    for row in &due {
        let kind = DeadlineKind::from_stored(row.get("deadline"));
        let due_at = instant(row.get("due_ms"))?;
        if let Some(notice) =
            claim_one(&mut tx, row.get("id"), kind, due_at, now, notice_lease).await?
        {
            notices.push(notice);
        }
    }
    tx.commit().await?;
    Ok(notices)
}

async fn claim_one(
    conn: &mut PgConnection,
    work_order_id: i64,
    kind: DeadlineKind,
    due_at: Timestamp,
    now: Timestamp,
    notice_lease: Option<Timestamp>,
) -> Result<Option<EscalationNotice>> {
    let stored = load(conn, work_order_id).await?;
    let mut state = stored.state;
    let claimed = state.awaits(kind)
        && sqlx::query(
            "INSERT INTO breaches (work_order_id, deadline, due_at, detected_at, notify_after, \
             notify_attempts) VALUES ($1, $2, cityfix_at($3), cityfix_at($4), cityfix_at($5), $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(work_order_id)
        .bind(kind.as_str())
        .bind(ms(due_at))
        .bind(ms(now))
        .bind(notice_lease.map(ms))
        .bind(i32::from(notice_lease.is_some()))
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
    if !claimed {
        // The watch column was stale; writing the state back clears it.
        save_state(conn, &state).await?;
        return Ok(None);
    }

    let at = now.max(stored.last_event_at);
    for kind in [
        EventKind::DeadlineBreached {
            work_order_id,
            deadline: kind,
            due_at,
        },
        EventKind::Escalated {
            work_order_id,
            deadline: kind,
            webhook: notice_lease.is_some(),
        },
    ] {
        let event = Event {
            at,
            actor: Actor::System,
            kind,
        };
        record(conn, &mut state, &event).await?;
    }
    save_state(conn, &state).await?;

    Ok(Some(EscalationNotice {
        work_order_id,
        incident_id: state.incident_id,
        jurisdiction_id: Some(stored.jurisdiction_id),
        category: stored.category,
        contractor: state.contractor,
        deadline: kind,
        due_at,
        detected_at: now,
    }))
}

pub(super) async fn claim_pending_notices(
    pool: &PgPool,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<PendingNotice>> {
    let mut tx = pool.begin().await?;
    // SKIP LOCKED: a notice another process is leasing right now is its.
    let due = sqlx::query(
        "UPDATE breaches b SET notify_after = cityfix_at($2), \
         notify_attempts = b.notify_attempts + 1 \
         FROM (SELECT work_order_id, deadline FROM breaches \
         WHERE notify_after <= cityfix_at($1) ORDER BY notify_after, work_order_id LIMIT $3 \
         FOR UPDATE SKIP LOCKED) due \
         WHERE b.work_order_id = due.work_order_id AND b.deadline = due.deadline \
         RETURNING b.work_order_id, b.deadline, cityfix_ms(b.due_at) AS due_ms, \
         cityfix_ms(b.detected_at) AS detected_ms, b.notify_attempts",
    )
    .bind(ms(now))
    .bind(ms(lease_until))
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut pending = Vec::with_capacity(due.len());
    for row in &due {
        let work_order_id: i64 = row.get("work_order_id");
        let stored = load(&mut tx, work_order_id).await?;
        pending.push(PendingNotice {
            notice: EscalationNotice {
                work_order_id,
                incident_id: stored.state.incident_id,
                jurisdiction_id: Some(stored.jurisdiction_id),
                category: stored.category,
                contractor: stored.state.contractor,
                deadline: DeadlineKind::from_stored(row.get("deadline")),
                due_at: instant(row.get("due_ms"))?,
                detected_at: instant(row.get("detected_ms"))?,
            },
            attempts: u32::try_from(row.get::<i32, _>("notify_attempts")).unwrap_or(u32::MAX),
        });
    }
    tx.commit().await?;
    pending.sort_by_key(|p| (p.notice.detected_at, p.notice.work_order_id));
    Ok(pending)
}

pub(super) async fn record_notice_delivery(
    pool: &PgPool,
    work_order_id: i64,
    deadline: DeadlineKind,
    delivery: NoticeDelivery,
) -> Result<()> {
    let (notified_at, notify_after) = match delivery {
        NoticeDelivery::Delivered { at } => (Some(ms(at)), None),
        NoticeDelivery::Failed { retry_at } => (None, retry_at.map(ms)),
    };
    sqlx::query(
        "UPDATE breaches SET notified_at = cityfix_at($1), notify_after = cityfix_at($2) \
         WHERE work_order_id = $3 AND deadline = $4",
    )
    .bind(notified_at)
    .bind(notify_after)
    .bind(work_order_id)
    .bind(deadline.as_str())
    .execute(pool)
    .await?;
    Ok(())
}
