//! Writes the shared test vectors (issue 21) that the Rust, Python and
//! TypeScript clients must all give the same verdicts on: `testdata/` at
//! the repository root. Everything is made by Keyward's own code from
//! fixed key material, nonces and times, so a run writes the same bytes.
//!
//!     cargo run -p keyward-server --example testdata -- testdata
//!     cargo run -p keyward-server --example testdata -- --check testdata
//!
//! `--check` writes nothing and fails if a file differs from a fresh
//! generation (CI runs it). The verdicts themselves are checked against the
//! Rust clients by keyward-client's `vectors` tests.

// A generator: a broken fixture is a bug here, reported as a panic.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod approval_cases;
mod approvals;
mod canonical;
mod chain_cases;
mod event_kinds;
mod events;
mod fixture;
mod json;
mod readme;

use std::path::Path;
use std::process::ExitCode;

use keyward_api::{PROBLEM_BASE, ProblemKind};

use json::{J, obj, v};

/// testdata/problems.json: the problem catalogue.
fn problems() -> J {
    let problems = ProblemKind::all()
        .map(|kind| {
            let (status, title) = kind.status_and_title();
            obj([
                ("slug", v(kind.slug())),
                ("status", v(status)),
                ("title", v(title)),
            ])
        })
        .collect();
    obj([
        ("version", v(1)),
        ("base", v(PROBLEM_BASE)),
        ("problems", J::Arr(problems)),
    ])
}

/// Every file, name and content.
fn files() -> Vec<(&'static str, String)> {
    let files = [
        ("canonical.json", canonical::file()),
        ("approvals.json", approvals::file()),
        ("events.json", events::file()),
        ("problems.json", problems()),
    ];
    let mut out: Vec<(&'static str, String)> = files
        .into_iter()
        .map(|(name, j)| (name, j.pretty()))
        .collect();
    let readme = readme::text(&out);
    out.push(("README.md", readme));
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("testdata", String::as_str);
    let dir = Path::new(dir);
    let mut stale = Vec::new();
    for (name, content) in files() {
        let path = dir.join(name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(content.as_bytes()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(dir).expect("create the directory");
            std::fs::write(&path, content).expect("write a vector file");
        }
    }
    if stale.is_empty() {
        if check {
            println!("testdata: every file is current");
        }
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "testdata: not what the generator writes now: {}\n\
             regenerate: cargo run -p keyward-server --example testdata -- testdata",
            stale.join(", ")
        );
        ExitCode::FAILURE
    }
}
