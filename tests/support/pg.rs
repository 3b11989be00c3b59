//! PostgreSQL for tests: each test gets a fresh schema of its own in the
//! database named by `CITYFIX_TEST_DATABASE_URL` (which must have PostGIS), so
//! tests run in parallel without seeing each other's rows.

#![allow(dead_code)]

use std::str::FromStr;

use cityfix::store::PgStore;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The test database's URL, or `None` (after saying so) when it is not set.
pub fn test_database_url() -> Option<String> {
    match std::env::var("CITYFIX_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: CITYFIX_TEST_DATABASE_URL not set");
            None
        }
    }
}

/// Drops and creates schema `name`; returns the URL that puts it first on the
/// search path (PostGIS stays reachable in `public`).
pub async fn fresh_schema(url: &str, name: &str) -> String {
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "schema names here are plain: {name}"
    );
    let mut admin = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();

    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{name},public")
}

/// A store on a fresh schema `name`.
pub async fn fresh_store(url: &str, name: &str) -> PgStore {
    let scoped = fresh_schema(url, name).await;
    let options = PgConnectOptions::from_str(&scoped).unwrap();
    PgStore::connect_with(options).await.unwrap()
}
