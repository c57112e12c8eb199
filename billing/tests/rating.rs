//! Rating to the last unit: rounding modes, increments, minimums, prefixes, periods, free and
//! fallback destinations; and prepaid authorisation consistent with rating.

use billing::{
    Authorization, Currency, Decimal, Destination, NoCharge, Period, PlanError, Rate, RatePlan,
    Rounding,
};
use proptest::prelude::*;
use std::collections::HashMap;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn rate(per_minute: &str, connect: &str, initial: u64, subsequent: u64, minimum: u64) -> Rate {
    Rate {
        per_minute: d(per_minute),
        connect_fee: d(connect),
        initial_increment: initial,
        subsequent_increment: subsequent,
        minimum_seconds: minimum,
        period: None,
    }
}

fn plan_with(rounding: Rounding, decimals: u32, prefix: &str, rate: Rate) -> RatePlan {
    let mut plan = RatePlan::new("p", Currency::new("EUR", decimals).unwrap(), rounding);
    plan.add(Destination {
        prefix: prefix.into(),
        name: prefix.into(),
        free: false,
        rates: vec![rate],
    })
    .unwrap();
    plan
}

const ANSWERED: Option<i64> = Some(1_795_261_109);

#[test]
fn increments_round_the_duration_up_the_grid() {
    // (initial, subsequent, minimum, duration ms) -> billed seconds
    let table = [
        (1, 1, 0, 0, 0),
        (1, 1, 0, 1, 1),
        (1, 1, 0, 1_000, 1),
        (1, 1, 0, 1_001, 2),
        (30, 6, 0, 1_000, 30),
        (30, 6, 0, 30_000, 30),
        (30, 6, 0, 30_001, 36),
        (30, 6, 0, 36_000, 36),
        (30, 6, 0, 36_500, 42),
        (60, 60, 0, 1_000, 60),
        (60, 60, 0, 60_001, 120),
        (60, 1, 0, 61_200, 62),
        (1, 1, 10, 3_000, 10),
        (6, 6, 10, 3_000, 12),
        (1, 1, 10, 0, 10),
    ];
    for (initial, subsequent, minimum, ms, billed) in table {
        let plan = plan_with(
            Rounding::Up,
            2,
            "1",
            rate("1", "0", initial, subsequent, minimum),
        );
        let charge = plan.rate_call("12125550100", ANSWERED, ms).unwrap();
        assert_eq!(
            charge.billed_seconds, billed,
            "{initial}/{subsequent} min {minimum}, {ms} ms"
        );
    }
}

#[test]
fn rounding_modes_to_the_last_unit() {
    // 0.0125 / min for 60 s = 0.0125 -> up 0.02, half-up 0.01, down 0.01;
    // 0.015 -> up 0.02, half-up 0.02, down 0.01.
    let table = [
        ("0.0125", Rounding::Up, "0.02"),
        ("0.0125", Rounding::HalfUp, "0.01"),
        ("0.0125", Rounding::Down, "0.01"),
        ("0.015", Rounding::Up, "0.02"),
        ("0.015", Rounding::HalfUp, "0.02"),
        ("0.015", Rounding::Down, "0.01"),
        ("0.01", Rounding::Up, "0.01"),
    ];
    for (per_minute, rounding, amount) in table {
        let plan = plan_with(rounding, 2, "1", rate(per_minute, "0", 60, 60, 0));
        let charge = plan.rate_call("1", ANSWERED, 60_000).unwrap();
        assert_eq!(
            charge.amount.amount.to_string(),
            amount,
            "{per_minute} {rounding:?}"
        );
        assert_eq!(
            charge.breakdown.usage + charge.breakdown.rounding,
            charge.amount.amount
        );
    }
    // Three decimals, and a connect fee.
    let plan = plan_with(Rounding::HalfUp, 3, "1", rate("0.3333", "0.0105", 1, 1, 0));
    let charge = plan.rate_call("1", ANSWERED, 7_000).unwrap();
    // 0.0105 + 0.3333 * 7 / 60 = 0.0105 + 0.038885 = 0.049385 -> 0.049
    assert_eq!(charge.amount.amount.to_string(), "0.049");
}

#[test]
fn sums_of_many_charges_have_no_drift() {
    // A thousand one-second calls at 0.006/min, each rounded up to a cent: exactly 10.00.
    let plan = plan_with(Rounding::Up, 2, "1", rate("0.006", "0", 1, 1, 0));
    let total: Decimal = (0..1000)
        .map(|_| plan.rate_call("1", ANSWERED, 1_000).unwrap().amount.amount)
        .sum();
    assert_eq!(total.to_string(), "10.00");
}

#[test]
fn longest_prefix_and_edge_cases() {
    let csv = "prefix,name,rate_per_minute\n,World,1.00\n4,Europe-ish,0.50\n44,UK,0.10\n447,UK mobile,0.20\n4470,Personal,0.90\n";
    let plan = RatePlan::from_csv(
        "p",
        Currency::new("GBP", 2).unwrap(),
        Rounding::Up,
        csv.as_bytes(),
    )
    .unwrap();
    for (destination, name) in [
        ("447012345", "Personal"),
        ("447912345", "UK mobile"),
        ("+447912345", "UK mobile"),
        ("441234", "UK"),
        ("44", "UK"),
        ("4", "Europe-ish"),
        ("49", "Europe-ish"),
        ("1212", "World"),
        ("", "World"),
        ("*97", "World"),
    ] {
        assert_eq!(
            plan.lookup(destination).map(|d| d.name.as_str()),
            Some(name),
            "{destination:?}"
        );
    }
    let no_catch_all = RatePlan::from_csv(
        "p",
        Currency::new("GBP", 2).unwrap(),
        Rounding::Up,
        "prefix,rate_per_minute\n44,0.1\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(
        no_catch_all.rate_call("1212", ANSWERED, 1000),
        Err(NoCharge::NoRoute {
            destination: "1212".into()
        })
    );
}

#[test]
fn unanswered_free_and_fallback_calls() {
    let eur = Currency::new("EUR", 2).unwrap();
    let mut plans = HashMap::new();
    let wholesale = RatePlan::from_csv(
        "wholesale",
        eur,
        Rounding::Up,
        "prefix,rate_per_minute\n1,0.02\n".as_bytes(),
    )
    .unwrap();
    plans.insert("wholesale".to_owned(), wholesale);
    let retail = RatePlan::from_csv(
        "retail",
        eur,
        Rounding::Up,
        "prefix,rate_per_minute,free\n44,0.10,false\n800,0,true\n".as_bytes(),
    )
    .unwrap()
    .with_fallback("wholesale");
    assert_eq!(
        retail.rate_call_with(&plans, "44123", None, 60_000),
        Err(NoCharge::NotAnswered)
    );
    assert_eq!(
        retail.rate_call_with(&plans, "8001234", ANSWERED, 60_000),
        Err(NoCharge::Free {
            prefix: "800".into()
        })
    );
    let charge = retail
        .rate_call_with(&plans, "12125550100", ANSWERED, 60_000)
        .unwrap();
    assert_eq!(charge.plan, "wholesale");
    assert_eq!(charge.amount.amount.to_string(), "0.02");
    assert_eq!(
        retail.authorize_with(&plans, "8001234", 0, Decimal::ZERO),
        Ok(Authorization::Unlimited)
    );
}

#[test]
fn periods_price_by_answer_time_in_the_plan_offset() {
    let csv = "prefix,rate_per_minute,weekdays,time\n1,0.10,mon-fri,08:00-18:00\n1,0.02,,\n1,0.05,sat-sun,\n";
    let plan = RatePlan::from_csv(
        "p",
        Currency::new("USD", 2).unwrap(),
        Rounding::Up,
        csv.as_bytes(),
    )
    .unwrap();
    // 2026-11-20 (a Friday) 12:00 UTC, 2026-11-20 20:00 UTC, 2026-11-21 (Saturday) 12:00 UTC.
    let friday_noon = 1_795_176_000;
    let friday_evening = friday_noon + 8 * 3600;
    let saturday_noon = friday_noon + 24 * 3600;
    let price = |plan: &RatePlan, at: i64| {
        plan.rate_call("1", Some(at), 60_000)
            .unwrap()
            .per_minute
            .to_string()
    };
    assert_eq!(price(&plan, friday_noon), "0.10");
    assert_eq!(price(&plan, friday_evening), "0.02");
    assert_eq!(price(&plan, saturday_noon), "0.05");
    // In UTC-10, Friday 20:00 UTC is Friday 10:00 local: peak.
    let hawaii = plan.clone().with_utc_offset_minutes(-600);
    assert_eq!(price(&hawaii, friday_evening), "0.10");
    // A window that wraps midnight.
    let night = Period::parse("", "22:00-06:00").unwrap();
    assert_eq!((night.start_minute, night.end_minute), (1320, 360));
}

#[test]
fn bad_rate_tables_name_their_line() {
    let eur = Currency::new("EUR", 2).unwrap();
    let cases = [
        ("prefix,rate_per_minute\n44,abc\n", 2),
        ("prefix,rate_per_minute\n44,0.1\n4x,0.1\n", 3),
        ("prefix,rate_per_minute\n44,-0.1\n", 2),
        ("prefix,rate_per_minute,initial_increment\n44,0.1,0\n", 2),
        ("prefix,rate_per_minute,weekdays\n44,0.1,fri-mon\n", 2),
        ("prefix,rate_per_minute,free\n44,0.1,maybe\n", 2),
        ("prefix\n44\n", 2),
    ];
    for (csv, line) in cases {
        match RatePlan::from_csv("p", eur, Rounding::Up, csv.as_bytes()) {
            Err(PlanError::BadRow { line: l, .. }) => assert_eq!(l, line, "{csv:?}"),
            other => panic!("{csv:?}: expected a bad row, got {other:?}"),
        }
    }
}

#[test]
fn a_bad_row_reports_its_first_problem_in_column_order() {
    let eur = Currency::new("EUR", 2).unwrap();
    let header = "prefix,rate_per_minute,connect_fee,initial_increment,subsequent_increment,minimum_seconds,free,weekdays,time\n";
    let cases = [
        (
            "4x,abc,x,0,0,x,maybe,fri-mon,",
            "prefix \"4x\" is not all digits",
        ),
        (
            "44,abc,x,0,0,x,maybe,fri-mon,",
            "bad period Some(\"fri-mon\") None",
        ),
        (
            "44,abc,x,y,0,x,maybe,,",
            "initial_increment \"y\" is not a whole number of seconds",
        ),
        (
            "44,abc,x,1,z,x,maybe,,",
            "subsequent_increment \"z\" is not a whole number of seconds",
        ),
        (
            "44,abc,x,0,1,x,maybe,,",
            "increments must be at least one second",
        ),
        (
            "44,abc,x,1,1,x,maybe,,",
            "rate_per_minute \"abc\" is not a decimal number",
        ),
        ("44,0.1,-1,1,1,x,maybe,,", "connect_fee \"-1\" is negative"),
        (
            "44,0.1,,1,1,x,maybe,,",
            "minimum_seconds \"x\" is not a whole number of seconds",
        ),
        (
            "44,0.1,,1,1,,maybe,,",
            "free \"maybe\" is not true or false",
        ),
    ];
    for (row, reason) in cases {
        let csv = format!("{header}{row}\n");
        assert_eq!(
            RatePlan::from_csv("p", eur, Rounding::Up, csv.as_bytes()).unwrap_err(),
            PlanError::BadRow {
                line: 2,
                reason: reason.into()
            },
            "{row}"
        );
    }
}

fn arbitrary_rate() -> impl Strategy<Value = Rate> {
    (
        0u64..5_000,
        0u64..300,
        prop::sample::select(vec![1u64, 6, 30, 60]),
        prop::sample::select(vec![1u64, 6, 30, 60]),
        0u64..120,
    )
        .prop_map(
            |(per_minute_milli, connect_milli, initial, subsequent, minimum)| Rate {
                per_minute: Decimal::new(per_minute_milli as i64, 3),
                connect_fee: Decimal::new(connect_milli as i64, 3),
                initial_increment: initial,
                subsequent_increment: subsequent,
                minimum_seconds: minimum,
                period: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Rating a call of exactly the authorised length never exceeds what is available, and one
    /// second more (the next increment) would.
    #[test]
    fn authorisation_is_consistent_with_rating(
        rate in arbitrary_rate(),
        rounding in prop::sample::select(vec![Rounding::Up, Rounding::HalfUp, Rounding::Down]),
        available_cents in 0i64..100_000,
    ) {
        let plan = plan_with(rounding, 2, "44", rate.clone());
        let available = Decimal::new(available_cents, 2);
        match plan.authorize("4420", 0, available).unwrap() {
            Authorization::Unlimited => {
                prop_assert!(rate.per_minute.is_zero() && rate.connect_fee.is_zero());
            }
            Authorization::Seconds(seconds) => {
                let cost = |s: u64| plan.rate_call("4420", Some(0), s * 1000).unwrap().amount.amount;
                if seconds == 0 {
                    prop_assert!(cost(1) > available, "refused though one second is affordable");
                } else {
                    prop_assert!(cost(seconds) <= available, "{seconds} s costs {} > {available}", cost(seconds));
                    if seconds < billing::MAX_AUTHORIZED_SECONDS {
                        prop_assert!(cost(seconds + 1) > available, "{} s would still be affordable", seconds + 1);
                    }
                }
            }
        }
    }
}
