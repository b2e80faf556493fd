//! Keyward's access primitives: password hashing, secret handling, secret
//! tokens, approval-token (JWT) signing and the database-backed session store.
//! It knows nothing of HTTP routes.

pub mod approval;
pub mod password;
pub mod secret;
pub mod session;
pub mod token;

pub use approval::{ApprovalClaims, ApprovalError, SigningKey, jwks, sign, verify};
pub use password::{HashMemory, PasswordError, PasswordHasher, PasswordParams};
pub use secret::constant_time_eq;
pub use session::{AnySessionStore, SessionSettings};
pub use token::{NewToken, TokenError, TokenHash, TokenKind};
