//! `softkey`: answers Keyward's WebAuthn ceremonies from a terminal with a software
//! security key kept in a JSON file, so the README's curl walkthrough runs without a browser.

use std::fs;
use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use keyward_testkit::{Forge, SoftKey};
use serde_json::{Value, json};

/// The `--help` text.
const USAGE: &str = r#"softkey: a software FIDO2 security key for Keyward's API, kept in a file.

Usage:
  softkey register --key FILE --origin ORIGIN [--label LABEL]
  softkey assert   --key FILE --origin ORIGIN
  softkey --help

register  Reads Keyward's registration options {"ceremony":...,"publicKey":...} on
          stdin, creates a credential in FILE (creating FILE if it does not exist)
          and prints the body for POST /v1/keys/registration/verify:
          {"ceremony":...,"label":...,"credential":...}
assert    Reads Keyward's assertion options {"ceremony":...,"publicKey":...} on stdin
          (sign-in or re-authentication), signs with a credential in FILE, saves its
          raised counter and prints the body for the matching verify endpoint:
          {"ceremony":...,"credential":...}

Options:
  --key FILE       the key's state (JSON with private keys; written with mode 0600)
  --origin ORIGIN  the origin a browser would report, e.g. http://localhost:8080
  --label LABEL    register only: the new key's label (default "softkey")
  -h, --help       print this help

Example:
  curl -sS -b jar -c jar -H "Origin: $O" -H 'Content-Type: application/json' \
      -X POST -d '{}' $O/v1/keys/registration/options \
    | softkey register --key alice.key --origin $O --label "Desk key" \
    | curl -sS -b jar -c jar -H "Origin: $O" -H 'Content-Type: application/json' \
      -d @- $O/v1/keys/registration/verify
"#;

/// Why the program stops: exit status 2 for bad usage, 1 otherwise.
struct Failure {
    /// Bad command line (exit status 2, with a pointer to `--help`).
    usage: bool,
    /// What went wrong.
    message: String,
}

/// A command-line mistake.
fn usage(message: impl Into<String>) -> Failure {
    Failure {
        usage: true,
        message: message.into(),
    }
}

/// A failure while running.
fn fail(message: impl Into<String>) -> Failure {
    Failure {
        usage: false,
        message: message.into(),
    }
}

/// The ceremony to answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ceremony {
    /// Create a credential.
    Register,
    /// Sign an assertion.
    Assert,
}

/// A parsed command line.
struct Args {
    /// Which ceremony.
    ceremony: Ceremony,
    /// The key file.
    key: PathBuf,
    /// The origin put into clientDataJSON.
    origin: String,
    /// The label for a registration.
    label: String,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut err = io::stderr().lock();
            // Nothing sensible is left to do if stderr itself fails.
            let _ = writeln!(err, "softkey: {}", failure.message);
            if failure.usage {
                let _ = writeln!(err, "Run `softkey --help` for usage.");
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Parse the command line, answer the ceremony on stdin, print the answer.
fn run() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| usage(format!("argument {a:?} is not UTF-8")))
        })
        .collect::<Result<_, _>>()?;
    let Some(args) = parse(args)? else {
        return print(USAGE.trim_end());
    };
    let loaded = load(&args.key)?;
    if args.ceremony == Ceremony::Assert && loaded.is_none() {
        return Err(fail(format!(
            "{}: no such key file (create it with `softkey register`)",
            args.key.display()
        )));
    }
    let mut key = loaded.unwrap_or_default();
    let (ceremony_id, options) = read_options()?;
    let answer = match args.ceremony {
        Ceremony::Register => {
            let credential = key
                .try_register_with(&options, &args.origin, &Forge::default())
                .map_err(|e| fail(format!("cannot register: {e}")))?;
            save(&args.key, &key)?;
            json!({ "ceremony": ceremony_id, "label": args.label, "credential": credential })
        }
        Ceremony::Assert => {
            let credential = key
                .try_assert_with(&options, &args.origin, &Forge::default())
                .map_err(|e| fail(format!("cannot assert: {e}")))?;
            save(&args.key, &key)?;
            json!({ "ceremony": ceremony_id, "credential": credential })
        }
    };
    print(&answer.to_string())
}

/// The parsed command line, or `None` if help was asked for.
fn parse(args: Vec<String>) -> Result<Option<Args>, Failure> {
    let mut args = args.into_iter();
    let ceremony = match args.next().as_deref() {
        None => return Err(usage("missing command (register or assert)")),
        Some("-h" | "--help" | "help") => return Ok(None),
        Some("register") => Ceremony::Register,
        Some("assert") => Ceremony::Assert,
        Some(other) => return Err(usage(format!("unknown command {other:?}"))),
    };
    let (mut key, mut origin, mut label) = (None, None, None);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let slot = match name {
            "-h" | "--help" => return Ok(None),
            "--key" => &mut key,
            "--origin" => &mut origin,
            "--label" if ceremony == Ceremony::Register => &mut label,
            _ => return Err(usage(format!("unexpected argument {arg:?}"))),
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| usage(format!("{name} needs a value")))?,
        };
        if slot.replace(value).is_some() {
            return Err(usage(format!("{name} given twice")));
        }
    }
    let key = key.ok_or_else(|| usage("missing --key FILE"))?;
    let origin = origin.ok_or_else(|| usage("missing --origin ORIGIN"))?;
    let well_formed = origin.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty() && !rest.is_empty() && !rest.contains(['/', '?', '#'])
    });
    if !well_formed {
        return Err(usage(format!(
            "--origin {origin:?} is not an origin like http://localhost:8080 \
             (scheme://host[:port], no path or trailing slash)"
        )));
    }
    Ok(Some(Args {
        ceremony,
        key: PathBuf::from(key),
        origin,
        label: label.unwrap_or_else(|| "softkey".to_owned()),
    }))
}

/// Read Keyward's options response from stdin: its ceremony id and the whole object.
fn read_options() -> Result<(String, Value), Failure> {
    let mut stdin = io::stdin().lock();
    if stdin.is_terminal() {
        return Err(fail(
            "expects Keyward's options JSON on stdin; pipe the options response in",
        ));
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| fail(format!("cannot read stdin: {e}")))?;
    if text.trim().is_empty() {
        return Err(fail("stdin is empty; expected Keyward's options JSON"));
    }
    let options: Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("stdin is not JSON: {e}")))?;
    let ceremony = options.get("ceremony").and_then(Value::as_str);
    let public_key = options.get("publicKey").filter(|pk| pk.is_object());
    match (ceremony, public_key) {
        (Some(ceremony), Some(_)) => Ok((ceremony.to_owned(), options)),
        _ => Err(fail(format!(
            "stdin is not a Keyward options response \
             ({{\"ceremony\":\"<id>\",\"publicKey\":{{...}}}}): {}",
            excerpt(&text)
        ))),
    }
}

/// The start of `text` on one line, for error messages (e.g. an error response).
fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// The key in `path`, or `None` if the file does not exist.
fn load(path: &Path) -> Result<Option<SoftKey>, Failure> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(format!("{}: cannot read: {e}", path.display()))),
    };
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "{}: not a key file (invalid JSON: {e})",
            path.display()
        ))
    })?;
    SoftKey::from_json(&json)
        .map(Some)
        .map_err(|e| fail(format!("{}: not a key file ({e})", path.display())))
}

/// Write the key to `path` atomically (`path.tmp`, then rename), mode 0600 on unix.
fn save(path: &Path, key: &SoftKey) -> Result<(), Failure> {
    let json = key
        .to_json()
        .map_err(|e| fail(format!("cannot save the key: {e}")))?;
    let text = format!("{json:#}\n");
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);

    // A leftover from an interrupted run: replace it (create_new below never follows it).
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(format!("{}: cannot remove: {e}", tmp.display()))),
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: do not leave a copy of the private keys behind.
        let _ = fs::remove_file(&tmp);
        return Err(fail(format!("{}: cannot write: {e}", path.display())));
    }
    Ok(())
}

/// Print `text` and a newline to stdout.
fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| fail(format!("cannot write to stdout: {e}")))
}
