//! `GET /api/v1/incidents` (GeoJSON) and `GET /api/v1/jurisdictions`.

use axum::Json;
use axum::extract::{RawQuery, State};
use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::state::AppState;
use crate::heatmap::Bbox;
use crate::store::{IncidentQuery, IncidentView};

/// Query of the incident list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentParams {
    /// `minLon,minLat,maxLon,maxLat`.
    bbox: Option<String>,
    category: Option<String>,
    /// A work order status, or `open` for all not closed.
    status: Option<String>,
    jurisdiction: Option<i64>,
    /// Only incidents with a lower id (the `next` link of the page before).
    before: Option<i64>,
    limit: Option<usize>,
}

const STATUSES: [&str; 10] = [
    "open",
    "received",
    "assigned",
    "accepted",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "rejected",
    "unassigned",
];

/// Incidents in a box as a GeoJSON FeatureCollection, newest first. A full page
/// carries `next`: the same query for the incidents after its last one.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    ApiQuery(params): ApiQuery<IncidentParams>,
) -> ApiResult<Json<FeatureCollection>> {
    let query = incident_query(params, state.limits.max_incidents_per_page)?;
    check_known(&state, &query)?;
    let incidents = state.pipeline.store().incidents(&query).await?;
    let foreign_members = match incidents.last() {
        Some(last) if incidents.len() == query.limit => {
            let next = next_page(raw.as_deref().unwrap_or(""), last.id);
            Some(JsonObject::from_iter([("next".to_owned(), next.into())]))
        }
        _ => None,
    };
    Ok(Json(FeatureCollection {
        bbox: None,
        features: incidents.iter().map(incident_feature).collect(),
        foreign_members,
    }))
}

/// A category the city does not have is a mistake to name, not a filter that
/// happens to match nothing. (A jurisdiction id is not checked: incidents keep
/// the ids of boundary versions since retired.)
fn check_known(state: &AppState, query: &IncidentQuery) -> ApiResult<()> {
    let city = state.pipeline.city();
    if let (Some(category), Some(setup)) = (&query.category, city.setup())
        && setup.category(category).is_none()
    {
        let known: Vec<&str> = setup.categories.iter().map(|c| c.slug.as_str()).collect();
        return Err(ApiError::unprocessable(
            "unknown_category",
            format!(
                "unknown category {category:?}: use one of {}",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The list's URL with `query` as it was but `before` set to `last_id`.
fn next_page(query: &str, last_id: i64) -> String {
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("before="))
        .collect();
    let before = format!("before={last_id}");
    pairs.push(&before);
    format!("/api/v1/incidents?{}", pairs.join("&"))
}

fn incident_query(params: IncidentParams, max_limit: usize) -> ApiResult<IncidentQuery> {
    let bbox = params
        .bbox
        .map(|text| text.parse::<Bbox>())
        .transpose()
        .map_err(|err| ApiError::unprocessable("invalid_bbox", err.to_string()))?
        .map(|b| [b.west, b.south, b.east, b.north]);
    if let Some(status) = &params.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::unprocessable(
            "invalid_status",
            format!(
                "unknown status {status:?}: use one of {}",
                STATUSES.join(", ")
            ),
        ));
    }
    if params.limit == Some(0) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            format!("limit must be at least 1 (at most {max_limit} are listed a page)"),
        ));
    }
    Ok(IncidentQuery {
        bbox,
        category: params.category,
        status: params.status,
        jurisdiction_id: params.jurisdiction,
        before_id: params.before,
        limit: params.limit.unwrap_or(max_limit).clamp(1, max_limit),
    })
}

fn incident_feature(incident: &IncidentView) -> Feature {
    let properties = match serde_json::to_value(incident) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("lon");
            map.remove("lat");
            Some(map)
        }
        _ => None,
    };
    Feature {
        bbox: None,
        geometry: Some(Geometry::new(GeometryValue::new_point([
            incident.lon,
            incident.lat,
        ]))),
        id: Some(geojson::feature::Id::Number(incident.id.into())),
        properties,
        foreign_members: None,
    }
}

/// One jurisdiction in the list.
#[derive(Debug, Serialize)]
pub struct JurisdictionItem {
    id: i64,
    level: String,
    level_rank: u32,
    external_id: String,
    name: String,
    time_zone: String,
    area_km2: f64,
}

/// Query of the jurisdiction list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionParams {
    /// `geojson` answers a FeatureCollection with the boundaries.
    format: Option<String>,
}

/// Every jurisdiction; with `?format=geojson`, with their boundaries.
pub async fn jurisdictions(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<JurisdictionParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let records = state.pipeline.store().jurisdictions().await?;
    let items: Vec<(JurisdictionItem, geo::MultiPolygon<f64>)> = records
        .into_iter()
        .map(|j| {
            let item = JurisdictionItem {
                id: j.id,
                level: j.level,
                level_rank: j.level_rank,
                external_id: j.external_id,
                name: j.name,
                time_zone: j.time_zone,
                area_km2: j.area_m2 / 1e6,
            };
            (item, j.geometry)
        })
        .collect();

    let value = match params.format.as_deref() {
        None | Some("json") => {
            let list: Vec<&JurisdictionItem> = items.iter().map(|(item, _)| item).collect();
            serde_json::json!({ "jurisdictions": list })
        }
        Some("geojson") => {
            serde_json::to_value(boundary_collection(&items)).map_err(ApiError::internal)?
        }
        Some(other) => {
            return Err(ApiError::unprocessable(
                "invalid_format",
                format!("unknown format {other:?}: use json or geojson"),
            ));
        }
    };
    Ok(Json(value))
}

fn boundary_collection(items: &[(JurisdictionItem, geo::MultiPolygon<f64>)]) -> FeatureCollection {
    let features = items
        .iter()
        .map(|(item, geometry)| {
            let properties: Option<JsonObject> = match serde_json::to_value(item) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                _ => None,
            };
            Feature {
                bbox: None,
                geometry: Some(Geometry::new(GeometryValue::from(geometry))),
                id: Some(geojson::feature::Id::Number(item.id.into())),
                properties,
                foreign_members: None,
            }
        })
        .collect();
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}
