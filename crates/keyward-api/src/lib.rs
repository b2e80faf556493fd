//! Keyward's wire types, written once: the request and response bodies of
//! every API operation, the problem kinds of its errors, the step-up
//! statuses and policy reasons, and the claims of an approval token.
//!
//! The server serialises these types (and documents them in its OpenAPI
//! document with the `openapi` feature); `keyward-client` deserialises them.
//! Instants travel as RFC 3339 strings in UTC ([`Timestamp`]), so no
//! date-time library is imposed on a client.

/// `as_str` (the wire name), `Display`, and for an enum with a
/// forward-compatible unknown variant, `parse` (falling back to it) and
/// `all` (every value this version sends): the same for every string enum
/// of the wire.
macro_rules! wire_names {
    ($ty:ident) => {
        impl $ty {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    ($ty:ident, unknown = $unknown:ident) => {
        crate::wire_names!($ty);

        impl $ty {
            /// Parses a wire name; one this version does not know is
            #[doc = concat!("`", stringify!($unknown), "`.")]
            pub fn parse(s: &str) -> Self {
                s.parse().unwrap_or(Self::$unknown)
            }

            /// Every value this version sends.
            pub fn all() -> impl Iterator<Item = Self> {
                <Self as strum::IntoEnumIterator>::iter().filter(|v| *v != Self::$unknown)
            }
        }
    };
}
pub(crate) use wire_names;

/// A `ToSchema` for a string enum whose forward-compatible `Unknown`
/// variant is never sent: the schema lists the values this version sends.
#[cfg(feature = "openapi")]
macro_rules! string_enum_schema {
    ($ty:ty, $values:expr, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($values))
                    .description(Some($description))
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}
#[cfg(feature = "openapi")]
pub(crate) use string_enum_schema;

pub mod account;
pub mod api_keys;
pub mod approval;
pub mod events;
pub mod keys;
pub mod operations;
pub mod operators;
pub mod problem;
pub mod recovery;
pub mod risk;
#[cfg(feature = "openapi")]
pub mod schemas;
pub mod security_lock;
pub mod step_ups;
pub mod withdrawals;

pub use approval::ApprovalClaims;
pub use problem::{PROBLEM_BASE, PROBLEM_JSON, Problem, ProblemKind};
pub use step_ups::{PolicyReason, StepUpStatus};

/// An RFC 3339 instant in UTC, e.g. `2025-01-01T12:00:00Z`.
pub type Timestamp = String;
