//! The short second conformance suite: redshift-local through boto3 (tests/python), on a local stack started here.

use std::process::Command;
use tasker_tests::stack::{Stack, StackOptions};
use tasker_tests::{venv, workspace_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn boto3_parses_every_reply() {
    let stack = Stack::start(StackOptions {
        poll: false,
        prefix: "py".into(),
        ..Default::default()
    })
    .await
    .expect("local stack");
    let url = stack.redshift.url();
    let root = workspace_root();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(venv().join("bin/python"))
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/python",
            ])
            .current_dir(root)
            .env("REDSHIFT_LOCAL_URL", url)
            .output()
            .expect("pytest runs")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pytest failed:\n{text}");
    assert!(text.contains("9 passed"), "{text}");
}
