use super::*;

#[test]
fn summaries_say_what_a_step_up_is_about() {
    let w = r#"{"action":"withdrawal","details":{"amount":"0.5","asset":"BTC","destination":"bc1qabc","network":"bitcoin","client_reference":"r"}}"#;
    assert_eq!(summary(w).as_deref(), Some("0.5 BTC to bc1qabc"));
    let a = r#"{"action":"address.add","details":{"address":"rAbc","network":"xrp","memo":"42"}}"#;
    assert_eq!(summary(a).as_deref(), Some("rAbc (xrp) (memo 42)"));
    let k = r#"{"action":"api_key.create","details":{"label":"bot","scopes":[]}}"#;
    assert_eq!(summary(k).as_deref(), Some("\"bot\""));
    assert_eq!(summary("not json"), None);
    assert_eq!(summary(r#"{"action":"withdrawal","details":{}}"#), None);
}

fn assets() -> BTreeMap<String, AssetConfig> {
    crate::amount::default_assets()
}

fn btc(amount: &str) -> Value {
    json!({ "asset": "BTC", "network": "bitcoin", "amount": amount,
            "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "client_reference": "w-1" })
}

#[test]
fn canonical_form_is_stable_and_sorted() {
    let c = canonicalise("withdrawal", &btc("1.50"), &assets()).unwrap();
    assert_eq!(
        c.json,
        r#"{"action":"withdrawal","details":{"amount":"1.5","asset":"BTC","client_reference":"w-1","destination":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","network":"bitcoin"}}"#
    );
    let same = canonicalise("withdrawal", &btc("1.5"), &assets()).unwrap();
    assert_eq!(c.digest, same.digest, "equal amounts, equal digest");
    let other = canonicalise("withdrawal", &btc("1.51"), &assets()).unwrap();
    assert_ne!(c.digest, other.digest);
}

#[test]
fn bad_withdrawals_name_the_field() {
    let cases = [
        (json!({ "amount": "1e3" }), "details.amount"),
        (json!({ "amount": "-1" }), "details.amount"),
        (json!({ "amount": "0.000000001" }), "details.amount"),
        (json!({ "asset": "DOGE" }), "details.asset"),
        (json!({ "destination": "short" }), "details.destination"),
        (
            json!({ "destination": "bc1q xy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh" }),
            "details.destination",
        ),
        (json!({ "colour": "red" }), "details"),
        (json!({ "amount": 1.5 }), "details.amount"),
    ];
    for (patch, expected) in cases {
        let mut raw = btc("1");
        for (k, v) in patch.as_object().unwrap() {
            raw[k] = v.clone();
        }
        match canonicalise("withdrawal", &raw, &assets()) {
            Err(ValidationError { field, .. }) => {
                assert!(field.starts_with(expected), "{patch}: {field}")
            }
            other => panic!("{patch}: {other:?}"),
        }
    }
}

#[test]
fn api_key_details_are_normalised() {
    let raw = json!({ "label": "bot", "scopes": ["withdraw", "read", "read"], "ip_allowlist": ["10.0.0.7/8", "2001:db8::1"] });
    let c = canonicalise("api_key.create", &raw, &assets()).unwrap();
    let Details::ApiKeyCreate(k) = &c.details else {
        panic!()
    };
    assert_eq!(k.scopes, ["read", "withdraw"]);
    assert_eq!(k.ip_allowlist, ["10.0.0.0/8", "2001:db8::1"]);
    let no_ips = json!({ "label": "bot", "scopes": ["withdraw"] });
    assert!(canonicalise("api_key.create", &no_ips, &assets()).is_err());
}

#[test]
fn a_verifier_without_the_asset_table_gets_the_same_digest() {
    for amount in ["1.50", "0.00000001", "21000000", "3"] {
        let c = canonicalise("withdrawal", &btc(amount), &assets()).unwrap();
        assert_eq!(digest_of("withdrawal", &btc(amount)).unwrap(), c.digest);
    }
    let key = json!({ "label": "bot", "scopes": ["read"] });
    let c = canonicalise("api_key.create", &key, &assets()).unwrap();
    assert_eq!(digest_of("api_key.create", &key).unwrap(), c.digest);
    assert!(digest_of("withdrawal", &btc("1e3")).is_err());
}

#[test]
fn unknown_action_is_refused() {
    assert!(matches!(
        canonicalise("transfer", &json!({}), &assets()),
        Err(ValidationError { .. })
    ));
}
