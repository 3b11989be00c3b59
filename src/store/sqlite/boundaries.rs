//! Boundary versions and the city's set-up in the embedded store.

use std::collections::HashSet;

use geo::MultiPolygon;
use jiff::Timestamp;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::ms;
use crate::boundaries::ParsedBoundaries;
use crate::boundaries::canonical::canonical_area_m2;
use crate::setup::CitySetup;
use crate::store::{
    BoundaryImport, ImportOutcome, JurisdictionRecord, Result, SetupOutcome, StoreError,
};

pub(super) async fn import(
    pool: &SqlitePool,
    import: &BoundaryImport,
    parsed: &ParsedBoundaries,
    now: Timestamp,
) -> Result<ImportOutcome> {
    let mut tx = pool.begin().await?;
    let level_rank = ensure_level(&mut tx, &import.level, import.level_rank).await?;

    let last_hash: Option<String> = sqlx::query_scalar(
        "SELECT content_hash FROM boundary_imports WHERE level = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(&import.level)
    .fetch_optional(&mut *tx)
    .await?;
    // A new time zone for the same polygons is a change too: it moves every
    // deadline of these jurisdictions.
    let other_zones: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jurisdictions WHERE level = ? AND time_zone <> ?")
            .bind(&import.level)
            .bind(&import.time_zone)
            .fetch_one(&mut *tx)
            .await?;
    let mut outcome = ImportOutcome {
        import_id: None,
        level: import.level.clone(),
        level_rank,
        unchanged: last_hash.as_deref() == Some(parsed.content_hash.as_str()) && other_zones == 0,
        added: 0,
        changed: 0,
        kept: 0,
        retired: 0,
    };
    if outcome.unchanged {
        tx.commit().await?;
        return Ok(outcome);
    }

    let import_id = sqlx::query(
        "INSERT INTO boundary_imports (level, content_hash, source_name, feature_count, \
         imported_at_ms) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&import.level)
    .bind(&parsed.content_hash)
    .bind(&import.source_name)
    .bind(parsed.features.len() as i64)
    .bind(ms(now))
    .execute(&mut *tx)
    .await?
    .last_insert_rowid();
    outcome.import_id = Some(import_id);

    let mut seen = HashSet::new();
    for feature in &parsed.features {
        let jurisdiction_id = upsert_jurisdiction(&mut tx, import, feature).await?;
        seen.insert(jurisdiction_id);
        let geometry = geometry_text(&feature.geometry)?;
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, geometry FROM boundary_versions \
             WHERE jurisdiction_id = ? AND valid_until_ms IS NULL",
        )
        .bind(jurisdiction_id)
        .fetch_optional(&mut *tx)
        .await?;
        match current {
            Some((_, text)) if text == geometry => {
                outcome.kept += 1;
                continue;
            }
            Some((version_id, _)) => {
                close_version(&mut tx, version_id, now).await?;
                outcome.changed += 1;
            }
            None => outcome.added += 1,
        }
        sqlx::query(
            "INSERT INTO boundary_versions (jurisdiction_id, import_id, valid_from_ms, geometry, \
             area_m2) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(jurisdiction_id)
        .bind(import_id)
        .bind(ms(now))
        .bind(geometry)
        .bind(canonical_area_m2(&feature.geometry))
        .execute(&mut *tx)
        .await?;
    }

    outcome.retired = retire_missing(&mut tx, &import.level, &seen, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn ensure_level(
    conn: &mut SqliteConnection,
    level: &str,
    wanted_rank: Option<u32>,
) -> Result<u32> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT rank FROM levels WHERE name = ?")
        .bind(level)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(rank) = existing {
        let rank = rank as u32;
        if wanted_rank.is_some_and(|wanted| wanted != rank) {
            return Err(StoreError::Conflict(format!(
                "level {level:?} already has rank {rank}; ranks of existing levels do not change"
            )));
        }
        return Ok(rank);
    }

    let rank = match wanted_rank {
        Some(rank) => rank,
        None => {
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(rank) FROM levels")
                .fetch_one(&mut *conn)
                .await?;
            max.map_or(0, |max| max as u32 + 1)
        }
    };
    sqlx::query("INSERT INTO levels (name, rank) VALUES (?, ?)")
        .bind(level)
        .bind(i64::from(rank))
        .execute(&mut *conn)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
                "another level already has rank {rank}; choose another --level-rank"
            )),
            other => other.into(),
        })?;
    Ok(rank)
}

async fn upsert_jurisdiction(
    conn: &mut SqliteConnection,
    import: &BoundaryImport,
    feature: &crate::boundaries::BoundaryFeature,
) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO jurisdictions (level, external_id, name, time_zone) VALUES (?, ?, ?, ?) \
         ON CONFLICT (level, external_id) DO UPDATE SET name = excluded.name, \
         time_zone = excluded.time_zone RETURNING id",
    )
    .bind(&import.level)
    .bind(&feature.external_id)
    .bind(&feature.name)
    .bind(&import.time_zone)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

async fn close_version(conn: &mut SqliteConnection, version_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE boundary_versions SET valid_until_ms = ? WHERE id = ?")
        .bind(ms(now))
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn retire_missing(
    conn: &mut SqliteConnection,
    level: &str,
    seen: &HashSet<i64>,
    now: Timestamp,
) -> Result<usize> {
    let current: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT v.id, v.jurisdiction_id FROM boundary_versions v \
         JOIN jurisdictions j ON j.id = v.jurisdiction_id \
         WHERE j.level = ? AND v.valid_until_ms IS NULL",
    )
    .bind(level)
    .fetch_all(&mut *conn)
    .await?;
    let mut retired = 0;
    for (version_id, jurisdiction_id) in current {
        if !seen.contains(&jurisdiction_id) {
            close_version(conn, version_id, now).await?;
            retired += 1;
        }
    }
    Ok(retired)
}

pub(crate) fn geometry_text(geometry: &MultiPolygon<f64>) -> Result<String> {
    let value = geojson::GeometryValue::from(geometry);
    serde_json::to_string(&geojson::Geometry::new(value)).map_err(StoreError::corrupt)
}

pub(crate) fn parse_geometry(text: &str) -> Result<MultiPolygon<f64>> {
    let geometry: geojson::Geometry = text.parse().map_err(StoreError::corrupt)?;
    MultiPolygon::try_from(geometry).map_err(StoreError::corrupt)
}

pub(super) async fn current(pool: &SqlitePool) -> Result<Vec<JurisdictionRecord>> {
    let rows = sqlx::query(
        "SELECT j.id, j.level, l.rank, j.external_id, j.name, j.time_zone, v.id AS version_id, \
         v.area_m2, v.geometry FROM jurisdictions j \
         JOIN levels l ON l.name = j.level \
         JOIN boundary_versions v ON v.jurisdiction_id = j.id AND v.valid_until_ms IS NULL \
         ORDER BY j.id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(JurisdictionRecord {
                id: row.get("id"),
                level: row.get("level"),
                level_rank: row.get::<i64, _>("rank") as u32,
                external_id: row.get("external_id"),
                name: row.get("name"),
                time_zone: row.get("time_zone"),
                boundary_version_id: row.get("version_id"),
                area_m2: row.get("area_m2"),
                geometry: parse_geometry(row.get("geometry"))?,
            })
        })
        .collect()
}

pub(super) async fn apply_setup(
    pool: &SqlitePool,
    setup: &CitySetup,
    text: &str,
    now: Timestamp,
) -> Result<SetupOutcome> {
    let mut tx = pool.begin().await?;
    let latest: Option<String> =
        sqlx::query_scalar("SELECT content_hash FROM setup_documents ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    let outcome = SetupOutcome {
        unchanged: latest.as_deref() == Some(setup.content_hash.as_str()),
        categories: setup.categories.len(),
        contractors: setup.contractors.len(),
        contracts: setup.contracts.len(),
    };
    if outcome.unchanged {
        tx.commit().await?;
        return Ok(outcome);
    }

    sqlx::query("DELETE FROM setup_documents WHERE content_hash = ?")
        .bind(&setup.content_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO setup_documents (content_hash, body, applied_at_ms) VALUES (?, ?, ?)")
        .bind(&setup.content_hash)
        .bind(text)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
    write_categories(&mut tx, setup).await?;
    write_contracts(&mut tx, setup, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn write_categories(conn: &mut SqliteConnection, setup: &CitySetup) -> Result<()> {
    for category in &setup.categories {
        sqlx::query(
            "INSERT INTO categories (slug, name, dedup_radius_m, dedup_window_s, \
             default_priority) VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO UPDATE SET \
             name = excluded.name, dedup_radius_m = excluded.dedup_radius_m, \
             dedup_window_s = excluded.dedup_window_s, \
             default_priority = excluded.default_priority",
        )
        .bind(&category.slug)
        .bind(&category.name)
        .bind(category.dedup_radius_m)
        .bind(category.dedup_window_s)
        .bind(category.default_priority.as_str())
        .execute(&mut *conn)
        .await?;
    }
    for contractor in &setup.contractors {
        sqlx::query(
            "INSERT INTO contractors (slug, name) VALUES (?, ?) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name",
        )
        .bind(&contractor.slug)
        .bind(&contractor.name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_contracts(
    conn: &mut SqliteConnection,
    setup: &CitySetup,
    now: Timestamp,
) -> Result<()> {
    let mut kept = Vec::with_capacity(setup.contracts.len());
    for contract in &setup.contracts {
        let categories =
            serde_json::to_string(&contract.categories).map_err(StoreError::corrupt)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contracts (slug, contractor, jurisdiction_id, categories, valid_from_ms, \
             valid_until_ms, capacity) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (slug, jurisdiction_id) DO UPDATE SET contractor = excluded.contractor, \
             categories = excluded.categories, valid_from_ms = excluded.valid_from_ms, \
             valid_until_ms = excluded.valid_until_ms, capacity = excluded.capacity RETURNING id",
        )
        .bind(&contract.slug)
        .bind(&contract.contractor)
        .bind(contract.jurisdiction_id)
        .bind(categories)
        .bind(ms(contract.valid_from))
        .bind(contract.valid_until.map(ms))
        .bind(i64::from(contract.capacity))
        .fetch_one(&mut *conn)
        .await?;
        kept.push(id);
    }

    // Contracts the new set-up no longer lists end now; their rows stay, since
    // work orders point at them.
    let all: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, valid_until_ms FROM contracts")
        .fetch_all(&mut *conn)
        .await?;
    for (id, until) in all {
        if !kept.contains(&id) && until.is_none_or(|until| until > ms(now)) {
            sqlx::query("UPDATE contracts SET valid_until_ms = ? WHERE id = ?")
                .bind(ms(now))
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn contract_ids(pool: &SqlitePool, setup: &CitySetup) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(setup.contracts.len());
    for contract in &setup.contracts {
        let row = sqlx::query("SELECT id FROM contracts WHERE slug = ? AND jurisdiction_id = ?")
            .bind(&contract.slug)
            .bind(contract.jurisdiction_id)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "contract {:?}: apply the set-up with `cityfix setup apply`",
                    contract.slug
                ))
            })?;
        ids.push(row.get("id"));
    }
    Ok(ids)
}
