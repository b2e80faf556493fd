//! testdata/README.md: what the files hold, how to regenerate them, and
//! every verdict string, read from the Rust error types themselves.

use keyward_client::TokenError;
use keyward_proof::approval::{ApprovalError, MALFORMED_EVIDENCE};
use keyward_proof::chain::ChainError;

/// The evidence refusals `keyward_proof::evidence::verify_evidence` gives,
/// in the order it checks.
const EVIDENCE_REFUSALS: [&str; 7] = [
    "malformed_response",
    "bad_signature",
    "wrong_client_data_type",
    "challenge_mismatch",
    "origin_mismatch",
    "rp_id_mismatch",
    "user_not_present",
];

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cases_in(content: &str) -> usize {
    content.matches("\n      \"name\": ").count()
}

/// The README for `files` (name, content).
pub fn text(files: &[(&str, String)]) -> String {
    let chain = [
        ChainError::Length,
        ChainError::Malformed { seq: 0, why: "" },
        ChainError::BrokenLink { seq: 0 },
        ChainError::Unendorsed {
            seq: 0,
            why: String::new(),
        },
        ChainError::Diverged { seq: 0 },
        ChainError::WrongUser,
    ];
    let restarted = ChainError::Restarted {
        pinned: String::new(),
        genesis: String::new(),
        restarted_from: None,
        recovered: false,
    };
    let approval = [
        ApprovalError::DetailsDiffer,
        ApprovalError::Nonce,
        ApprovalError::Assertion("bad_signature"),
        ApprovalError::UserNotVerified,
        ApprovalError::Chain(restarted),
        ApprovalError::Chain(ChainError::Length),
        ApprovalError::KeyNotInChain,
    ];
    let mut approval_slugs: Vec<&str> = approval.iter().map(ApprovalError::slug).collect();
    approval_slugs.push(MALFORMED_EVIDENCE);
    let chain_slugs: Vec<&str> = chain.iter().map(ChainError::slug).collect();
    let token = [
        TokenError::Malformed,
        TokenError::Algorithm,
        TokenError::UnknownKey,
        TokenError::Jwks,
        TokenError::BadSignature,
        TokenError::WrongIssuer,
        TokenError::WrongAudience,
    ];
    let token_slugs: Vec<&str> = token.into_iter().map(TokenError::slug).collect();
    let counts: Vec<String> = files
        .iter()
        .filter(|(name, _)| *name != "problems.json")
        .map(|(name, content)| format!("- `{name}`: {} cases", cases_in(content)))
        .collect();
    format!(
        include_str!("README.template.md"),
        counts = counts.join("\n"),
        approval = list(&approval_slugs),
        evidence = list(&EVIDENCE_REFUSALS),
        chain = list(&chain_slugs),
        token = list(&token_slugs),
    )
}
