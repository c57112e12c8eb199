//! The texts the ledger stores for its enums are exactly those existing databases hold, and
//! each enum reads, displays and (de)serialises with that same text.

use billing::{CdrOutcome, Leg, NoCharge, Rounding, UnknownText};

#[test]
fn cdr_outcomes_and_legs_keep_their_stored_texts() {
    let outcomes: Vec<(CdrOutcome, &str)> =
        CdrOutcome::ALL.iter().map(|o| (*o, o.as_str())).collect();
    assert_eq!(
        outcomes,
        [
            (CdrOutcome::Charged, "charged"),
            (CdrOutcome::NotAnswered, "not_answered"),
            (CdrOutcome::Free, "free"),
            (CdrOutcome::NoRoute, "no_route"),
            (CdrOutcome::PartOfCall, "part_of_call"),
            (CdrOutcome::Unassigned, "unassigned"),
        ]
    );
    let legs: Vec<(Leg, &str)> = Leg::ALL.iter().map(|l| (*l, l.as_str())).collect();
    assert_eq!(legs, [(Leg::A, "a"), (Leg::B, "b")]);
}

#[test]
fn every_reason_for_no_charge_has_its_outcome() {
    assert_eq!(NoCharge::NotAnswered.outcome(), CdrOutcome::NotAnswered);
    let free = NoCharge::Free {
        prefix: "800".into(),
    };
    assert_eq!(free.outcome(), CdrOutcome::Free);
    let no_route = NoCharge::NoRoute {
        destination: "9995".into(),
    };
    assert_eq!(no_route.outcome(), CdrOutcome::NoRoute);
    // The message for people is not the stored text.
    assert_eq!(no_route.to_string(), "no route for 9995");
}

#[test]
fn one_text_reads_writes_displays_and_serialises() {
    for outcome in CdrOutcome::ALL {
        let text = outcome.as_str();
        assert_eq!(text.parse::<CdrOutcome>(), Ok(*outcome));
        assert_eq!(outcome.to_string(), text);
        let json = serde_json::to_string(outcome).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<CdrOutcome>(&json).unwrap(), *outcome);
    }
    for leg in Leg::ALL {
        let json = serde_json::to_string(leg).unwrap();
        assert_eq!(json, format!("\"{leg}\""));
        assert_eq!(serde_json::from_str::<Leg>(&json).unwrap(), *leg);
    }
    for rounding in [Rounding::Up, Rounding::HalfUp, Rounding::Down] {
        assert_eq!(Rounding::parse(rounding.as_str()), Some(rounding));
        assert_eq!(rounding.to_string(), rounding.as_str());
    }
}

#[test]
fn an_unknown_text_is_an_error_naming_what_was_read() {
    assert_eq!(
        "no route".parse::<CdrOutcome>(),
        Err(UnknownText {
            what: "CDR outcome",
            text: "no route".into()
        })
    );
    assert_eq!(
        "A".parse::<Leg>(),
        Err(UnknownText {
            what: "leg",
            text: "A".into()
        })
    );
    let error = serde_json::from_str::<Leg>("\"c\"").unwrap_err();
    assert!(error.to_string().contains(r#"unknown leg "c""#), "{error}");
}

#[cfg(feature = "ledger")]
#[test]
fn transaction_kinds_keep_their_stored_texts() {
    use billing::TransactionKind;
    let kinds: Vec<(TransactionKind, &str)> = TransactionKind::ALL
        .iter()
        .map(|k| (*k, k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (TransactionKind::Charge, "charge"),
            (TransactionKind::TopUp, "topup")
        ]
    );
    for kind in TransactionKind::ALL {
        assert_eq!(kind.as_str().parse::<TransactionKind>(), Ok(*kind));
        let json = serde_json::to_string(kind).unwrap();
        assert_eq!(
            serde_json::from_str::<TransactionKind>(&json).unwrap(),
            *kind
        );
    }
}
