//! Configuration tests: validation, and settings read from the environment.

use super::*;

/// Fuzz finding (config): huge lifetimes were accepted and then
/// overflowed where the server adds them to "now" in milliseconds.
#[test]
fn lifetimes_that_would_overflow_are_refused() {
    for toml in [
        "[session]\nidle_minutes = 307445734561825861",
        "[session]\nabsolute_hours = 9223372036854775807",
        "reauth_window_seconds = 9223372036854775807",
        "[withdrawals]\nstep_up_ttl_seconds = 9223372036854775807",
        "[withdrawals]\nhold_hours = 9223372036854775807",
        "[withdrawals]\naddress_cooling_hours = 9223372036854775807",
    ] {
        let err = Config::from_toml_str(toml).unwrap_err().to_string();
        assert!(err.contains("must be at most"), "{toml}: {err}");
    }
    let longest = "[session]\nidle_minutes = 1440\n[withdrawals]\naddress_cooling_hours = 87600";
    Config::from_toml_str(longest).unwrap();
}

/// Fuzz finding (config): a misspelt `[password]` key was silently
/// ignored (the default cost applied), unlike in every other section.
#[test]
fn unknown_password_keys_are_refused() {
    let err = Config::from_toml_str("[password]\nparallism = 4")
        .unwrap_err()
        .to_string();
    assert!(err.contains("parallism"), "{err}");
}

#[test]
fn defaults_are_valid_and_local() {
    let c = Config::default();
    c.validate().unwrap();
    assert_eq!(c.origin_header(), "http://localhost:8080");
    assert!(c.database_url().starts_with("sqlite://"));
    assert!(!c.is_https());
}

#[test]
fn origin_with_path_is_refused() {
    let c = Config {
        origin: Url::parse("http://localhost:8080/app").unwrap(),
        ..Config::default()
    };
    assert!(c.validate().unwrap_err().to_string().contains("no path"));
}

#[test]
fn unknown_database_scheme_is_refused() {
    let c = Config {
        database_url: Some("mysql://x".into()),
        ..Config::default()
    };
    assert!(c.validate().is_err());
}

#[test]
fn a_pool_of_no_connections_is_refused() {
    let c = Config {
        database_max_connections: 0,
        ..Config::default()
    };
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("database_max_connections"), "{err}");
}

/// Settings from the environment.
mod env {
    use super::*;

    /// `KEYWARD_LOG` and `KEYWARD_CONFIG` are read by the logger and the CLI,
    /// not settings: they must not make start-up fail.
    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn non_setting_variables_are_ignored_and_settings_are_read() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYWARD_LOG", "debug");
            jail.set_env("KEYWARD_CONFIG", "/nonexistent.toml");
            jail.set_env("KEYWARD_SESSION__IDLE_MINUTES", "30");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.session.idle, Duration::from_secs(30 * 60));
            Ok(())
        });
    }
}
