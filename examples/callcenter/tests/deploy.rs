//! The deploy files as an operator installs them: every unit runs a binary this package builds,
//! with the exit status of a bad configuration kept from restart loops, and that status is what
//! the daemons really return.

use std::path::{Path, PathBuf};
use std::process::Command;

const BINARIES: [(&str, &str); 5] = [
    ("callcenter", env!("CARGO_BIN_EXE_callcenter")),
    ("xmlcurl-server", env!("CARGO_BIN_EXE_xmlcurl-server")),
    ("cdr-gateway", env!("CARGO_BIN_EXE_cdr-gateway")),
    ("esl-worker", env!("CARGO_BIN_EXE_esl-worker")),
    ("recording-worker", env!("CARGO_BIN_EXE_recording-worker")),
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn units() -> Vec<(String, String)> {
    let mut units: Vec<(String, String)> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    units.sort();
    units
}

fn setting<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn one_unit_per_role_each_running_a_binary_of_this_package() {
    let units = units();
    let mut started: Vec<&str> = units
        .iter()
        .map(|(name, unit)| {
            let exec = setting(unit, "ExecStart");
            assert_eq!(exec.len(), 1, "{name}");
            let binary = exec[0].split_whitespace().next().unwrap();
            binary.rsplit('/').next().unwrap()
        })
        .collect();
    started.sort();
    let mut built: Vec<&str> = BINARIES.iter().map(|(name, _)| *name).collect();
    built.sort();
    assert_eq!(started, built);
}

#[test]
fn units_do_not_restart_a_daemon_whose_configuration_is_wrong() {
    for (name, unit) in units() {
        assert_eq!(
            setting(&unit, "RestartPreventExitStatus"),
            [callcenter::daemon::EXIT_CONFIG.to_string().as_str()],
            "{name}"
        );
        // The staging area on tmpfs is gone after a reboot: tmpfiles.d makes it again.
        if setting(&unit, "ReadWritePaths")
            .iter()
            .any(|paths| paths.contains("/dev/shm/recordings"))
        {
            let tmpfiles =
                std::fs::read_to_string(deploy_dir().join("callcenter-recordings.conf")).unwrap();
            assert!(
                tmpfiles
                    .lines()
                    .any(|l| l.starts_with("d /dev/shm/recordings 3770 callcenter freeswitch")),
                "{tmpfiles}"
            );
        }
    }
    // Only the units that run the recording worker share FreeSWITCH's group and its staging.
    let staging_recordings = ["callcenter.service", "callcenter-recording-worker.service"];
    for (name, unit) in units() {
        let stages = staging_recordings.contains(&name.as_str());
        let in_group = setting(&unit, "SupplementaryGroups") == ["freeswitch"];
        let writes_staging = setting(&unit, "ReadWritePaths")
            .iter()
            .any(|paths| paths.contains("/dev/shm/recordings"));
        assert_eq!((in_group, writes_staging), (stages, stages), "{name}");
        assert_eq!(setting(&unit, "UMask"), ["0027"], "{name}");
    }
    let serving_configuration = ["callcenter.service", "callcenter-xmlcurl-server.service"];
    for (name, unit) in units() {
        if serving_configuration.contains(&name.as_str()) {
            assert_eq!(setting(&unit, "Before"), ["freeswitch.service"], "{name}");
        }
    }
}

#[test]
fn a_bad_configuration_exits_with_the_configuration_status() {
    let scratch =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("deploy-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let typo = scratch.join("typo.toml");
    std::fs::write(&typo, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let missing = scratch.join("missing.toml");
    for (name, binary) in BINARIES {
        for config in [&typo, &missing] {
            let output = Command::new(binary)
                .arg("--config")
                .arg(config)
                .env_remove("CALLCENTER_CONFIG")
                .output()
                .unwrap();
            assert_eq!(
                output.status.code(),
                Some(i32::from(callcenter::daemon::EXIT_CONFIG)),
                "{name} {}: {}",
                config.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // A bare --config is a usage error, not a silent start on the defaults.
        let output = Command::new(binary).arg("--config").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--config"),
            "{name}"
        );
    }
    std::fs::remove_dir_all(&scratch).ok();
}

/// The sofia snippet names the directory domain whose gateway lookups the daemon answers.
#[test]
fn the_sofia_snippet_asks_the_daemon_for_its_trunks() {
    let snippet = std::fs::read_to_string(deploy_dir().join("sofia-gateways.xml")).unwrap();
    let domain = format!(
        r#"<domain name="{}" alias="false" parse="true"/>"#,
        platform::trunks::GATEWAYS_DOMAIN
    );
    assert!(snippet.contains(&domain), "{snippet}");
}
