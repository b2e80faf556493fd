//! The `keyward` command line, run as a process against a real database.
