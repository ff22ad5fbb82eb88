//! Where a callback may go: the address checks that keep callbacks away
//! from the operator's own network.
//!
//! A callback URL is chosen by a client, so without a check a client could
//! make Confab post into the network it runs in (a metadata service, an
//! admin port on loopback). The check is made on the resolved address, not
//! on the name, and the connection is then pinned to the address that was
//! checked: resolving again at connect time would let a name that changes
//! its answer (DNS rebinding) slip past.
//!
//! Hosts the operator allows (`--allow-http-callback-host`) may also resolve
//! to private addresses: that list exists for a developer's receiver on
//! loopback or in a private network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::AttemptError;

/// Why an address is not one callbacks may reach, or `None` if it is.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// The IPv4 ranges that are not the public internet.
fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [first, second, ..] = ip.octets();
    let reason = match () {
        () if ip.is_unspecified() || first == 0 => "unspecified",
        () if ip.is_loopback() => "loopback",
        () if ip.is_private() => "private",
        () if ip.is_link_local() => "link-local",
        // 100.64.0.0/10, carrier-grade NAT: a provider's internal network.
        () if first == 100 && (64..128).contains(&second) => "shared (CGNAT)",
        () if ip.is_multicast() => "multicast",
        () if ip.is_broadcast() || first >= 240 => "reserved",
        () => return None,
    };
    Some(reason)
}

/// The IPv6 ranges that are not the public internet, including IPv4
/// addresses written in IPv6 form.
fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    // 64:ff9b::/96, the well-known NAT64 prefix: a NAT64 gateway (DNS64
    // networks, a cloud's NAT gateway) connects to the IPv4 address in the
    // last 32 bits, private ones included.
    if let [0x64, 0xff9b, 0, 0, 0, 0, high, low] = ip.segments() {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    let first = ip.segments()[0];
    let reason = match () {
        () if ip.is_unspecified() => "unspecified",
        () if ip.is_loopback() => "loopback",
        () if ip.is_multicast() => "multicast",
        // fe80::/10 link-local, fec0::/10 the retired site-local.
        () if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 => "link-local",
        // fc00::/7, unique local addresses: IPv6's private networks.
        () if (first & 0xfe00) == 0xfc00 => "unique local",
        () => return None,
    };
    Some(reason)
}

/// Resolves `host` and picks the address to connect to: the first one that
/// is allowed, or the first one at all for a host the operator allowed.
///
/// # Errors
///
/// A permanent error when the name does not resolve to any address a
/// callback may reach; a transient one when resolving failed.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    host_allowed: bool,
) -> Result<SocketAddr, AttemptError> {
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host, port))
        .await
        .map_err(|error| AttemptError::Transient(format!("resolve {host}: {error}")))?
        .collect();
    if host_allowed && let Some(first) = addresses.first() {
        return Ok(*first);
    }
    if let Some(allowed) = addresses
        .iter()
        .find(|address| forbidden_reason(address.ip()).is_none())
    {
        return Ok(*allowed);
    }
    match addresses.first() {
        Some(address) => {
            let ip = address.ip();
            let reason = forbidden_reason(ip).unwrap_or("forbidden");
            Err(AttemptError::Permanent(format!(
                "refused: {host} resolves to {ip}, a {reason} address; allow the host with \
                 --allow-http-callback-host to send there"
            )))
        }
        None => Err(AttemptError::Transient(format!(
            "resolve {host}: no addresses"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        forbidden_reason(text.parse().unwrap())
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        for address in [
            "0.0.0.0",
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
        ] {
            assert!(reason(address).is_some(), "{address}");
        }
    }

    #[test]
    fn public_ipv4_addresses_pass() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
        ] {
            assert_eq!(reason(address), None, "{address}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_are_refused() {
        for address in [
            "::",
            "::1",
            "fe80::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::10.0.0.5",
            "64:ff9b::169.254.169.254",
            "64:ff9b::7f00:1",
        ] {
            assert!(reason(address).is_some(), "{address}");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for address in [
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert_eq!(reason(address), None, "{address}");
        }
    }

    #[tokio::test]
    async fn loopback_names_are_refused_unless_allowed() {
        let refused = resolve_checked("localhost", 443, false).await;
        assert!(
            matches!(refused, Err(AttemptError::Permanent(_))),
            "{refused:?}"
        );
        let allowed = resolve_checked("127.0.0.1", 443, true).await.unwrap();
        assert!(allowed.ip().is_loopback());
    }
}
