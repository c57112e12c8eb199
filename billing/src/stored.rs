//! Enums the ledger stores as text, each with one mapping between variants and their text:
//! the same text is written to and read from the database, displayed, and (de)serialised.

/// A stored text that names no variant of the enum read: the database holds a value this
/// version of the crate did not write.
///
/// ```
/// use billing::{Leg, UnknownText};
/// let error = "c".parse::<Leg>().unwrap_err();
/// assert_eq!(error, UnknownText { what: "leg", text: "c".into() });
/// assert_eq!(error.to_string(), r#"unknown leg "c""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {text:?}")]
pub struct UnknownText {
    /// What was read (`leg`, `CDR outcome`, `transaction kind`, `rounding`).
    pub what: &'static str,
    /// The text found.
    pub text: String,
}

/// Declares a fieldless, `#[non_exhaustive]` enum with the text of each variant, written once:
/// `as_str`, `FromStr`, `Display`, `Serialize` and `Deserialize` are all generated from that
/// one list, so no other mapping can disagree with it.
macro_rules! stored_text {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$variant_meta])* #[doc = concat!("\n\nStored as `", $text, "`.")] $variant, )+
        }

        impl $name {
            #[doc = concat!("Every `", stringify!($name), "`, in declaration order.")]
            ///
            /// ```
            #[doc = concat!("for value in billing::", stringify!($name), "::ALL {")]
            #[doc = concat!("    assert_eq!(value.as_str().parse::<billing::", stringify!($name), ">(), Ok(*value));")]
            /// }
            /// ```
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The text stored in the database (also its `Display` and serde form).
            ///
            /// ```
            #[doc = concat!("let value = billing::", stringify!($name), "::ALL[0];")]
            /// assert_eq!(value.as_str(), value.to_string());
            /// ```
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::stored::UnknownText;

            /// The variant whose text is exactly `text`.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::stored::UnknownText {
                        what: $what,
                        text: text.to_owned(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use stored_text;
