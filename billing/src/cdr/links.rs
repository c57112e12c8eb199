//! How a leg names the other legs of its call.
//!
//! A bridged B leg has `originator`, `originating_leg_uuid`, `bridge_uuid` and `signal_bond`
//! (its A leg); an A leg has `bridge_uuid`, `signal_bond`, `last_bridge_to` and
//! `originated_legs` (`uuid;name;number`, several joined by `|`); a loopback pair has
//! `other_loopback_leg_uuid`; events add `Other-Leg-Unique-ID`.

/// The variables naming one other leg each.
const LINK_VARIABLES: &[&str] = &[
    "originator",
    "originating_leg_uuid",
    "bridge_uuid",
    "signal_bond",
    "last_bridge_to",
    "other_loopback_leg_uuid",
];

/// The variable listing the legs a leg originated.
const ORIGINATED_LEGS: &str = "originated_legs";

/// Longest UUID kept (FreeSWITCH's are 36 characters; a custom `origination_uuid` may be
/// longer, but not by much).
const MAX_UUID: usize = 128;

/// Whether `text` can be a channel UUID: what FreeSWITCH generates, or a custom one of the
/// same alphabet. Anything else is not a link (and never reaches SQL as one).
pub(super) fn is_uuid_like(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_UUID
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Collects the legs named by `value` of the variable `name` into `links`.
pub(super) fn collect(name: &str, value: &str, links: &mut Vec<String>) {
    if name == ORIGINATED_LEGS {
        for entry in value.split('|') {
            let uuid = entry.split(';').next().unwrap_or_default().trim();
            if is_uuid_like(uuid) {
                links.push(uuid.to_owned());
            }
        }
    } else {
        let uuid = value.trim();
        if is_uuid_like(uuid) {
            links.push(uuid.to_owned());
        }
    }
}

/// The legs named by the link variables `var` finds (by bare name).
pub(super) fn from_variables(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut links = Vec::new();
    for name in LINK_VARIABLES
        .iter()
        .chain(std::iter::once(&ORIGINATED_LEGS))
    {
        if let Some(value) = var(name) {
            collect(name, &value, &mut links);
        }
    }
    links
}

/// Sorts, removes repeats and the leg itself.
pub(super) fn tidy(own: &str, links: &mut Vec<String>) {
    links.retain(|link| link != own);
    links.sort_unstable();
    links.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originated_legs_name_each_uuid() {
        let mut links = Vec::new();
        collect(
            ORIGINATED_LEGS,
            "8a0a19ce-0a35-4e0f-bac7-75b36524a4f3;Outbound Call;0901234567|b-2;x;y",
            &mut links,
        );
        collect(
            "bridge_uuid",
            "8a0a19ce-0a35-4e0f-bac7-75b36524a4f3",
            &mut links,
        );
        collect("signal_bond", "not a uuid'; DROP", &mut links);
        tidy("b-2", &mut links);
        assert_eq!(links, ["8a0a19ce-0a35-4e0f-bac7-75b36524a4f3"]);
    }
}
