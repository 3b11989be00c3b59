//! The advisory locks a batch of reports takes before it decides anything.
//!
//! Dedup compares a new report with the incidents near it, so two reports
//! that could merge with each other (or with the same incident) must not be
//! decided at the same time by two processes. The plane is cut into cells of
//! [`CELL_DEG`] degrees per category; a report locks every cell its dedup
//! search box touches. Any incident within the radius of a report lies in the
//! report's search box, so it lies in a cell the report locks, and whoever
//! created or last changed that incident held the lock on its cell (an
//! incident's cell is inside its own first report's box, and a merge locks the
//! box around the merging report, which holds the incident). Two transactions
//! that could affect each other's dedup decision therefore share a lock, and
//! the second one sees the first one's committed rows.
//!
//! A box that would touch more than [`MAX_CELLS`] cells (a category with a
//! radius of kilometres) takes the category's lock exclusively instead; every
//! other report of the category takes that lock shared, so the two still meet.
//! A report with a source id also locks that id, so that two retries of one
//! submission arriving at two processes store one report.
//!
//! Keys are taken in ascending order, and every transaction that takes them
//! takes them before any row lock, so lock waits cannot form a cycle.
//! Keys are 64-bit hashes: a collision makes two unrelated reports wait for
//! each other, never a wrong decision.

use std::collections::BTreeMap;

use geo::Point;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::incidents::search_envelope;
use crate::store::{ReportPlan, Result};

/// Edge of a lock cell, in degrees of latitude and of longitude (about 1.1 km
/// north–south). Larger cells mean fewer locks per report and more waiting
/// between reports that are close but not within each other's radius.
const CELL_DEG: f64 = 0.01;

/// Beyond this many cells a report takes its category's lock exclusively.
const MAX_CELLS: usize = 64;

/// Whether a key is taken exclusively (`true`) or shared.
pub(super) type LockSet = BTreeMap<i64, bool>;

/// The locks a batch needs, each in the strongest mode any plan asks for.
pub(super) fn lock_set(plans: &[ReportPlan]) -> LockSet {
    let mut locks = LockSet::new();
    let mut want = |key: i64, exclusive: bool| {
        let entry = locks.entry(key).or_insert(exclusive);
        *entry |= exclusive;
    };
    for plan in plans {
        if let Some(source_id) = &plan.source_id {
            want(key(&["report", &plan.source, source_id]), true);
        }
        // Placeholder reports never merge and their incidents never absorb
        // anything, so they need no dedup lock.
        if plan.placeholder {
            continue;
        }
        let category_key = key(&["category", &plan.category]);
        match cells(plan.position, plan.dedup.radius_m) {
            Some(cells) => {
                want(category_key, false);
                for (x, y) in cells {
                    want(
                        key(&["cell", &plan.category, &x.to_string(), &y.to_string()]),
                        true,
                    );
                }
            }
            None => want(category_key, true),
        }
    }
    locks
}

/// Takes the locks in ascending key order; they are released at commit or
/// rollback.
pub(super) async fn acquire(conn: &mut PgConnection, locks: &LockSet) -> Result<()> {
    let keys: Vec<i64> = locks.keys().copied().collect();
    let exclusive: Vec<bool> = locks.values().copied().collect();
    // The planner evaluates volatile calls after the sort, so the locks are
    // taken in `n` order, which is ascending key order.
    sqlx::query(
        "SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END \
         FROM unnest($1::bigint[], $2::boolean[]) WITH ORDINALITY AS t(k, x, n) ORDER BY n",
    )
    .bind(&keys)
    .bind(&exclusive)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The cells a search box around `point` touches, or `None` past [`MAX_CELLS`].
fn cells(point: Point<f64>, radius_m: f64) -> Option<Vec<(i64, i64)>> {
    let envelope = search_envelope(point, radius_m);
    let [west, south] = envelope.lower();
    let [east, north] = envelope.upper();
    let (x0, x1) = (cell_index(west), cell_index(east));
    let (y0, y1) = (cell_index(south), cell_index(north));
    let count = (x1 - x0 + 1).saturating_mul(y1 - y0 + 1);
    if !(1..=MAX_CELLS as i64).contains(&count) {
        return None;
    }
    Some(
        (x0..=x1)
            .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
            .collect(),
    )
}

fn cell_index(degrees: f64) -> i64 {
    (degrees / CELL_DEG).floor() as i64
}

/// A stable 64-bit key: the same in every process and every release.
fn key(parts: &[&str]) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(b"cityfix-lock");
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::haversine_m;

    #[test]
    fn a_point_within_the_radius_lies_in_a_locked_cell() {
        // Points around a cell corner, at several latitudes, just inside the radius.
        for (lon, lat) in [
            (-71.0, 42.0),
            (46.7, 24.7),
            (10.0, 69.99),
            (-0.0001, 0.0001),
        ] {
            let centre = Point::new(lon, lat);
            let locked = cells(centre, 50.0).unwrap();
            for step in 0..72 {
                let bearing = f64::from(step) * 5.0_f64.to_radians();
                let dlat = 49.9 * bearing.cos() / 111_320.0;
                let dlon = 49.9 * bearing.sin() / (111_320.0 * lat.to_radians().cos());
                let other = Point::new(lon + dlon, lat + dlat);
                assert!(haversine_m(centre, other) <= 50.0);
                let cell = (cell_index(other.x()), cell_index(other.y()));
                assert!(locked.contains(&cell), "{other:?} outside {locked:?}");
            }
        }
    }

    #[test]
    fn a_huge_radius_falls_back_to_the_category_lock() {
        assert!(cells(Point::new(-71.0, 42.0), 5_000.0).is_none());
        assert_eq!(cells(Point::new(-71.0055, 42.0055), 10.0).unwrap().len(), 1);
    }

    #[test]
    fn keys_are_stable_and_unambiguous() {
        assert_eq!(
            key(&["cell", "pothole", "1", "2"]),
            key(&["cell", "pothole", "1", "2"])
        );
        assert_ne!(
            key(&["cell", "pothole", "1", "2"]),
            key(&["cell", "pothole", "12", ""])
        );
    }
}
