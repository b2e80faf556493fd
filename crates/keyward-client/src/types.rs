//! The wire types the client sends and receives, from `keyward-api` (the
//! same definitions the server serialises).

pub use keyward_api::api_keys::{ApiKeyRefusal, VerifiedKey, VerifyApiKey};
pub use keyward_api::step_ups::{CreateStepUp, Redeemed, StepUp};
pub use keyward_api::{PolicyReason, StepUpStatus};
