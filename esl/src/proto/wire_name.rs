//! One definition for the enums of names FreeSWITCH writes as text (hangup causes, event
//! names): each known name is a variant, written and read by the same table, and text this
//! crate does not know is kept in a variant of its own so that nothing read off the wire is lost.

/// Defines `$name` with one unit variant per known name, the given text-carrying variants, and
/// `known_name`/`from_known_name`/`KNOWN_NAMES` generated from the one table.
macro_rules! wire_names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $variant:ident = $text:literal, )*
        }
        carrying {
            $( $(#[$extra_meta:meta])* $extra:ident(String), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( #[doc = concat!("`", $text, "`.")] $variant, )*
            $( $(#[$extra_meta])* $extra(String), )*
        }

        impl $name {
            /// Every name this crate knows, in FreeSWITCH's own order.
            pub const KNOWN_NAMES: &'static [&'static str] = &[$($text),*];

            /// The wire text of a known variant; `None` for the text-carrying ones.
            fn known_name(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($text), )*
                    _ => None,
                }
            }

            /// The variant of a known name, matched exactly (FreeSWITCH writes them in capitals).
            fn from_known_name(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use wire_names;
