//! `GET /api/v1/heatmap`, `/api/v1/clusters` and `/api/v1/hotspots`: the
//! dashboard's map layers, answered from the in-memory analytics view.
//!
//! Filters shared by the heatmap and hotspots: `bbox=west,south,east,north`,
//! `category` and `status` (comma-separated lists, any of them matches),
//! `jurisdiction` (an id). The heatmap also takes `from` and `to` (RFC 3339
//! instants, `to` excluded); hotspots take their period from `days`,
//! `history_days` and `until` instead.

use axum::Json;
use axum::extract::State;
use geojson::FeatureCollection;
use h3o::Resolution;
use jiff::Timestamp;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, QueryInstant};
use crate::analytics::{AnalyticsView, HeatmapQuery};
use crate::auth::Supervisor;
use crate::heatmap::{Bbox, HeatFilter, resolution_for_zoom};
use crate::hotspots::HotspotQuery;

/// Query of `GET /api/v1/heatmap`; give `resolution` (0–15) or `zoom` (0–24).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatmapParams {
    bbox: Option<String>,
    resolution: Option<u8>,
    zoom: Option<u8>,
    category: Option<String>,
    status: Option<String>,
    jurisdiction: Option<i64>,
    from: Option<QueryInstant>,
    to: Option<QueryInstant>,
}

/// Report counts per H3 hexagon in the box, one GeoJSON polygon per hexagon.
pub async fn heatmap(
    _supervisor: Supervisor,
    State(view): State<AnalyticsView>,
    ApiQuery(params): ApiQuery<HeatmapParams>,
) -> ApiResult<Json<FeatureCollection>> {
    let resolution = resolution_of(params.resolution, params.zoom)?;
    let filter = HeatFilter {
        from: params.from.map(|q| q.0),
        to: params.to.map(|q| q.0),
        ..filter_of(
            params.bbox,
            params.category,
            params.status,
            params.jurisdiction,
        )?
    };

    let answer = view.heatmap(HeatmapQuery { resolution, filter }).await?;
    Ok(Json(answer))
}

/// Query of `GET /api/v1/clusters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterParams {
    bbox: Option<String>,
    zoom: u8,
}

/// Incidents grouped for display at `zoom`; the counts add up to the number of
/// incidents in the box (the collection's `total`).
pub async fn clusters(
    _supervisor: Supervisor,
    State(view): State<AnalyticsView>,
    ApiQuery(params): ApiQuery<ClusterParams>,
) -> ApiResult<Json<FeatureCollection>> {
    let bbox = bbox_of(params.bbox)?.unwrap_or(Bbox::WORLD);

    let answer = view.clusters(bbox, params.zoom).await?;
    Ok(Json(answer))
}

/// Query of `GET /api/v1/hotspots`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotspotParams {
    /// Recent window in days (default 7).
    days: Option<u32>,
    /// History window before it, in days (default 365).
    history_days: Option<u32>,
    /// End of the recent window (default now); replayed history needs it.
    until: Option<Timestamp>,
    /// H3 resolution of the cells tested (default 9).
    resolution: Option<u8>,
    /// Tolerated false discovery rate (default 0.05).
    fdr: Option<f64>,
    /// Fewest recent reports a hotspot needs (default 3).
    min_count: Option<u32>,
    bbox: Option<String>,
    category: Option<String>,
    status: Option<String>,
    jurisdiction: Option<i64>,
}

/// Cells whose recent count is significantly above their own history, by the
/// exact conditional Poisson test with Benjamini–Hochberg (see
/// [`crate::hotspots`]), highest score first.
pub async fn hotspots(
    _supervisor: Supervisor,
    State(view): State<AnalyticsView>,
    ApiQuery(params): ApiQuery<HotspotParams>,
) -> ApiResult<Json<FeatureCollection>> {
    let defaults = HotspotQuery::new(params.until.unwrap_or_else(Timestamp::now));
    let query = HotspotQuery {
        resolution: match params.resolution {
            Some(level) => resolution_of(Some(level), None)?,
            None => defaults.resolution,
        },
        recent_days: params.days.unwrap_or(defaults.recent_days),
        history_days: params.history_days.unwrap_or(defaults.history_days),
        false_discovery_rate: params.fdr.unwrap_or(defaults.false_discovery_rate),
        min_recent_count: params.min_count.unwrap_or(defaults.min_recent_count),
        filter: filter_of(
            params.bbox,
            params.category,
            params.status,
            params.jurisdiction,
        )?,
        ..defaults
    };

    let answer = view.hotspots(query).await?;
    Ok(Json(answer))
}

fn resolution_of(resolution: Option<u8>, zoom: Option<u8>) -> ApiResult<Resolution> {
    match (resolution, zoom) {
        (Some(level), None) => Resolution::try_from(level).map_err(|_| {
            ApiError::unprocessable(
                "invalid_resolution",
                format!("resolution {level} is not an H3 resolution: use 0 to 15"),
            )
        }),
        (None, Some(zoom)) => Ok(resolution_for_zoom(zoom)?),
        (Some(_), Some(_)) => Err(ApiError::unprocessable(
            "invalid_query",
            "give either resolution or zoom, not both",
        )),
        (None, None) => Err(ApiError::unprocessable(
            "invalid_query",
            "give resolution (H3, 0 to 15) or zoom (web map, 0 to 24)",
        )),
    }
}

fn filter_of(
    bbox: Option<String>,
    category: Option<String>,
    status: Option<String>,
    jurisdiction_id: Option<i64>,
) -> ApiResult<HeatFilter> {
    Ok(HeatFilter {
        bbox: bbox_of(bbox)?,
        categories: category.map(|text| list_of(&text)),
        statuses: status.map(|text| list_of(&text)),
        jurisdiction_id,
        from: None,
        to: None,
    })
}

fn bbox_of(text: Option<String>) -> ApiResult<Option<Bbox>> {
    text.map(|text| text.parse::<Bbox>())
        .transpose()
        .map_err(|err| ApiError::unprocessable("invalid_bbox", err.to_string()))
}

/// `a,b , c` → `["a", "b", "c"]`; empty items are dropped.
fn list_of(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
