//! Time-of-day choices at chosen instants: summer time moves the tenant's day against UTC, a
//! time zone ahead of UTC is already on another weekday, the first rule that holds wins, and
//! outside every rule the `otherwise` route takes the call.

use platform::inbound::DidRoute;
use platform::schedules::{Choice, Days, Schedule, ScheduleRule};

fn choice(route: DidRoute) -> Choice {
    Choice {
        route,
        destination: None,
    }
}

fn office_hours() -> Schedule {
    Schedule {
        name: "hours".into(),
        rules: vec![
            // A lunch hour first: the first rule that holds wins.
            ScheduleRule {
                days: Days::parse("mon-fri").unwrap(),
                start_minute: 12 * 60,
                end_minute: 13 * 60,
                choice: choice(DidRoute::Menu("lunch".into())),
            },
            ScheduleRule {
                days: Days::parse("mon-fri").unwrap(),
                start_minute: 9 * 60,
                end_minute: 17 * 60,
                choice: choice(DidRoute::Queue("support".into())),
            },
            ScheduleRule {
                days: Days::parse("sat").unwrap(),
                start_minute: 10 * 60,
                end_minute: 24 * 60,
                choice: choice(DidRoute::Group("weekend".into())),
            },
        ],
        otherwise: choice(DidRoute::Menu("closed".into())),
    }
}

#[test]
fn the_tenants_clock_chooses_the_route() {
    let hours = office_hours();
    let at = |zone: &str, unix: i64| hours.choose(Some(zone), unix).route.clone();
    // Wednesday 1 July 2026, 08:30 UTC: 09:30 in London (summer time), open; 08:30 in
    // Reykjavik (no summer time), not yet.
    assert_eq!(
        at("Europe/London", 1_782_894_600),
        DidRoute::Queue("support".into())
    );
    assert_eq!(
        at("Atlantic/Reykjavik", 1_782_894_600),
        DidRoute::Menu("closed".into())
    );
    // Tuesday 1 December 2026, 08:30 UTC: 08:30 in London, closed; 11:30 in Moscow, open;
    // 12:30 in Dubai, lunch.
    assert_eq!(
        at("Europe/London", 1_796_113_800),
        DidRoute::Menu("closed".into())
    );
    assert_eq!(
        at("Europe/Moscow", 1_796_113_800),
        DidRoute::Queue("support".into())
    );
    assert_eq!(
        at("Asia/Dubai", 1_796_113_800),
        DidRoute::Menu("lunch".into())
    );
    // Saturday 5 December 2026, 23:30 UTC: Saturday night in London (the weekend group),
    // Sunday morning in Tokyo (closed).
    assert_eq!(
        at("Europe/London", 1_796_513_400),
        DidRoute::Group("weekend".into())
    );
    assert_eq!(
        at("Asia/Tokyo", 1_796_513_400),
        DidRoute::Menu("closed".into())
    );
    // No time zone, or one not known: UTC.
    assert_eq!(
        hours.choose(None, 1_796_113_800).route,
        DidRoute::Menu("closed".into())
    );
}
