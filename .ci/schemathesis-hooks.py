"""Extra schemathesis checks for .ci/schemathesis.sh: Keyward's security
headers on every response, and the session cookie's attributes.

The expected values are those of crates/keyward-server/src/security_headers.rs
and keyward-access's session layer (architecture.md §6, invariant 7).
KEYWARD_ST_HTTPS=1 says the server's origin is https (then HSTS and Secure
cookies are required too).
"""

import os

import schemathesis
from hypothesis import strategies as st

HTTPS = os.environ.get("KEYWARD_ST_HTTPS") == "1"

# The document describes a bitcoin address as a custom format (its checksum
# is beyond a pattern, see openapi/config_schemas.rs): real addresses of each
# kind, so generated allow-list entries can be valid ones.
schemathesis.openapi.format(
    "bitcoin-address",
    st.sampled_from(
        [
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ]
    ),
)
schemathesis.openapi.format(
    "bitcoin-testnet-address",
    st.sampled_from(["tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"]),
)
SESSION_COOKIE = "kw_session"


def _one(response, name):
    values = response.headers.get(name, [])
    return values[0] if len(values) == 1 else None


@schemathesis.check
def security_headers(ctx, response, case):
    """No sniffing, no referrer, no framing, no caching by default, a CSP
    that forbids framing on everything that is not an HTML page (the pages
    set their own, which must forbid framing too), HSTS over https."""
    problems = []
    if _one(response, "x-content-type-options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if _one(response, "referrer-policy") != "no-referrer":
        problems.append("Referrer-Policy is not no-referrer")
    if _one(response, "x-frame-options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if _one(response, "cache-control") is None:
        problems.append("no Cache-Control")
    csp = _one(response, "content-security-policy")
    if csp is None:
        problems.append("no Content-Security-Policy")
    elif "frame-ancestors 'none'" not in csp:
        problems.append(f"Content-Security-Policy lacks frame-ancestors 'none': {csp}")
    hsts = _one(response, "strict-transport-security")
    if HTTPS and (hsts is None or "max-age=" not in hsts):
        problems.append("no Strict-Transport-Security over https")
    if problems:
        raise AssertionError(
            f"{response.status_code} response lacks security headers: " + "; ".join(problems)
        )


@schemathesis.check
def session_cookie_attributes(ctx, response, case):
    """Any session cookie set is HttpOnly and SameSite=Strict (and Secure
    over https)."""
    for cookie in response.headers.get("set-cookie", []):
        name = cookie.split("=", 1)[0].strip()
        if name != SESSION_COOKIE:
            continue
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        missing = [a for a in ("httponly", "samesite=strict") if a not in attributes]
        if HTTPS and "secure" not in attributes:
            missing.append("secure")
        if missing:
            raise AssertionError(f"{SESSION_COOKIE} cookie lacks {', '.join(missing)}")
