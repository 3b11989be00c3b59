//! `GET /dashboard`: the supervisors' page and its assets, embedded in the
//! binary so that it works with no internet and no build step beyond `cargo build`.
//!
//! The page itself is public; everything it shows comes from API endpoints that
//! need a supervisor (the page signs in once through `POST /api/v1/session`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::ApiPath;

/// One embedded file: its name under `/dashboard/assets/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

const INDEX_HTML: &str = include_str!("../../assets/dashboard/index.html");

const ASSETS: [Asset; 5] = [
    Asset {
        name: "dashboard.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/dashboard/dashboard.js"),
    },
    Asset {
        name: "dashboard.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/dashboard/dashboard.css"),
    },
    Asset {
        name: "leaflet.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/leaflet/leaflet.js"),
    },
    Asset {
        name: "leaflet.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/leaflet/leaflet.css"),
    },
    Asset {
        name: "LICENSE-leaflet.txt",
        media_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/leaflet/LICENSE"),
    },
];

/// Leaflet's stylesheet asks for its images relative to itself (`images/…`).
const IMAGES: [Asset; 2] = [
    Asset {
        name: "layers.png",
        media_type: "image/png",
        bytes: include_bytes!("../../assets/vendor/leaflet/images/layers.png"),
    },
    Asset {
        name: "layers-2x.png",
        media_type: "image/png",
        bytes: include_bytes!("../../assets/vendor/leaflet/images/layers-2x.png"),
    },
];

/// The page.
pub async fn page() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// A script, stylesheet or licence of the page.
pub async fn asset(ApiPath(name): ApiPath<String>) -> Result<Response, ApiError> {
    serve(&ASSETS, &name)
}

/// An image of Leaflet's stylesheet.
pub async fn image(ApiPath(name): ApiPath<String>) -> Result<Response, ApiError> {
    serve(&IMAGES, &name)
}

fn serve(assets: &[Asset], name: &str) -> Result<Response, ApiError> {
    let asset = assets
        .iter()
        .find(|asset| asset.name == name)
        .ok_or_else(|| ApiError::not_found(&format!("dashboard asset {name:?}")))?;
    Ok((
        [
            (CONTENT_TYPE, asset.media_type),
            (CACHE_CONTROL, "no-cache"),
        ],
        asset.bytes,
    )
        .into_response())
}
