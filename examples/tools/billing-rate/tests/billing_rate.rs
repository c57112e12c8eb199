//! `billing-rate` on the real CDR posts, as operators run it.

use std::process::Command;

fn fixtures(dir: &str) -> String {
    tests::fixture(dir).display().to_string()
}

fn plan_file(contents: &str) -> tempfile_path::Path {
    tempfile_path::Path::with(contents)
}

/// A plan file in the target directory, removed on drop.
mod tempfile_path {
    pub struct Path(pub std::path::PathBuf);

    impl Path {
        pub fn with(contents: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let path = dir.join(format!("plan-{}-{n}.csv", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            Self(path)
        }
    }

    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_billing-rate"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn rates_every_real_cdr_whatever_its_encoding() {
    let plan = plan_file(
        "prefix,name,rate_per_minute,connect_fee,initial_increment,subsequent_increment\n999,Test,0.60,0.05,1,1\n",
    );
    let mut args = vec!["--plan".to_owned(), plan.0.display().to_string()];
    let mut files: Vec<_> = std::fs::read_dir(fixtures("json_cdr"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".response.http"))
        .collect();
    files.sort();
    args.extend(files.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    for line in &lines {
        // 9995 matches 999; 1.000 s or 1.020 s billed as 1 or 2 s: 0.05 + 0.01 or 0.02.
        assert_eq!(line["prefix"], "999");
        let amount = line["amount"].as_str().unwrap();
        match line["leg"].as_str().unwrap() {
            "a" => assert_eq!((line["billed_seconds"].as_u64(), amount), (Some(1), "0.06")),
            "b" => assert_eq!((line["billed_seconds"].as_u64(), amount), (Some(2), "0.07")),
            other => panic!("leg {other}"),
        }
    }
}

#[test]
fn authorize_prints_the_longest_call() {
    let plan = plan_file("prefix,rate_per_minute,connect_fee\n44,0.60,0.10\n");
    let output = run(&[
        "--plan",
        &plan.0.display().to_string(),
        "--authorize",
        "--balance",
        "1.00",
        "--destination",
        "4420",
        "--at",
        "0",
    ]);
    assert!(output.status.success());
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["seconds"], 90);
}

#[test]
fn unreadable_inputs_fail_clearly() {
    let output = run(&["--plan", "/nonexistent/plan.csv", "x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("rate plan /nonexistent/plan.csv"));
    let bad_plan = plan_file("prefix,rate_per_minute\n4x,0.1\n");
    let output = run(&["--plan", &bad_plan.0.display().to_string()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));
    let plan = plan_file("prefix,rate_per_minute\n44,0.1\n");
    let output = run(&[
        "--plan",
        &plan.0.display().to_string(),
        &format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR")),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("CDR "),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rates_every_err_log_dir_file_freeswitch_left() {
    let plan = plan_file("prefix,name,rate_per_minute,connect_fee\n09,Mobile,0.60,0.05\n");
    let mut args = vec!["--plan".to_owned(), plan.0.display().to_string()];
    let root = tests::fixture("json_cdr_bridged");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("errdir_")
        })
        .flat_map(|dir| std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9);
    args.extend(files.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9);
    let charged = lines.iter().filter(|l| l["charged_leg"] == true).count();
    assert_eq!(charged, 3, "one leg per call: the trunk leg");
    for line in &lines {
        // Every leg went to 0901234567 for about 5 s: 0.05 + 0.01 per started second.
        assert_eq!(line["prefix"], "09", "{line}");
        let amount: f64 = line["amount"].as_str().unwrap().parse().unwrap();
        assert!((0.09..=0.11).contains(&amount), "{line}");
    }
}
