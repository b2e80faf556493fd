//! IP allow-list entries: an address or a network in CIDR notation.

use std::net::IpAddr;

/// One IP allow-list entry as a network: an address is its /32 (/128).
pub fn ip_network(s: &str) -> Option<ipnet::IpNet> {
    match s.parse::<IpAddr>() {
        Ok(addr) => Some(addr.into()),
        Err(_) => s.parse().ok(),
    }
}

/// Parses one IP allow-list entry (address or CIDR range) to canonical text.
pub fn ip_entry(s: &str) -> Option<String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    s.parse::<ipnet::IpNet>()
        .ok()
        .map(|n| n.trunc().to_string())
}
