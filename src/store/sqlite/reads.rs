//! Reads of the embedded store: what citizens, maps and figures ask.

use geo::Point;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{instant, opt_instant};
use crate::events::Event;
use crate::sla::Priority;
use crate::store::{
    IncidentQuery, IncidentView, JurisdictionName, ReportPoint, ReportView, Result, StoreError,
    WorkOrderSummary,
};

fn priority(text: &str) -> Result<Priority> {
    text.parse().map_err(StoreError::corrupt)
}

pub(super) async fn report(pool: &SqlitePool, id: i64) -> Result<Option<ReportView>> {
    let row = sqlx::query(
        "SELECT r.*, j.name AS jurisdiction_name, j.level AS jurisdiction_level, \
         i.report_count, i.priority, COALESCE(w.status, 'received') AS work_status \
         FROM reports r JOIN jurisdictions j ON j.id = r.jurisdiction_id \
         JOIN incidents i ON i.id = r.incident_id \
         LEFT JOIN work_orders w ON w.incident_id = r.incident_id WHERE r.id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| report_view(&row)).transpose()
}

fn report_view(row: &SqliteRow) -> Result<ReportView> {
    let containing: String = row.get("containing_jurisdictions");
    let triage_reason: Option<String> = row.get("triage_reason");
    Ok(ReportView {
        id: row.get("id"),
        received_at: instant(row.get("received_at_ms"))?,
        lat: row.get("lat"),
        lon: row.get("lon"),
        accuracy_m: row.get("accuracy_m"),
        position_source: row.get("position_source"),
        category: row.get("category"),
        citizen_category: row.get("citizen_category"),
        description: row.get("description"),
        has_photo: row.get::<Option<String>, _>("photo_sha256").is_some(),
        model_label: row.get("model_label"),
        model_confidence: row
            .get::<Option<f64>, _>("model_confidence")
            .map(|c| c as f32),
        triage: triage_reason.is_some(),
        triage_reason,
        jurisdiction: JurisdictionName {
            id: row.get("jurisdiction_id"),
            name: row.get("jurisdiction_name"),
            level: row.get("jurisdiction_level"),
        },
        containing_jurisdictions: serde_json::from_str(&containing).map_err(StoreError::corrupt)?,
        overlap: row.get("overlap"),
        near_boundary: row.get("near_boundary"),
        placeholder: row.get("placeholder"),
        incident_id: row.get("incident_id"),
        incident_report_count: row.get::<i64, _>("report_count") as u32,
        priority: priority(row.get("priority"))?,
        status: row.get("work_status"),
    })
}

pub(super) async fn incidents(
    pool: &SqlitePool,
    query: &IncidentQuery,
) -> Result<Vec<IncidentView>> {
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT i.*, w.id AS work_order_id, w.status AS work_status, w.contractor, \
         w.resolution_due_at_ms FROM incidents i LEFT JOIN work_orders w ON w.incident_id = i.id \
         WHERE 1 = 1",
    );
    if let Some([west, south, east, north]) = query.bbox {
        sql.push(" AND i.lon BETWEEN ")
            .push_bind(west)
            .push(" AND ")
            .push_bind(east);
        sql.push(" AND i.lat BETWEEN ")
            .push_bind(south)
            .push(" AND ")
            .push_bind(north);
    }
    if let Some(category) = &query.category {
        sql.push(" AND i.category = ").push_bind(category.clone());
    }
    if let Some(jurisdiction_id) = query.jurisdiction_id {
        sql.push(" AND i.jurisdiction_id = ")
            .push_bind(jurisdiction_id);
    }
    if let Some(before_id) = query.before_id {
        sql.push(" AND i.id < ").push_bind(before_id);
    }
    match query.status.as_deref() {
        Some("open") => {
            sql.push(" AND COALESCE(w.status, '') <> 'closed'");
        }
        Some(status) => {
            sql.push(" AND w.status = ").push_bind(status.to_string());
        }
        None => {}
    }
    sql.push(" ORDER BY i.id DESC LIMIT ")
        .push_bind(query.limit as i64);

    let rows = sql.build().fetch_all(pool).await?;
    rows.iter().map(incident_view).collect()
}

fn incident_view(row: &SqliteRow) -> Result<IncidentView> {
    Ok(IncidentView {
        id: row.get("id"),
        category: row.get("category"),
        jurisdiction_id: row.get("jurisdiction_id"),
        lon: row.get("lon"),
        lat: row.get("lat"),
        priority: priority(row.get("priority"))?,
        report_count: row.get::<i64, _>("report_count") as u32,
        opened_at: instant(row.get("opened_at_ms"))?,
        last_report_at: instant(row.get("last_report_at_ms"))?,
        closed_at: opt_instant(row.get("closed_at_ms"))?,
        placeholder: row.get("placeholder"),
        status: row
            .get::<Option<String>, _>("work_status")
            .unwrap_or_else(|| "received".into()),
        work_order_id: row.get("work_order_id"),
        contractor: row.get("contractor"),
        resolution_due_at: opt_instant(row.get("resolution_due_at_ms"))?,
    })
}

pub(super) async fn report_points(pool: &SqlitePool) -> Result<Vec<ReportPoint>> {
    let rows = sqlx::query(
        "SELECT r.id, r.incident_id, r.lon, r.lat, r.category, r.jurisdiction_id, \
         r.received_at_ms, COALESCE(w.status, 'received') AS status FROM reports r \
         LEFT JOIN work_orders w ON w.incident_id = r.incident_id ORDER BY r.id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReportPoint {
                report_id: row.get("id"),
                incident_id: row.get("incident_id"),
                position: Point::new(row.get("lon"), row.get("lat")),
                category: row.get("category"),
                status: row.get("status"),
                jurisdiction_id: row.get("jurisdiction_id"),
                received_at: instant(row.get("received_at_ms"))?,
            })
        })
        .collect()
}

pub(super) async fn events(pool: &SqlitePool, work_order_id: Option<i64>) -> Result<Vec<Event>> {
    let bodies: Vec<String> = match work_order_id {
        Some(id) => {
            sqlx::query_scalar("SELECT body FROM events WHERE work_order_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(pool)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT body FROM events ORDER BY id")
                .fetch_all(pool)
                .await?
        }
    };
    bodies
        .iter()
        .map(|body| serde_json::from_str(body).map_err(StoreError::corrupt))
        .collect()
}

pub(super) async fn work_order_summaries(
    pool: &SqlitePool,
    within_jurisdiction: Option<i64>,
) -> Result<Vec<WorkOrderSummary>> {
    let rows = sqlx::query(
        "SELECT id, incident_id, jurisdiction_id, category, contractor, status, assigned_at_ms, \
         resolution_due_at_ms, closed_at_ms, state FROM work_orders \
         WHERE ?1 IS NULL OR id IN (SELECT work_order_id FROM work_order_scopes \
         WHERE jurisdiction_id = ?1) ORDER BY id",
    )
    .bind(within_jurisdiction)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let state: crate::dispatch::WorkOrderState =
                serde_json::from_str(row.get("state")).map_err(StoreError::corrupt)?;
            Ok(WorkOrderSummary {
                id: row.get("id"),
                incident_id: row.get("incident_id"),
                jurisdiction_id: row.get("jurisdiction_id"),
                category: row.get("category"),
                contractor: row.get("contractor"),
                status: row.get("status"),
                assigned_at: instant(row.get("assigned_at_ms"))?,
                resolution_due_at: opt_instant(row.get("resolution_due_at_ms"))?,
                resolved_at: state.resolved_at,
            })
        })
        .collect()
}
