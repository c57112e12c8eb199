//! No caller string can change a document's structure: every document type is built with an
//! arbitrary string in each caller-supplied value, parsed back strictly, and compared with the
//! same document built from a harmless marker.

mod common;

use common::{Node, parse};
use proptest::prelude::*;
use xmlcurl::{
    Acl, AclList, Agent, CallCenter, Condition, Context, Dialplan, Directory, Document, Domain,
    Extension, Gateway, Group, Ivr, Language, Menu, PhraseMacro, Queue, Tier, Time, User,
};

const MARK: &str = "MARK";

/// What a value reads as after the round trip: characters XML 1.0 cannot carry are replaced.
fn carried(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 => '\u{fffd}',
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Every document type, with `s` in every caller-supplied position.
fn documents(s: &str) -> Vec<Vec<u8>> {
    let s = s.to_owned();
    vec![
        Directory::new()
            .domain(
                Domain::new(s.clone())
                    .param(s.clone(), s.clone())
                    .variable("v", s.clone())
                    .group(Group::new(s.clone()).user(User::pointer(s.clone())))
                    .user(
                        User::new(s.clone())
                            .password(s.clone())
                            .variable(s.clone(), s.clone())
                            .number_alias(s.clone())
                            .gateway(Gateway::new(s.clone()).param("realm", s.clone())),
                    ),
            )
            .to_xml(),
        Dialplan::new()
            .description(s.clone())
            .context(
                Context::new(s.clone()).extension(
                    Extension::new(s.clone()).continue_on_match(true).condition(
                        Condition::new(s.clone(), s.clone())
                            .time(Time::WeekDay, s.clone())
                            .regex(s.clone(), s.clone())
                            .action_owned(s.clone(), s.clone())
                            .condition(Condition::always().action_owned("set", s.clone())),
                    ),
                ),
            )
            .to_xml(),
        CallCenter::new()
            .setting(s.clone(), s.clone())
            .queue(Queue::new(s.clone()).param("strategy", s.clone()))
            .agent(
                Agent::new(s.clone(), s.clone())
                    .status(s.clone())
                    .max_no_answer(3),
            )
            .tier(Tier::new(s.clone(), s.clone()))
            .to_xml(),
        Ivr::new()
            .menu(
                Menu::new(s.clone())
                    .attr("greet-long", s.clone())
                    .attr(&s, "ignored"),
            )
            .to_xml(),
        Acl::new()
            .list(
                AclList::new(s.clone(), true)
                    .allow_cidr(s.clone())
                    .deny_domain(s.clone()),
            )
            .to_xml(),
        Language::new(s.clone(), s.clone())
            .sound_prefix(s.clone())
            .phrase(PhraseMacro::new(s.clone(), s.clone()).on_match(s.clone(), s.clone()))
            .to_xml(),
    ]
}

/// Same elements in the same places, and every value is either the benign one or the marker's
/// place holding exactly the carried string.
fn same_shape(benign: &Node, built: &Node, value: &str) -> Result<(), String> {
    if benign.name != built.name || benign.children.len() != built.children.len() {
        return Err(format!("element {} changed shape", benign.name));
    }
    let expected = carried(value);
    let benign_attrs: Vec<_> = benign.attrs.iter().collect();
    let built_attrs: Vec<_> = built.attrs.iter().collect();
    if benign_attrs.len() != built_attrs.len() {
        return Err(format!("attributes of {} changed", benign.name));
    }
    for ((bk, bv), (k, v)) in benign.attrs.iter().zip(&built.attrs) {
        if bk != k {
            return Err(format!("attribute {bk} became {k}"));
        }
        let want = bv.replace(MARK, &expected);
        if *v != want {
            return Err(format!("{}@{k}: {v:?} != {want:?}", benign.name));
        }
    }
    for (b, c) in benign.children.iter().zip(&built.children) {
        same_shape(b, c, value)?;
    }
    Ok(())
}

fn check(value: &str) -> Result<(), String> {
    for (benign, built) in documents(MARK).iter().zip(documents(value)) {
        let benign = parse(benign)?;
        let built =
            parse(&built).map_err(|e| format!("{e} in {}", String::from_utf8_lossy(&built)))?;
        same_shape(&benign, &built, value)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_change_structure(value in any::<String>()) {
        prop_assume!(!value.contains(MARK));
        if let Err(e) = check(&value) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn markup_heavy_strings_never_change_structure(value in "[<>&\"'$/=\\\\\\-\\[\\]!?\\x00-\\x1f a-z{}]{0,40}") {
        prop_assume!(!value.contains(MARK));
        if let Err(e) = check(&value) {
            return Err(TestCaseError::fail(e));
        }
    }
}

#[test]
fn known_attacks_stay_inside_their_value() {
    for attack in [
        "\"/><user id=\"evil\"/><x y=\"",
        "'/><action application=\"system\" data=\"rm -rf /\"/>",
        "]]><!-- --><![CDATA[",
        "&amp;&lt;&#x3c;&#60;",
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"y\">]>&x;",
        "$${hold_music}$$${x}",
        "\u{0}\u{1}\u{fffe}\u{ffff}\u{10ffff}",
        "line1\nline2\r\n\ttab",
    ] {
        check(attack).unwrap_or_else(|e| panic!("{attack:?}: {e}"));
    }
}

#[test]
fn global_variable_syntax_is_not_left_for_freeswitch_to_expand() {
    for xml in documents("$${default_password}") {
        let text = String::from_utf8(xml).unwrap();
        assert!(!text.contains("$${"), "{text}");
    }
}
