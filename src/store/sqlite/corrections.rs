//! Supervisors' category corrections in the embedded store, and the triage list.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::intake::append_event;
use super::{instant, ms};
use crate::incidents::OpenIncidentIndex;
use crate::store::{
    CategoryCorrection, CorrectionOutcome, Result, StoreError, TrainingExample, TriageItem,
};

pub(super) async fn correct(
    pool: &SqlitePool,
    index: &mut OpenIncidentIndex,
    correction: &CategoryCorrection,
) -> Result<CorrectionOutcome> {
    let mut tx = pool.begin().await?;
    let outcome = correct_in(&mut tx, correction).await?;
    tx.commit().await?;
    if let CorrectionOutcome::Corrected(record) = &outcome {
        index.set_category(record.incident_id, &record.new_category);
    }
    Ok(outcome)
}

async fn correct_in(
    conn: &mut SqliteConnection,
    correction: &CategoryCorrection,
) -> Result<CorrectionOutcome> {
    let row = sqlx::query(
        "SELECT category, incident_id, jurisdiction_id, containing_jurisdictions \
         FROM reports WHERE id = ?",
    )
    .bind(correction.report_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(CorrectionOutcome::ReportNotFound);
    };
    let containing: Vec<i64> =
        serde_json::from_str(row.get("containing_jurisdictions")).map_err(StoreError::corrupt)?;
    let supervised = correction.supervisor_jurisdiction_id;
    if row.get::<i64, _>("jurisdiction_id") != supervised && !containing.contains(&supervised) {
        return Ok(CorrectionOutcome::OtherJurisdiction);
    }
    let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM categories WHERE slug = ?")
        .bind(&correction.category)
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_none() {
        return Ok(CorrectionOutcome::UnknownCategory);
    }

    let old_category: String = row.get("category");
    let incident_id: i64 = row.get("incident_id");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO category_corrections (report_id, incident_id, old_category, new_category, \
         supervisor_token_id, corrected_at_ms) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(correction.report_id)
    .bind(incident_id)
    .bind(&old_category)
    .bind(&correction.category)
    .bind(correction.supervisor_token_id)
    .bind(ms(correction.at))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE reports SET category = ? WHERE id = ?")
        .bind(&correction.category)
        .bind(correction.report_id)
        .execute(&mut *conn)
        .await?;
    for sql in [
        "UPDATE incidents SET category = ? WHERE id = ?",
        "UPDATE work_orders SET category = ? WHERE incident_id = ?",
    ] {
        sqlx::query(sql)
            .bind(&correction.category)
            .bind(incident_id)
            .execute(&mut *conn)
            .await?;
    }
    append_event(conn, &correction.event(incident_id, &old_category)).await?;
    Ok(CorrectionOutcome::Corrected(correction.record(
        id,
        incident_id,
        old_category,
    )))
}

pub(super) async fn triage(
    pool: &SqlitePool,
    jurisdiction_id: i64,
    limit: usize,
) -> Result<Vec<TriageItem>> {
    let rows = sqlx::query(
        "SELECT r.id, r.incident_id, r.jurisdiction_id, r.received_at_ms, r.category, \
         r.citizen_category, r.model_label, r.model_confidence, r.triage_reason, \
         r.photo_sha256 IS NOT NULL AS has_photo FROM reports r \
         WHERE r.triage_reason IS NOT NULL \
         AND (r.jurisdiction_id = ? OR EXISTS \
              (SELECT 1 FROM json_each(r.containing_jurisdictions) WHERE value = ?)) \
         AND NOT EXISTS (SELECT 1 FROM category_corrections c WHERE c.report_id = r.id) \
         ORDER BY r.received_at_ms, r.id LIMIT ?",
    )
    .bind(jurisdiction_id)
    .bind(jurisdiction_id)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TriageItem {
                report_id: row.get("id"),
                incident_id: row.get("incident_id"),
                jurisdiction_id: row.get("jurisdiction_id"),
                received_at: instant(row.get("received_at_ms"))?,
                category: row.get("category"),
                citizen_category: row.get("citizen_category"),
                model_label: row.get("model_label"),
                model_confidence: row
                    .get::<Option<f64>, _>("model_confidence")
                    .map(|c| c as f32),
                triage_reason: row.get("triage_reason"),
                has_photo: row.get("has_photo"),
            })
        })
        .collect()
}

pub(super) async fn training_examples(pool: &SqlitePool) -> Result<Vec<TrainingExample>> {
    let rows = sqlx::query(
        "SELECT c.report_id, r.photo_sha256, c.new_category, c.corrected_at_ms \
         FROM category_corrections c JOIN reports r ON r.id = c.report_id \
         WHERE r.photo_sha256 IS NOT NULL AND c.id = \
         (SELECT MAX(id) FROM category_corrections WHERE report_id = c.report_id) \
         ORDER BY c.report_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TrainingExample {
                report_id: row.get("report_id"),
                photo_sha256: row.get("photo_sha256"),
                category: row.get("new_category"),
                corrected_at: instant(row.get("corrected_at_ms"))?,
            })
        })
        .collect()
}
