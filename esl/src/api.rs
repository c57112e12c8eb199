//! API command strings built from typed parts, never by concatenating user input: `originate`
//! with typed endpoints and escaped channel variables, and validation shared by the `uuid_*`
//! helpers. Pure functions; the client sends what they build.

use std::fmt::Write as _;

/// Why an API command cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A part that must be one word is empty or has whitespace or a line break.
    #[error("{field} {value:?} must be one word")]
    NotAWord {
        /// Which part.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// A value contains a character that cannot be carried in that position.
    #[error("{field} {value:?} contains a character FreeSWITCH cannot take there")]
    Unencodable {
        /// Which part.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// Checks that `value` is one non-empty word.
pub(crate) fn word<'a>(field: &'static str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::NotAWord {
            field,
            value: value.to_owned(),
        });
    }
    Ok(value)
}

/// Checks that free text stays on one line.
pub(crate) fn line<'a>(field: &'static str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.contains(['\n', '\r']) {
        return Err(ApiError::Unencodable {
            field,
            value: value.to_owned(),
        });
    }
    Ok(value)
}

/// Where `originate` places the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `user/<user>[@<domain>]`: a registered directory user.
    User {
        /// The directory user.
        user: String,
        /// The domain; FreeSWITCH's default domain when absent.
        domain: Option<String>,
    },
    /// `sofia/gateway/<gateway>/<number>`: out through a SIP trunk.
    Gateway {
        /// The gateway's name in the sofia profile.
        gateway: String,
        /// The number to dial.
        number: String,
    },
    /// `loopback/<extension>[/<context>]`: into the dialplan.
    Loopback {
        /// The extension.
        extension: String,
        /// The dialplan context.
        context: Option<String>,
    },
}

impl Endpoint {
    fn write(&self, out: &mut String) -> Result<(), ApiError> {
        match self {
            Self::User { user, domain } => {
                out.push_str("user/");
                out.push_str(word("user", user)?);
                if let Some(domain) = domain {
                    out.push('@');
                    out.push_str(word("domain", domain)?);
                }
            }
            Self::Gateway { gateway, number } => {
                out.push_str("sofia/gateway/");
                out.push_str(word("gateway", gateway)?);
                out.push('/');
                out.push_str(word("number", number)?);
            }
            Self::Loopback { extension, context } => {
                out.push_str("loopback/");
                out.push_str(word("extension", extension)?);
                if let Some(context) = context {
                    out.push('/');
                    out.push_str(word("context", context)?);
                }
            }
        }
        Ok(())
    }
}

/// What the originated leg is connected to once it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An extension of the dialplan: `<extension> [<dialplan> [<context>]]`.
    Extension {
        /// The extension.
        extension: String,
        /// The dialplan (`XML`).
        dialplan: Option<String>,
        /// The context.
        context: Option<String>,
    },
    /// One application: `&<app>(<arg>)`.
    Application {
        /// The application, e.g. `park` or `playback`.
        app: String,
        /// Its argument.
        arg: Option<String>,
    },
}

/// An `originate` command.
///
/// ```
/// use esl::api::{Destination, Endpoint, Originate};
///
/// let originate = Originate::new(
///     Endpoint::Gateway { gateway: "carrier".into(), number: "+441234567".into() },
///     Destination::Application { app: "park".into(), arg: None },
/// )
/// .variable("origination_caller_id_name", "Sales, UK")
/// .variable("tenant_id", "42");
/// assert_eq!(
///     originate.to_command()?,
///     "originate {origination_caller_id_name='Sales\\, UK',tenant_id=42}sofia/gateway/carrier/+441234567 &park()"
/// );
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originate {
    endpoint: Endpoint,
    destination: Destination,
    variables: Vec<(String, String)>,
}

impl Originate {
    /// Calls `endpoint` and connects it to `destination`.
    pub fn new(endpoint: Endpoint, destination: Destination) -> Self {
        Self {
            endpoint,
            destination,
            variables: Vec::new(),
        }
    }

    /// Sets a channel variable on the new leg (`{name=value}`), escaped as FreeSWITCH expects.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    /// The `originate ...` API command.
    pub fn to_command(&self) -> Result<String, ApiError> {
        let mut out = String::from("originate ");
        if !self.variables.is_empty() {
            out.push('{');
            for (i, (name, value)) in self.variables.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(ApiError::NotAWord {
                        field: "variable name",
                        value: name.clone(),
                    });
                }
                out.push_str(name);
                out.push('=');
                write_variable_value(value, &mut out)?;
            }
            out.push('}');
        }
        self.endpoint.write(&mut out)?;
        match &self.destination {
            Destination::Extension {
                extension,
                dialplan,
                context,
            } => {
                let _ = write!(out, " {}", word("extension", extension)?);
                if let Some(dialplan) = dialplan {
                    let _ = write!(out, " {}", word("dialplan", dialplan)?);
                    if let Some(context) = context {
                        let _ = write!(out, " {}", word("context", context)?);
                    }
                }
            }
            Destination::Application { app, arg } => {
                let arg = arg.as_deref().unwrap_or("");
                let _ = write!(
                    out,
                    " &{}({})",
                    word("application", app)?,
                    line("application argument", arg)?
                );
            }
        }
        Ok(out)
    }
}

/// A variable value inside `{...}`: commas are escaped, and a value with spaces or quotes is
/// single-quoted. Braces and line breaks cannot be carried and are refused.
fn write_variable_value(value: &str, out: &mut String) -> Result<(), ApiError> {
    if value.contains(['{', '}', '\n', '\r']) {
        return Err(ApiError::Unencodable {
            field: "variable value",
            value: value.to_owned(),
        });
    }
    let quoted = value.contains([' ', '\t', '\'']) || value.contains(',');
    if quoted {
        out.push('\'');
    }
    for c in value.chars() {
        match c {
            ',' => out.push_str("\\,"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    if quoted {
        out.push('\'');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originate_to_a_user_into_the_dialplan() {
        let cmd = Originate::new(
            Endpoint::User {
                user: "1000".into(),
                domain: Some("example.com".into()),
            },
            Destination::Extension {
                extension: "9999".into(),
                dialplan: Some("XML".into()),
                context: Some("default".into()),
            },
        )
        .to_command()
        .unwrap();
        assert_eq!(cmd, "originate user/1000@example.com 9999 XML default");
    }

    #[test]
    fn originate_like_the_capture() {
        let cmd = Originate::new(
            Endpoint::Loopback {
                extension: "9999".into(),
                context: Some("default".into()),
            },
            Destination::Application {
                app: "playback".into(),
                arg: Some("tone_stream://%(1000,0,440);loops=5".into()),
            },
        )
        .variable("origination_uuid", "ed22627b-4a74-4b96-b832-34a59357db96")
        .variable("origination_caller_id_number", "1000")
        .to_command()
        .unwrap();
        assert_eq!(
            cmd,
            "originate {origination_uuid=ed22627b-4a74-4b96-b832-34a59357db96,origination_caller_id_number=1000}loopback/9999/default &playback(tone_stream://%(1000,0,440);loops=5)"
        );
    }

    #[test]
    fn hostile_parts_are_refused() {
        let park = || Destination::Application {
            app: "park".into(),
            arg: None,
        };
        let user = |u: &str| Endpoint::User {
            user: u.into(),
            domain: None,
        };
        assert!(
            Originate::new(user("1000 &kill"), park())
                .to_command()
                .is_err()
        );
        assert!(
            Originate::new(user("1000"), park())
                .variable("a}b", "x")
                .to_command()
                .is_err()
        );
        assert!(
            Originate::new(user("1000"), park())
                .variable("x", "}user/evil")
                .to_command()
                .is_err()
        );
        assert!(
            Originate::new(user("1000"), park())
                .variable("x", "a\nb")
                .to_command()
                .is_err()
        );
    }

    #[test]
    fn variable_values_are_escaped() {
        let mut out = String::new();
        write_variable_value("it's a, b", &mut out).unwrap();
        assert_eq!(out, "'it\\'s a\\, b'");
    }
}
