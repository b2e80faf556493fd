//! Keyward's access primitives: password hashing, secret handling and the
//! database-backed session store. It knows nothing of HTTP routes.

pub mod password;
pub mod secret;
pub mod session;

pub use password::{PasswordError, PasswordHasher, PasswordParams};
pub use secret::constant_time_eq;
pub use session::{AnySessionStore, SessionSettings};
