//! FreeSWITCH's credentials for the routes it calls (`/fsapi`, `/cdr`): always required. A
//! deployment sets them (`[xml_curl]` and `[cdr]` `user`/`password`); only the README's
//! embedded default (a SQLite file) generates a strong random password on first start and
//! keeps it beside the database, mode 0600, with the lines FreeSWITCH's configuration needs.

use super::{Credentials, DaemonConfig, DaemonError};
use crate::http::BasicAuth;
use serde::Deserialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The user of generated credentials.
pub const GENERATED_USER: &str = "freeswitch";

/// Which FreeSWITCH-facing route the credentials are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeswitchRoute {
    /// `POST /fsapi` (mod_xml_curl's `gateway-credentials`).
    XmlCurl,
    /// `POST /cdr` (mod_json_cdr's `cred`).
    Cdr,
}

impl FreeswitchRoute {
    fn setting(self) -> &'static str {
        match self {
            FreeswitchRoute::XmlCurl => "xml_curl",
            FreeswitchRoute::Cdr => "cdr",
        }
    }

    fn env(self) -> &'static str {
        match self {
            FreeswitchRoute::XmlCurl => "CALLCENTER_XML_CURL",
            FreeswitchRoute::Cdr => "CALLCENTER_CDR",
        }
    }
}

/// The credentials `route` requires: the configured ones, else (on the embedded SQLite
/// default only) the generated ones; anything else is a configuration error naming the
/// setting.
pub fn credentials_for(
    config: &DaemonConfig,
    route: FreeswitchRoute,
) -> Result<BasicAuth, DaemonError> {
    let configured = match route {
        FreeswitchRoute::XmlCurl => &config.xml_curl,
        FreeswitchRoute::Cdr => &config.cdr.credentials,
    };
    let (setting, env) = (route.setting(), route.env());
    if configured != &Credentials::default() {
        return BasicAuth::new(
            configured.user.as_deref().unwrap_or(""),
            configured.password.as_deref().unwrap_or(""),
        )
        .map_err(|e| {
            DaemonError::Config(format!(
                "{setting}.user/{setting}.password ({env}_USER/_PASSWORD): {e}"
            ))
        });
    }
    let Some(file) = generated_file(&config.database) else {
        return Err(DaemonError::Config(format!(
            "{setting}.user and {setting}.password ({env}_USER/_PASSWORD) are required: \
             FreeSWITCH's routes are never served without credentials (only the embedded \
             SQLite default generates them)"
        )));
    };
    load_or_generate(&file)
}

/// The file of a SQLite database URL (the embedded default); `None` for another database or an
/// in-memory one.
fn sqlite_file(database: &str) -> Option<PathBuf> {
    let rest = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || rest.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Where the embedded default keeps generated credentials: beside the SQLite file.
fn generated_file(database: &str) -> Option<PathBuf> {
    let path = sqlite_file(database)?;
    let mut name = path.file_name()?.to_os_string();
    name.push(".freeswitch-credentials");
    Some(path.with_file_name(name))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    user: String,
    password: String,
}

fn load_or_generate(file: &Path) -> Result<BasicAuth, DaemonError> {
    let io = |source| DaemonError::ConfigFile {
        path: file.display().to_string(),
        source,
    };
    let named = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return generate(file),
        Err(source) => return Err(io(source)),
    };
    refuse_unless_private(file, &named)?;
    // What is read is what was checked: the opened file must be the one looked at (a link
    // swapped in between would be another inode).
    let mut opened = std::fs::File::open(file).map_err(io)?;
    let meta = opened.metadata().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (meta.dev(), meta.ino()) != (named.dev(), named.ino()) {
            return Err(DaemonError::Config(format!(
                "{} changed while it was read: FreeSWITCH's credentials are not read from it",
                file.display()
            )));
        }
    }
    refuse_unless_private(file, &meta)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut opened, &mut text).map_err(io)?;
    let stored: Stored = toml::from_str(&text)
        .map_err(|e| DaemonError::Config(format!("{}: {e}", file.display())))?;
    tracing::info!(file = %file.display(), "FreeSWITCH's credentials");
    BasicAuth::new(&stored.user, &stored.password)
        .map_err(|e| DaemonError::Config(format!("{}: {e}", file.display())))
}

/// Writes new credentials to a private temporary file, then links it into place: a second
/// process starting at the same time finds the first one's file instead of replacing it.
fn generate(file: &Path) -> Result<BasicAuth, DaemonError> {
    let auth = BasicAuth::generate(GENERATED_USER);
    let io = |source| DaemonError::ConfigFile {
        path: file.display().to_string(),
        source,
    };
    let temporary = file.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&temporary).map_err(io)?;
    out.write_all(file_text(&auth).as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(io)?;
    let linked = std::fs::hard_link(&temporary, file);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            // The lines FreeSWITCH needs, without the password itself (logs travel): the file
            // has them whole.
            let pair = format!("{}:<password in {}>", auth.user(), file.display());
            tracing::warn!(
                file = %file.display(),
                "generated FreeSWITCH's credentials (mode 0600); in FreeSWITCH, \
                 xml_curl.conf.xml: <param name=\"gateway-credentials\" value=\"{pair}\"/>, \
                 json_cdr.conf.xml: <param name=\"cred\" value=\"{pair}\"/> (the file has \
                 both lines ready to copy)"
            );
            Ok(auth)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_generate(file),
        Err(source) => Err(io(source)),
    }
}

fn file_text(auth: &BasicAuth) -> String {
    let pair = format!("{}:{}", auth.user(), auth.password());
    format!(
        "# FreeSWITCH's credentials for this daemon's /fsapi and /cdr, generated on first start.\n\
         # Keep this file private (mode 0600). In FreeSWITCH:\n\
         #   xml_curl.conf.xml: <param name=\"gateway-credentials\" value=\"{pair}\"/>\n\
         #   json_cdr.conf.xml: <param name=\"cred\" value=\"{pair}\"/>\n\
         user = \"{}\"\npassword = \"{}\"\n",
        auth.user(),
        auth.password()
    )
}

/// The credentials are only trusted from a regular file nobody else may read or write (a
/// symbolic link could point anywhere; a file others can write lets them choose the password).
fn refuse_unless_private(file: &Path, meta: &std::fs::Metadata) -> Result<(), DaemonError> {
    if !meta.file_type().is_file() {
        return Err(DaemonError::Config(format!(
            "{} is not a regular file (a symbolic link?): FreeSWITCH's credentials are not read from it",
            file.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(DaemonError::Config(format!(
                "{} is open to other users: chmod 600 it (or remove it to generate new credentials)",
                file.display()
            )));
        }
    }
    Ok(())
}

/// The embedded default's database file, created private (mode 0600) if it does not exist:
/// it holds the SIP credentials' hashes, which are enough to answer a digest challenge.
pub fn create_private_database(database: &str) -> Result<(), DaemonError> {
    let Some(path) = sqlite_file(database) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(DaemonError::ConfigFile {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sqlite_file_has_a_place_for_generated_credentials() {
        assert_eq!(
            generated_file("sqlite://callcenter.sqlite?mode=rwc"),
            Some(PathBuf::from("callcenter.sqlite.freeswitch-credentials"))
        );
        assert_eq!(
            generated_file("sqlite:///var/lib/cc/db.sqlite"),
            Some(PathBuf::from(
                "/var/lib/cc/db.sqlite.freeswitch-credentials"
            ))
        );
        assert_eq!(generated_file("sqlite::memory:"), None);
        assert_eq!(generated_file("postgres://u@db/x"), None);
    }

    #[test]
    fn an_empty_or_half_configuration_is_refused_by_name() {
        let mut config = DaemonConfig {
            database: "postgres://u@db/x".into(),
            ..DaemonConfig::default()
        };
        let refused = credentials_for(&config, FreeswitchRoute::XmlCurl).unwrap_err();
        assert!(refused.to_string().contains("xml_curl.user"), "{refused}");
        config.cdr.credentials.user = Some("freeswitch".into());
        let refused = credentials_for(&config, FreeswitchRoute::Cdr).unwrap_err();
        assert!(
            refused.to_string().contains("password is empty"),
            "{refused}"
        );
        config.cdr.credentials.password = Some(String::new());
        assert!(credentials_for(&config, FreeswitchRoute::Cdr).is_err());
        config.cdr.credentials.password = Some("pw".into());
        assert!(credentials_for(&config, FreeswitchRoute::Cdr).is_ok());
    }

    #[test]
    fn generated_credentials_are_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("cc-cred-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = DaemonConfig {
            database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
            ..DaemonConfig::default()
        };
        let first = credentials_for(&config, FreeswitchRoute::XmlCurl).unwrap();
        let again = credentials_for(&config, FreeswitchRoute::Cdr).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.user(), "freeswitch");
        let file = dir.join("db.sqlite.freeswitch-credentials");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!(
            "<param name=\"gateway-credentials\" value=\"freeswitch:{}\"/>",
            first.password()
        )));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Opened to others, it is refused.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = credentials_for(&config, FreeswitchRoute::Cdr).unwrap_err();
            assert!(refused.to_string().contains("chmod 600"), "{refused}");
            std::fs::remove_file(&file).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
            let refused = credentials_for(&config, FreeswitchRoute::Cdr).unwrap_err();
            assert!(
                refused.to_string().contains("not a regular file"),
                "{refused}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_embedded_database_is_created_private() {
        let dir = std::env::temp_dir().join(format!("cc-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("db.sqlite");
        create_private_database(&format!("sqlite://{}?mode=rwc", path.display())).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
