//! Work orders in the embedded store: queues, one order with its log, the
//! lifecycle commands and the breach claims. Every change runs under the
//! store's writer mutex in one transaction: the state is read, the lifecycle
//! decides, the events are appended and the cached state is written back.

use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::intake::{append_event, choose, open_counts, save_state};
use super::{instant, ms, reads};
use crate::dispatch::{Assignment, Command, WorkOrderState};
use crate::events::{Actor, Event, EventKind};
use crate::incidents::OpenIncidentIndex;
use crate::sla::{DeadlineKind, EscalationNotice};
use crate::store::{
    ChangeOutcome, NoticeDelivery, PendingNotice, Result, StoreError, WorkOrderChange,
    WorkOrderDetail, WorkOrderQuery, WorkOrderView,
};

const VIEW_SELECT: &str = "SELECT w.jurisdiction_id, w.category, w.priority, w.state, i.lon, \
     i.lat FROM work_orders w JOIN incidents i ON i.id = w.incident_id";

pub(super) async fn list(pool: &SqlitePool, query: &WorkOrderQuery) -> Result<Vec<WorkOrderView>> {
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(VIEW_SELECT);
    sql.push(" WHERE 1 = 1");
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
        sql.push(" AND w.assigned_at_ms >= ").push_bind(ms(from));
    }
    if let Some(before) = query.assigned_before {
        sql.push(" AND w.assigned_at_ms < ").push_bind(ms(before));
    }
    sql.push(" ORDER BY w.next_due_ms IS NULL, w.next_due_ms, w.id");
    if let Some(limit) = query.limit {
        sql.push(" LIMIT ").push_bind(limit as i64);
    }

    let rows = sql.build().fetch_all(pool).await?;
    rows.iter().map(view).collect()
}

fn view(row: &SqliteRow) -> Result<WorkOrderView> {
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

pub(super) async fn detail(pool: &SqlitePool, id: i64) -> Result<Option<WorkOrderDetail>> {
    let row = sqlx::query(&format!("{VIEW_SELECT} WHERE w.id = ?"))
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

async fn scope_of(conn: &mut SqliteConnection, id: i64, own: i64) -> Result<Vec<i64>> {
    let others: Vec<i64> = sqlx::query_scalar(
        "SELECT jurisdiction_id FROM work_order_scopes WHERE work_order_id = ? \
         AND jurisdiction_id <> ? ORDER BY jurisdiction_id",
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

async fn load(conn: &mut SqliteConnection, id: i64) -> Result<Stored> {
    let row = sqlx::query(
        "SELECT w.state, w.jurisdiction_id, w.category, \
         (SELECT MAX(at_ms) FROM events e WHERE e.work_order_id = w.id) AS last_at_ms \
         FROM work_orders w WHERE w.id = ?",
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

/// What a change does to the dedup index once it has committed.
enum IndexUpdate {
    Closed(i64, Timestamp),
    Reopened(i64),
}

pub(super) async fn change(
    pool: &SqlitePool,
    index: &mut OpenIncidentIndex,
    change: WorkOrderChange,
) -> Result<ChangeOutcome> {
    let mut tx = pool.begin().await?;
    let stored = load(&mut tx, change.work_order_id).await?;
    let mut state = stored.state;
    let at = change.at.max(stored.last_event_at);

    let mut events = vec![apply_command(&mut tx, &mut state, &change, at).await?];
    if let EventKind::WorkOrderRejected { .. } = &events[0].kind {
        events.push(reassign_after_rejection(&mut tx, &mut state, &change, at).await?);
    }

    let index_update = incident_update(&mut tx, &state, &events, at).await?;
    save_state(&mut tx, &state).await?;
    let scope = scope_of(&mut tx, state.work_order_id, stored.jurisdiction_id).await?;
    tx.commit().await?;

    // Only after the commit: a rolled-back close must not leave the index closed.
    match index_update {
        Some(IndexUpdate::Closed(incident_id, closed_at)) => {
            index.set_closed(incident_id, Some(closed_at));
        }
        Some(IndexUpdate::Reopened(incident_id)) => index.set_closed(incident_id, None),
        None => {}
    }
    tracing::debug!(work_order.id = state.work_order_id, category = %stored.category, status = %state.status, "work order changed");
    Ok(ChangeOutcome {
        state,
        events,
        scope,
    })
}

/// The change's own command, decided, recorded and appended; a reassignment
/// also moves the order to its new contract.
async fn apply_command(
    conn: &mut SqliteConnection,
    state: &mut WorkOrderState,
    change: &WorkOrderChange,
    at: Timestamp,
) -> Result<Event> {
    let (command, moves_to) = match change.command.clone() {
        Command::Reassign { contractor } => {
            let current = state.contractor.clone();
            let target = reassignment(conn, &change.candidates, at, contractor, current.as_deref());
            let (command, contract_id) = target.await?;
            (command, Some(contract_id))
        }
        other => (other, None),
    };
    let event = state.decide(command, &change.actor, at)?;
    record(conn, state, &event).await?;
    if let Some(contract_id) = moves_to {
        set_contract(conn, state.work_order_id, contract_id).await?;
    }
    Ok(event)
}

/// The system's reassignment of a rejected order by the dispatch rule,
/// passing over the contractor that rejected it.
async fn reassign_after_rejection(
    conn: &mut SqliteConnection,
    state: &mut WorkOrderState,
    change: &WorkOrderChange,
    at: Timestamp,
) -> Result<Event> {
    let rejecting = match &change.actor {
        Actor::Contractor { contractor } => Some(contractor.as_str()),
        _ => None,
    };
    let loads = open_counts(conn, &change.candidates, at).await?;
    let (contractor, contract_id) = match choose(&change.candidates, &loads, rejecting) {
        Assignment::Contract {
            contract_id,
            contractor,
        } => (Some(contractor), Some(contract_id)),
        Assignment::Supervisors { .. } => (None, None),
    };
    let event = state.decide(Command::Reassign { contractor }, &Actor::System, at)?;
    record(conn, state, &event).await?;
    set_contract(conn, state.work_order_id, contract_id).await?;
    Ok(event)
}

/// A supervisor's reassignment: to the named contractor's least loaded
/// covering contract (capacity is the supervisor's call), or by the dispatch
/// rule to anyone but the current contractor.
async fn reassignment(
    conn: &mut SqliteConnection,
    candidates: &[crate::dispatch::Contract],
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

async fn record(
    conn: &mut SqliteConnection,
    state: &mut WorkOrderState,
    event: &Event,
) -> Result<()> {
    state.apply(event).map_err(StoreError::corrupt)?;
    append_event(conn, event).await
}

async fn set_contract(
    conn: &mut SqliteConnection,
    work_order_id: i64,
    contract_id: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE work_orders SET contract_id = ? WHERE id = ?")
        .bind(contract_id)
        .bind(work_order_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Closing a work order closes its incident; reopening reopens it.
async fn incident_update(
    conn: &mut SqliteConnection,
    state: &WorkOrderState,
    events: &[Event],
    at: Timestamp,
) -> Result<Option<IndexUpdate>> {
    let update = match events.last().map(|e| &e.kind) {
        Some(EventKind::WorkOrderClosed { .. }) => IndexUpdate::Closed(state.incident_id, at),
        Some(EventKind::WorkOrderReopened { .. }) => IndexUpdate::Reopened(state.incident_id),
        _ => return Ok(None),
    };
    let closed_at_ms = match update {
        IndexUpdate::Closed(_, closed_at) => Some(ms(closed_at)),
        IndexUpdate::Reopened(_) => None,
    };
    sqlx::query("UPDATE incidents SET closed_at_ms = ? WHERE id = ?")
        .bind(closed_at_ms)
        .bind(state.incident_id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(update))
}

pub(super) async fn claim_breaches(
    pool: &SqlitePool,
    now: Timestamp,
    notice_lease: Option<Timestamp>,
    limit: usize,
) -> Result<Vec<EscalationNotice>> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query(
        "SELECT id, 'response' AS deadline, response_watch_ms AS due_ms FROM work_orders \
         WHERE response_watch_ms < ?1 \
         UNION ALL SELECT id, 'resolution', resolution_watch_ms FROM work_orders \
         WHERE resolution_watch_ms < ?1 ORDER BY 3, 1 LIMIT ?2",
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
    conn: &mut SqliteConnection,
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
            "INSERT OR IGNORE INTO breaches (work_order_id, deadline, due_at_ms, detected_at_ms, \
             notify_after_ms, notify_attempts) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(work_order_id)
        .bind(kind.as_str())
        .bind(ms(due_at))
        .bind(ms(now))
        .bind(notice_lease.map(ms))
        .bind(i64::from(notice_lease.is_some()))
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
    pool: &SqlitePool,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<PendingNotice>> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query(
        "UPDATE breaches SET notify_after_ms = ?2, notify_attempts = notify_attempts + 1 \
         WHERE rowid IN (SELECT rowid FROM breaches WHERE notify_after_ms <= ?1 \
         ORDER BY notify_after_ms, work_order_id LIMIT ?3) \
         RETURNING work_order_id, deadline, due_at_ms, detected_at_ms, notify_attempts",
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
                due_at: instant(row.get("due_at_ms"))?,
                detected_at: instant(row.get("detected_at_ms"))?,
            },
            attempts: u32::try_from(row.get::<i64, _>("notify_attempts")).unwrap_or(u32::MAX),
        });
    }
    tx.commit().await?;
    pending.sort_by_key(|p| (p.notice.detected_at, p.notice.work_order_id));
    Ok(pending)
}

pub(super) async fn record_notice_delivery(
    pool: &SqlitePool,
    work_order_id: i64,
    deadline: DeadlineKind,
    delivery: NoticeDelivery,
) -> Result<()> {
    let (notified_at, notify_after) = match delivery {
        NoticeDelivery::Delivered { at } => (Some(ms(at)), None),
        NoticeDelivery::Failed { retry_at } => (None, retry_at.map(ms)),
    };
    sqlx::query(
        "UPDATE breaches SET notified_at_ms = ?, notify_after_ms = ? \
         WHERE work_order_id = ? AND deadline = ?",
    )
    .bind(notified_at)
    .bind(notify_after)
    .bind(work_order_id)
    .bind(deadline.as_str())
    .execute(pool)
    .await?;
    Ok(())
}
