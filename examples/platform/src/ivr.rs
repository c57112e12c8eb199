//! IVR menus as typed values: what a digit does ([`MenuAction`]), which digits a menu takes
//! and which sounds it may play ([`check_sound`]). Nothing a tenant writes reaches
//! `ivr.conf` as FreeSWITCH syntax: an action is served as the one `menu-exec-app` or
//! `menu-sub` line this module's kind stands for, with names checked where they are stored.
//!
//! ```
//! use platform::ivr::MenuAction;
//!
//! let action: MenuAction = "queue:support".parse().unwrap();
//! assert_eq!(action, MenuAction::Queue("support".into()));
//! assert_eq!(action.to_string(), "queue:support");
//! assert!("menu-exec-app:bridge sofia/gateway/x/1".parse::<MenuAction>().is_err());
//! ```

use crate::identity::InvalidValue;

/// What a menu entry's digits do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MenuAction {
    /// Transfer to one of the tenant's extensions.
    Extension(String),
    /// Transfer to one of the tenant's queues (through its dial name).
    Queue(String),
    /// Go to another menu of the tenant (a submenu; `#` or the exit sound comes back).
    Menu(String),
    /// Transfer to one of the tenant's ring groups (through its dial name).
    Group(String),
    /// Go where one of the tenant's DIDs routes its calls.
    Did(String),
    /// Play the menu again.
    Repeat,
    /// Say goodbye and hang up.
    HangUp,
}

/// Why a menu action's text is not an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a menu action is extension:NAME, queue:NAME, menu:NAME, group:NAME, did:NUMBER, repeat or hangup"
)]
pub struct ActionSyntax;

impl MenuAction {
    /// The kind as stored: `extension`, `queue`, `menu`, `group`, `did`, `repeat` or `hangup`.
    ///
    /// ```
    /// assert_eq!(platform::ivr::MenuAction::HangUp.kind(), "hangup");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            MenuAction::Extension(_) => "extension",
            MenuAction::Queue(_) => "queue",
            MenuAction::Menu(_) => "menu",
            MenuAction::Group(_) => "group",
            MenuAction::Did(_) => "did",
            MenuAction::Repeat => "repeat",
            MenuAction::HangUp => "hangup",
        }
    }

    /// What it names (empty for `repeat` and `hangup`).
    ///
    /// ```
    /// use platform::ivr::MenuAction;
    /// assert_eq!(MenuAction::Menu("sales".into()).target(), "sales");
    /// assert_eq!(MenuAction::Repeat.target(), "");
    /// ```
    pub fn target(&self) -> &str {
        match self {
            MenuAction::Extension(t)
            | MenuAction::Queue(t)
            | MenuAction::Menu(t)
            | MenuAction::Group(t)
            | MenuAction::Did(t) => t,
            MenuAction::Repeat | MenuAction::HangUp => "",
        }
    }

    /// The action of a stored kind and target; `None` for what this version does not know
    /// (a row written by hand, say).
    ///
    /// ```
    /// use platform::ivr::MenuAction;
    /// assert_eq!(MenuAction::from_parts("did", "02873001234"), Some(MenuAction::Did("02873001234".into())));
    /// assert_eq!(MenuAction::from_parts("repeat", ""), Some(MenuAction::Repeat));
    /// assert_eq!(MenuAction::from_parts("menu-exec-app", "transfer 1 XML x"), None);
    /// assert_eq!(MenuAction::from_parts("queue", ""), None);
    /// ```
    pub fn from_parts(kind: &str, target: &str) -> Option<Self> {
        let named =
            |make: fn(String) -> MenuAction| (!target.is_empty()).then(|| make(target.to_owned()));
        match (kind, target) {
            ("repeat", "") => Some(MenuAction::Repeat),
            ("hangup", "") => Some(MenuAction::HangUp),
            ("extension", _) => named(MenuAction::Extension),
            ("queue", _) => named(MenuAction::Queue),
            ("menu", _) => named(MenuAction::Menu),
            ("group", _) => named(MenuAction::Group),
            ("did", _) => named(MenuAction::Did),
            _ => None,
        }
    }
}

impl std::fmt::Display for MenuAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MenuAction::Repeat | MenuAction::HangUp => f.write_str(self.kind()),
            _ => write!(f, "{}:{}", self.kind(), self.target()),
        }
    }
}

impl std::str::FromStr for MenuAction {
    type Err = ActionSyntax;

    fn from_str(text: &str) -> Result<Self, ActionSyntax> {
        let (kind, target) = text.split_once(':').unwrap_or((text, ""));
        MenuAction::from_parts(kind, target).ok_or(ActionSyntax)
    }
}

/// One entry of a menu: the digits a caller presses and what they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// 1 to 4 of `0-9`, `*` and `#`.
    pub digits: String,
    /// What they do.
    pub action: MenuAction,
}

/// Longest digits of an entry.
pub const DIGITS_MAX: usize = 4;

/// Most entries in a menu.
pub const ENTRIES_MAX: usize = 32;

/// Longest sound reference, in bytes.
pub const SOUND_MAX: usize = 256;

/// Checks an entry's digits: 1 to [`DIGITS_MAX`] of `0-9`, `*`, `#`.
///
/// ```
/// use platform::ivr::check_digits;
/// assert!(check_digits("1").is_ok() && check_digits("*9#").is_ok());
/// assert!(check_digits("").is_err() && check_digits("12345").is_err() && check_digits("/1/").is_err());
/// ```
pub fn check_digits(digits: &str) -> Result<(), InvalidValue> {
    let ok = !digits.is_empty()
        && digits.len() <= DIGITS_MAX
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::Digits)
    }
}

/// Checks a sound a menu plays: a file under FreeSWITCH's sound directories
/// (`ivr/ivr-welcome.wav`: relative, segments of letters, digits, `_`, `-`, `.`, no `..`), a
/// tone (`tone_stream://%(500,0,800)`), silence (`silence_stream://500`) or music on hold
/// (`local_stream://moh`), or one of the tenant's uploaded prompts (`prompt:NAME`). Nothing that
/// FreeSWITCH would expand (`$`, `{`), no absolute path (another tenant's file or the
/// system's), no blank or quote.
///
/// ```
/// use platform::ivr::check_sound;
/// assert!(check_sound("ivr/ivr-welcome_to_freeswitch.wav").is_ok());
/// assert!(check_sound("tone_stream://%(500,0,800);loops=2").is_ok());
/// assert!(check_sound("local_stream://moh").is_ok());
/// assert!(check_sound("prompt:welcome").is_ok() && check_sound("prompt:../x").is_err());
/// for hostile in ["/etc/passwd", "../../x.wav", "${system(id)}", "ivr/a b.wav", "http://x/y.wav", ""] {
///     assert!(check_sound(hostile).is_err(), "{hostile}");
/// }
/// ```
pub fn check_sound(sound: &str) -> Result<(), InvalidValue> {
    let file = |path: &str| {
        !path.starts_with('/')
            && path.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != ".."
                    && segment != "."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            })
    };
    let tone = |spec: &str| {
        !spec.is_empty()
            && spec.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'%' | b'(' | b')' | b',' | b';' | b'=' | b'.' | b'-')
            })
    };
    let ok = sound.len() <= SOUND_MAX
        && if let Some(spec) = sound.strip_prefix("tone_stream://") {
            tone(spec)
        } else if let Some(name) = sound.strip_prefix("prompt:") {
            // One of the tenant's uploaded prompts, served as FreeSWITCH can reach it.
            esl::api::is_name(name)
        } else if let Some(stream) = sound.strip_prefix("local_stream://") {
            // Music on hold, by its directory's name.
            !stream.is_empty()
                && !stream.contains("..")
                && stream
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        } else if let Some(ms) = sound.strip_prefix("silence_stream://") {
            !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit() || b == b',')
        } else {
            !sound.contains("://") && file(sound)
        };
    if ok { Ok(()) } else { Err(InvalidValue::Sound) }
}
