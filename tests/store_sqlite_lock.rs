//! The embedded store serves one intake process: a second is refused with a
//! clear message, while administrative commands may still open it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cityfix::store::{SqliteStore, Store};

#[tokio::test]
async fn a_second_intake_process_is_refused_and_admin_access_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).await.unwrap();

    let second = SqliteStore::open(dir.path()).await;
    let message = second
        .err()
        .expect("a second writer is refused")
        .to_string();
    assert!(
        message.contains("in use by another cityfix process"),
        "{message}"
    );

    let admin = SqliteStore::open_shared(dir.path()).await.unwrap();
    assert!(admin.jurisdictions().await.unwrap().is_empty());
    let refused = admin
        .record_reports(Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("administration only"), "{refused}");

    drop(first);
    assert!(
        SqliteStore::open(dir.path()).await.is_ok(),
        "the lock goes with its process"
    );
}
