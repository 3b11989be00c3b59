//! Boundary versions and the city's set-up in PostGIS.
//!
//! Rows are looked up before they are inserted rather than upserted with
//! `ON CONFLICT`: an upsert that updates still draws a value from the identity
//! sequence, and the ids would then drift from the embedded store's for the
//! same history.

use std::collections::HashSet;

use geo::MultiPolygon;
use jiff::Timestamp;
use sqlx::{PgConnection, PgPool, Row};

use super::ms;
use crate::boundaries::canonical::canonical_area_m2;
use crate::boundaries::{BoundaryFeature, ParsedBoundaries};
use crate::setup::CitySetup;
use crate::store::{
    BoundaryImport, ImportOutcome, JurisdictionRecord, Result, SetupOutcome, StoreError,
};

/// Serialises boundary imports and set-up changes across processes; they are
/// rare, and taking one lock is simpler than reasoning about interleavings.
const CITY_LOCK_KEY: i64 = 0x6369_7479_6669_7801;

async fn lock_city(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CITY_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn import(
    pool: &PgPool,
    import: &BoundaryImport,
    parsed: &ParsedBoundaries,
    now: Timestamp,
) -> Result<ImportOutcome> {
    let mut tx = pool.begin().await?;
    lock_city(&mut tx).await?;
    let level_rank = ensure_level(&mut tx, &import.level, import.level_rank).await?;

    let last_hash: Option<String> = sqlx::query_scalar(
        "SELECT content_hash FROM boundary_imports WHERE level = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(&import.level)
    .fetch_optional(&mut *tx)
    .await?;
    // A new time zone for the same polygons is a change too: it moves every
    // deadline of these jurisdictions.
    let other_zones: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jurisdictions WHERE level = $1 AND time_zone <> $2",
    )
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

    let import_id: i64 = sqlx::query_scalar(
        "INSERT INTO boundary_imports (level, content_hash, source_name, feature_count, \
         imported_at) VALUES ($1, $2, $3, $4, cityfix_at($5)) RETURNING id",
    )
    .bind(&import.level)
    .bind(&parsed.content_hash)
    .bind(&import.source_name)
    .bind(parsed.features.len() as i64)
    .bind(ms(now))
    .fetch_one(&mut *tx)
    .await?;
    outcome.import_id = Some(import_id);

    let mut seen = HashSet::new();
    for feature in &parsed.features {
        let jurisdiction_id = upsert_jurisdiction(&mut tx, import, feature).await?;
        seen.insert(jurisdiction_id);
        let geojson = geometry_text(&feature.geometry)?;
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, geojson FROM boundary_versions \
             WHERE jurisdiction_id = $1 AND valid_until IS NULL",
        )
        .bind(jurisdiction_id)
        .fetch_optional(&mut *tx)
        .await?;
        match current {
            Some((_, text)) if text == geojson => {
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
            "INSERT INTO boundary_versions (jurisdiction_id, import_id, valid_from, geojson, \
             geometry, area_m2) VALUES ($1, $2, cityfix_at($3), $4, \
             ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($4), 4326)), $5)",
        )
        .bind(jurisdiction_id)
        .bind(import_id)
        .bind(ms(now))
        .bind(&geojson)
        .bind(canonical_area_m2(&feature.geometry))
        .execute(&mut *tx)
        .await?;
    }

    outcome.retired = retire_missing(&mut tx, &import.level, &seen, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn ensure_level(
    conn: &mut PgConnection,
    level: &str,
    wanted_rank: Option<u32>,
) -> Result<u32> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT rank FROM levels WHERE name = $1")
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
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM levels WHERE rank = $1)")
        .bind(i64::from(rank))
        .fetch_one(&mut *conn)
        .await?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "another level already has rank {rank}; choose another --level-rank"
        )));
    }
    sqlx::query("INSERT INTO levels (name, rank) VALUES ($1, $2)")
        .bind(level)
        .bind(i64::from(rank))
        .execute(&mut *conn)
        .await?;
    Ok(rank)
}

async fn upsert_jurisdiction(
    conn: &mut PgConnection,
    import: &BoundaryImport,
    feature: &BoundaryFeature,
) -> Result<i64> {
    let existing: Option<i64> = sqlx::query_scalar(
        "UPDATE jurisdictions SET name = $3, time_zone = $4 \
         WHERE level = $1 AND external_id = $2 RETURNING id",
    )
    .bind(&import.level)
    .bind(&feature.external_id)
    .bind(&feature.name)
    .bind(&import.time_zone)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = sqlx::query_scalar(
        "INSERT INTO jurisdictions (level, external_id, name, time_zone) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&import.level)
    .bind(&feature.external_id)
    .bind(&feature.name)
    .bind(&import.time_zone)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

async fn close_version(conn: &mut PgConnection, version_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE boundary_versions SET valid_until = cityfix_at($1) WHERE id = $2")
        .bind(ms(now))
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn retire_missing(
    conn: &mut PgConnection,
    level: &str,
    seen: &HashSet<i64>,
    now: Timestamp,
) -> Result<usize> {
    let current: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT v.id, v.jurisdiction_id FROM boundary_versions v \
         JOIN jurisdictions j ON j.id = v.jurisdiction_id \
         WHERE j.level = $1 AND v.valid_until IS NULL ORDER BY v.id",
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

fn geometry_text(geometry: &MultiPolygon<f64>) -> Result<String> {
    let value = geojson::GeometryValue::from(geometry);
    serde_json::to_string(&geojson::Geometry::new(value)).map_err(StoreError::corrupt)
}

fn parse_geometry(text: &str) -> Result<MultiPolygon<f64>> {
    let geometry: geojson::Geometry = text.parse().map_err(StoreError::corrupt)?;
    MultiPolygon::try_from(geometry).map_err(StoreError::corrupt)
}

pub(super) async fn current(pool: &PgPool) -> Result<Vec<JurisdictionRecord>> {
    let rows = sqlx::query(
        "SELECT j.id, j.level, l.rank, j.external_id, j.name, j.time_zone, v.id AS version_id, \
         v.area_m2, v.geojson FROM jurisdictions j \
         JOIN levels l ON l.name = j.level \
         JOIN boundary_versions v ON v.jurisdiction_id = j.id AND v.valid_until IS NULL \
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
                geometry: parse_geometry(row.get("geojson"))?,
            })
        })
        .collect()
}

pub(super) async fn apply_setup(
    pool: &PgPool,
    setup: &CitySetup,
    text: &str,
    now: Timestamp,
) -> Result<SetupOutcome> {
    let mut tx = pool.begin().await?;
    lock_city(&mut tx).await?;
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

    sqlx::query("DELETE FROM setup_documents WHERE content_hash = $1")
        .bind(&setup.content_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO setup_documents (content_hash, body, applied_at) \
         VALUES ($1, $2, cityfix_at($3))",
    )
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

async fn write_categories(conn: &mut PgConnection, setup: &CitySetup) -> Result<()> {
    for category in &setup.categories {
        sqlx::query(
            "INSERT INTO categories (slug, name, dedup_radius_m, dedup_window_s, \
             default_priority) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slug) DO UPDATE SET \
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
            "INSERT INTO contractors (slug, name) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name",
        )
        .bind(&contractor.slug)
        .bind(&contractor.name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_contracts(conn: &mut PgConnection, setup: &CitySetup, now: Timestamp) -> Result<()> {
    let mut kept = Vec::with_capacity(setup.contracts.len());
    for contract in &setup.contracts {
        let existing: Option<i64> = sqlx::query_scalar(
            "UPDATE contracts SET contractor = $3, categories = $4, valid_from = cityfix_at($5), \
             valid_until = cityfix_at($6), capacity = $7 \
             WHERE slug = $1 AND jurisdiction_id = $2 RETURNING id",
        )
        .bind(&contract.slug)
        .bind(contract.jurisdiction_id)
        .bind(&contract.contractor)
        .bind(&contract.categories)
        .bind(ms(contract.valid_from))
        .bind(contract.valid_until.map(ms))
        .bind(i64::from(contract.capacity))
        .fetch_optional(&mut *conn)
        .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO contracts (slug, jurisdiction_id, contractor, categories, \
                     valid_from, valid_until, capacity) \
                     VALUES ($1, $2, $3, $4, cityfix_at($5), cityfix_at($6), $7) RETURNING id",
                )
                .bind(&contract.slug)
                .bind(contract.jurisdiction_id)
                .bind(&contract.contractor)
                .bind(&contract.categories)
                .bind(ms(contract.valid_from))
                .bind(contract.valid_until.map(ms))
                .bind(i64::from(contract.capacity))
                .fetch_one(&mut *conn)
                .await?
            }
        };
        kept.push(id);
    }

    // Contracts the new set-up no longer lists end now; their rows stay, since
    // work orders point at them.
    sqlx::query(
        "UPDATE contracts SET valid_until = cityfix_at($2) WHERE NOT (id = ANY($1)) \
         AND (valid_until IS NULL OR valid_until > cityfix_at($2))",
    )
    .bind(&kept)
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn contract_ids(pool: &PgPool, setup: &CitySetup) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(setup.contracts.len());
    for contract in &setup.contracts {
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM contracts WHERE slug = $1 AND jurisdiction_id = $2")
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
        ids.push(id);
    }
    Ok(ids)
}
