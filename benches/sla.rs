//! SLA and dispatch hot paths: the breach scan over a million open work
//! orders (against a full scan of the same deadlines), deadline computation on
//! a real calendar, and contract assignment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cityfix::dispatch::{Contract, ContractBook};
use cityfix::sla::{
    BreachSchedule, CalendarSpec, DeadlineKind, Holiday, Target, TargetDuration, WorkingCalendar,
    deadline,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const OPEN_WORK_ORDERS: i64 = 1_000_000;
const SCAN_EVERY: SignedDuration = SignedDuration::from_secs(30);

fn start_of_2025() -> Timestamp {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

/// A million open deadlines spread evenly over the 30 days after `start`,
/// so that a 30-second tick finds about a dozen due.
fn open_deadlines(start: Timestamp) -> Vec<(i64, Timestamp)> {
    let mut rng = StdRng::seed_from_u64(7);
    let window_s = 30 * 86_400;
    (0..OPEN_WORK_ORDERS)
        .map(|id| {
            (
                id,
                start + SignedDuration::from_secs(rng.random_range(1..window_s)),
            )
        })
        .collect()
}

fn breach_scan(c: &mut Criterion) {
    let start = start_of_2025();
    let deadlines = open_deadlines(start);
    let mut schedule = BreachSchedule::new();
    for &(id, due_at) in &deadlines {
        schedule.watch(id, DeadlineKind::Resolution, due_at);
    }

    let mut group = c.benchmark_group("breach_scan_1m_open");
    let mut now = start;
    group.bench_function("ordered_schedule_tick", |b| {
        b.iter(|| {
            // One scanner tick; the due orders come back with a new deadline a
            // month on, as new work replaces them, so the set stays at 1M.
            now += SCAN_EVERY;
            let due = schedule.take_due(black_box(now));
            for breach in &due {
                schedule.watch(
                    breach.work_order_id,
                    breach.kind,
                    now + SignedDuration::from_hours(720),
                );
            }
            due.len()
        })
    });

    let now = start + SignedDuration::from_hours(36);
    group.bench_function("full_scan_of_every_order", |b| {
        b.iter(|| {
            deadlines
                .iter()
                .filter(|(_, due_at)| *due_at < black_box(now))
                .count()
        })
    });
    group.finish();
}

fn new_york_calendar() -> WorkingCalendar {
    let mut holidays = Vec::new();
    for year in 2011..=2027 {
        for (month, day, name) in [
            (1, 1, "New Year"),
            (7, 4, "Independence Day"),
            (12, 25, "Christmas"),
        ] {
            let date = jiff::civil::date(year, month, day);
            holidays.push(Holiday {
                date,
                through: None,
                name: name.into(),
            });
        }
    }
    let spec = CalendarSpec {
        time_zone: "America/New_York".into(),
        working_days: ["mon", "tue", "wed", "thu", "fri"]
            .map(String::from)
            .to_vec(),
        working_hours: vec![
            "07:00-12:00".parse().unwrap(),
            "12:30-15:30".parse().unwrap(),
        ],
        hours_by_day: Default::default(),
        holidays_known_from: jiff::civil::date(2011, 1, 1),
        holidays_known_until: jiff::civil::date(2027, 12, 31),
        holidays,
    };
    WorkingCalendar::from_spec(&spec).unwrap()
}

fn deadlines(c: &mut Criterion) {
    let calendar = new_york_calendar();
    let mut rng = StdRng::seed_from_u64(11);
    let base: Timestamp = "2012-01-01T00:00:00Z".parse().unwrap();
    let starts: Vec<Timestamp> = (0..4096)
        .map(|_| base + SignedDuration::from_secs(rng.random_range(0..14 * 365 * 86_400)))
        .collect();

    let mut group = c.benchmark_group("deadline");
    group.throughput(Throughput::Elements(starts.len() as u64));
    for (name, target) in [
        (
            "working_8h",
            Target::Working(TargetDuration::hours(8).unwrap()),
        ),
        (
            "working_400h",
            Target::Working(TargetDuration::hours(400).unwrap()),
        ),
        (
            "calendar_3d",
            Target::Calendar(TargetDuration::days(3).unwrap()),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                starts
                    .iter()
                    .map(|&start| deadline(start, &target, &calendar).unwrap())
                    .max()
            })
        });
    }
    group.finish();

    c.bench_function("calendar_from_spec_2011_2027", |b| {
        b.iter(new_york_calendar)
    });
}

/// 25 jurisdictions × 18 categories, three contractors competing in each.
fn contract_book() -> ContractBook {
    let categories = [
        "pothole",
        "garbage",
        "bulk_item",
        "graffiti",
        "streetlight",
        "signage",
        "traffic_signal",
        "sidewalk",
        "tree",
        "abandoned_vehicle",
        "dead_animal",
        "pests",
        "billboard",
        "road_works",
        "snow_ice",
        "drainage",
        "building",
        "other",
    ];
    let mut contracts = Vec::new();
    for jurisdiction_id in 0..25 {
        for crew in 0..3 {
            contracts.push(Contract {
                id: contracts.len() as i64,
                contractor: format!("crew-{}", (jurisdiction_id + crew) % 9),
                jurisdiction_id,
                categories: categories.map(String::from).to_vec(),
                valid_from: "2020-01-01T00:00:00Z".parse().unwrap(),
                valid_until: None,
                capacity: 1_000_000,
            });
        }
    }
    ContractBook::new(contracts)
}

fn assignment(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(5);
    let requests: Vec<(i64, &str)> = (0..4096)
        .map(|_| {
            (
                rng.random_range(0..25),
                ["pothole", "graffiti", "tree", "other"][rng.random_range(0..4)],
            )
        })
        .collect();
    let at: Timestamp = "2025-06-01T12:00:00Z".parse().unwrap();

    let mut group = c.benchmark_group("assignment");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("contract_book_assign", |b| {
        b.iter_batched(
            contract_book,
            |mut book| {
                for &(jurisdiction_id, category) in &requests {
                    black_box(book.assign(jurisdiction_id, category, at, &[]));
                }
                book
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, breach_scan, deadlines, assignment);
criterion_main!(benches);
