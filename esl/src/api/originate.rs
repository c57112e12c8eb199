//! `originate`: a new call to a typed endpoint, connected to an extension or an application,
//! with channel variables escaped as FreeSWITCH expects.

use super::value::{
    write_application, write_application_argument, write_braced_variable_value,
    write_dialplan_extension, write_domain, write_extension, write_name, write_number,
    write_variable_name,
};
use super::{ApiCommand, ApiError, ApiFailure, DialedNumber};

/// Where `originate` places the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        /// The number to dial: checked when it was made, so no separator, variable or second
        /// endpoint can ride in on it.
        number: DialedNumber,
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
    /// The endpoint as a dial string, for `originate` or a dialplan's `bridge`: every part
    /// checked by its rule (a number is a [`DialedNumber`](super::DialedNumber), a user,
    /// gateway or context a [name](super::is_name), a domain a [domain](super::is_domain)).
    ///
    /// ```
    /// use esl::api::Endpoint;
    ///
    /// use esl::api::DialedNumber;
    ///
    /// let trunk = Endpoint::Gateway { gateway: "trunk".into(), number: DialedNumber::parse("+4412345")? };
    /// assert_eq!(trunk.to_dial_string()?, "sofia/gateway/trunk/+4412345");
    /// // The unsafe form cannot be made: the number is refused before any dial string exists.
    /// assert!(DialedNumber::parse("0800,loopback/9995/default").is_err());
    /// let bad_gateway = Endpoint::Gateway { gateway: "x/1".into(), number: DialedNumber::parse("1")? };
    /// assert!(bad_gateway.to_dial_string().is_err());
    /// # Ok::<(), esl::api::ApiError>(())
    /// ```
    pub fn to_dial_string(&self) -> Result<String, ApiError> {
        let mut out = String::new();
        self.write(&mut out)?;
        Ok(out)
    }

    fn write(&self, out: &mut String) -> Result<(), ApiError> {
        match self {
            Self::User { user, domain } => {
                out.push_str("user/");
                write_name(out, "user", user)?;
                if let Some(domain) = domain {
                    out.push('@');
                    write_domain(out, domain)?;
                }
            }
            Self::Gateway { gateway, number } => {
                out.push_str("sofia/gateway/");
                write_name(out, "gateway", gateway)?;
                out.push('/');
                // Checked by DialedNumber::parse; written through the same rule all the same.
                write_number(out, "number", number.as_str())?;
            }
            Self::Loopback { extension, context } => {
                out.push_str("loopback/");
                write_dialplan_extension(out, extension)?;
                if let Some(context) = context {
                    out.push('/');
                    write_name(out, "context", context)?;
                }
            }
        }
        Ok(())
    }
}

/// What the originated leg is connected to once it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// An extension of the dialplan: `<extension> [<dialplan> [<context>]]`; a context without
    /// a dialplan is sent with FreeSWITCH's default dialplan, `XML`.
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
///     Endpoint::Gateway { gateway: "carrier".into(), number: "+441234567".parse()? },
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

    /// The `originate ...` API command line (the same as [`ApiCommand::to_command`]).
    pub fn to_command(&self) -> Result<String, ApiError> {
        ApiCommand::to_command(self)
    }
}

impl ApiCommand for Originate {
    /// The new channel's UUID, from FreeSWITCH's `+OK <uuid>`.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("originate ");
        if !self.variables.is_empty() {
            out.push('{');
            for (i, (name, value)) in self.variables.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_variable_name(out, name)?;
                out.push('=');
                write_braced_variable_value(out, value)?;
            }
            out.push('}');
        }
        self.endpoint.write(out)?;
        out.push(' ');
        match &self.destination {
            Destination::Extension {
                extension,
                dialplan,
                context,
            } => write_extension(out, extension, dialplan.as_deref(), context.as_deref()),
            Destination::Application { app, arg } => {
                out.push('&');
                write_application(out, app)?;
                out.push('(');
                write_application_argument(out, arg.as_deref().unwrap_or(""))?;
                out.push(')');
                Ok(())
            }
        }
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        match result.trim_end().strip_prefix("+OK ") {
            Some(uuid) if !uuid.trim().is_empty() => Ok(uuid.trim().to_owned()),
            _ => Err(ApiFailure::new(&result)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::value::HOSTILE;

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
    fn no_hostile_string_reaches_any_part_of_the_dial_string() {
        let park = || Destination::Application {
            app: "park".into(),
            arg: None,
        };
        for hostile in HOSTILE {
            assert!(DialedNumber::parse(hostile).is_err(), "{hostile}");
            let endpoints = [
                Endpoint::Gateway {
                    gateway: hostile.into(),
                    number: DialedNumber::parse("0800").unwrap(),
                },
                Endpoint::User {
                    user: hostile.into(),
                    domain: None,
                },
                Endpoint::User {
                    user: "1000".into(),
                    domain: Some(hostile.into()),
                },
                Endpoint::Loopback {
                    extension: hostile.into(),
                    context: None,
                },
            ];
            for endpoint in endpoints {
                let command = Originate::new(endpoint, park()).to_command();
                assert!(command.is_err(), "{hostile}: {command:?}");
            }
            let into = Destination::Extension {
                extension: hostile.into(),
                dialplan: None,
                context: Some("default".into()),
            };
            let user = Endpoint::User {
                user: "1000".into(),
                domain: None,
            };
            assert!(Originate::new(user.clone(), into).to_command().is_err());
            let app = Destination::Application {
                app: hostile.into(),
                arg: None,
            };
            assert!(Originate::new(user.clone(), app).to_command().is_err());
        }
        // As a variable's value: the separator escaped, what the two parsing passes cannot
        // carry alike refused (the backslash among them).
        let user = Endpoint::User {
            user: "1000".into(),
            domain: None,
        };
        let with = |value: &str| {
            Originate::new(user.clone(), park())
                .variable("a", value)
                .variable("b", "c")
                .to_command()
        };
        assert_eq!(
            with(HOSTILE[0]).unwrap(),
            "originate {a=0800\\,loopback/9995/default,b=c}user/1000 &park()"
        );
        for refused in &HOSTILE[1..5] {
            assert!(with(refused).is_err(), "{refused}");
        }
        assert_eq!(
            with(HOSTILE[5]).unwrap(),
            "originate {a=&system(id),b=c}user/1000 &park()"
        );
        assert!(with(HOSTILE[6]).is_err());
    }

    #[test]
    fn originate_result_is_the_new_channels_uuid() {
        let originate = Originate::new(
            Endpoint::User {
                user: "1000".into(),
                domain: None,
            },
            Destination::Application {
                app: "park".into(),
                arg: None,
            },
        );
        assert_eq!(
            originate.read_result("+OK 7f4b-11\n".into()),
            Ok("7f4b-11".to_owned())
        );
        for refused in ["-ERR USER_NOT_REGISTERED\n", "+OK\n", "oops"] {
            assert_eq!(
                originate.read_result(refused.into()),
                Err(ApiFailure {
                    text: refused.trim_end().to_owned()
                })
            );
        }
    }
}

/// How one dial string rings several endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ringing {
    /// All at once (`,`): the first to answer takes the call.
    Simultaneous,
    /// One after the other (`|`), each when the one before failed or timed out.
    Sequential,
}

/// One dial string ringing `endpoints` the `ringing` way, each leg for at most `leg_seconds`
/// (`[leg_timeout=N]` before each). Every endpoint is written by its own rules, so no
/// separator or variable can ride in on one.
///
/// ```
/// use esl::api::{Endpoint, Ringing, ring};
///
/// let user = |u: &str| Endpoint::User { user: u.into(), domain: Some("acme.example".into()) };
/// assert_eq!(
///     ring(&[user("1001"), user("1002")], Ringing::Sequential, Some(15))?,
///     "[leg_timeout=15]user/1001@acme.example|[leg_timeout=15]user/1002@acme.example"
/// );
/// assert_eq!(ring(&[user("1001"), user("1002")], Ringing::Simultaneous, None)?, "user/1001@acme.example,user/1002@acme.example");
/// assert!(ring(&[user("1001,user/9")], Ringing::Simultaneous, None).is_err());
/// assert!(ring(&[], Ringing::Simultaneous, None).is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn ring(
    endpoints: &[Endpoint],
    ringing: Ringing,
    leg_seconds: Option<u32>,
) -> Result<String, ApiError> {
    if endpoints.is_empty() {
        return Err(ApiError::NotAWord {
            field: "endpoints",
            value: String::new(),
        });
    }
    let separator = match ringing {
        Ringing::Simultaneous => ',',
        Ringing::Sequential => '|',
    };
    let mut out = String::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        if let Some(seconds) = leg_seconds {
            out.push_str(&format!("[leg_timeout={seconds}]"));
        }
        endpoint.write(&mut out)?;
    }
    Ok(out)
}
