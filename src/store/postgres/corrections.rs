//! Supervisors' category corrections in PostgreSQL, and the triage list.
//!
//! A correction locks its report row (`FOR UPDATE`), so two supervisors correcting
//! one report at once are ordered; the incident's category then follows the later.
//! Shortcoming: it does not take the dedup advisory locks, so a report filed at the
//! same instant under the old category may still merge into the incident it just left.

use sqlx::{PgConnection, PgPool, Row};

use super::intake::append_event;
use super::{instant, ms};
use crate::store::{CategoryCorrection, CorrectionOutcome, Result, TrainingExample, TriageItem};

pub(super) async fn correct(
    pool: &PgPool,
    correction: &CategoryCorrection,
) -> Result<CorrectionOutcome> {
    let mut tx = pool.begin().await?;
    let outcome = correct_in(&mut tx, correction).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn correct_in(
    conn: &mut PgConnection,
    correction: &CategoryCorrection,
) -> Result<CorrectionOutcome> {
    let row = sqlx::query(
        "SELECT category, incident_id, jurisdiction_id, containing_jurisdictions \
         FROM reports WHERE id = $1 FOR UPDATE",
    )
    .bind(correction.report_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(CorrectionOutcome::ReportNotFound);
    };
    let containing: Vec<i64> = row.get("containing_jurisdictions");
    let supervised = correction.supervisor_jurisdiction_id;
    if row.get::<i64, _>("jurisdiction_id") != supervised && !containing.contains(&supervised) {
        return Ok(CorrectionOutcome::OtherJurisdiction);
    }
    let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM categories WHERE slug = $1")
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
         supervisor_token_id, corrected_at) VALUES ($1, $2, $3, $4, $5, cityfix_at($6)) \
         RETURNING id",
    )
    .bind(correction.report_id)
    .bind(incident_id)
    .bind(&old_category)
    .bind(&correction.category)
    .bind(correction.supervisor_token_id)
    .bind(ms(correction.at))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE reports SET category = $1 WHERE id = $2")
        .bind(&correction.category)
        .bind(correction.report_id)
        .execute(&mut *conn)
        .await?;
    for sql in [
        "UPDATE incidents SET category = $1 WHERE id = $2",
        "UPDATE work_orders SET category = $1 WHERE incident_id = $2",
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
    pool: &PgPool,
    jurisdiction_id: i64,
    limit: usize,
) -> Result<Vec<TriageItem>> {
    let rows = sqlx::query(
        "SELECT r.id, r.incident_id, r.jurisdiction_id, cityfix_ms(r.received_at) AS received_at_ms, \
         r.category, r.citizen_category, r.model_label, r.model_confidence, r.triage_reason, \
         r.photo_sha256 IS NOT NULL AS has_photo FROM reports r \
         WHERE r.triage_reason IS NOT NULL \
         AND (r.jurisdiction_id = $1 OR $1 = ANY(r.containing_jurisdictions)) \
         AND NOT EXISTS (SELECT 1 FROM category_corrections c WHERE c.report_id = r.id) \
         ORDER BY r.received_at, r.id LIMIT $2",
    )
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
                model_confidence: row.get("model_confidence"),
                triage_reason: row.get("triage_reason"),
                has_photo: row.get("has_photo"),
            })
        })
        .collect()
}

pub(super) async fn training_examples(pool: &PgPool) -> Result<Vec<TrainingExample>> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (c.report_id) c.report_id, r.photo_sha256, c.new_category, \
         cityfix_ms(c.corrected_at) AS corrected_at_ms \
         FROM category_corrections c JOIN reports r ON r.id = c.report_id \
         WHERE r.photo_sha256 IS NOT NULL ORDER BY c.report_id, c.id DESC",
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
