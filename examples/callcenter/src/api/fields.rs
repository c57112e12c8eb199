//! How request bodies read fields that may be `null`: a `PUT` replaces the whole thing, so a
//! nullable field must still be there ([`required`]: `null` or a value, never absent, else a
//! 400 instead of a silent reset); a `PATCH` changes what it names ([`present`]: absent is
//! "unchanged", `null` is "cleared").

use serde::{Deserialize, Deserializer};

/// A field that must be present, `null` allowed (serde would read an absent `Option` as
/// `None`; a `deserialize_with` field without a default is required).
pub(super) fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A field that may be absent (`None`, with `#[serde(default)]`), `null` (`Some(None)`) or a
/// value (`Some(Some(_))`).
pub(super) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Put {
        #[serde(deserialize_with = "super::required")]
        name: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "super::present")]
        name: Option<Option<String>>,
    }

    #[test]
    fn a_put_needs_the_field_and_a_patch_tells_absent_from_null() {
        assert!(serde_json::from_str::<Put>("{}").is_err());
        assert_eq!(
            serde_json::from_str::<Put>(r#"{"name": null}"#)
                .unwrap()
                .name,
            None
        );
        assert_eq!(serde_json::from_str::<Patch>("{}").unwrap().name, None);
        assert_eq!(
            serde_json::from_str::<Patch>(r#"{"name": null}"#)
                .unwrap()
                .name,
            Some(None)
        );
        assert_eq!(
            serde_json::from_str::<Patch>(r#"{"name": "x"}"#)
                .unwrap()
                .name,
            Some(Some("x".into()))
        );
    }
}
