//! Which addresses a fetch may reach. A configured URL whose host is an IP
//! literal or `localhost` is fetched as written (with redirects on its own
//! origin); every other address, whether a configured domain name's, one
//! reached through a redirect or through a followed link, must be public
//! (not loopback, private, link-local, metadata, shared or reserved, by
//! the IANA special-purpose registries, see [`is_public`]) unless the
//! source says `allow_private = true`. Only `http` and `https` are
//! fetched at all.
//!
//! The check runs before any connection: IP literals are checked on the
//! URL, host names by [`PublicResolver`], which drops non-public addresses
//! at resolution time (so DNS rebinding cannot slip one in between).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("scheme {0:?} is not fetched: only http and https")]
    Scheme(String),
    #[error("{0} is not a public address (allow it with `allow_private = true` on the source)")]
    PrivateAddress(IpAddr),
    #[error(
        "host {0} resolves only to non-public addresses (allow them with `allow_private = true` on the source)"
    )]
    PrivateHost(String),
    #[error("the URL has no host")]
    NoHost,
}

/// Whether `ip` is a globally reachable unicast address, by the IANA IPv4
/// and IPv6 special-purpose address registries. An IPv6 address that
/// carries an IPv4 address the connection ends up at (IPv4-mapped, NAT64
/// `64:ff9b::/96`, 6to4, Teredo) is judged by that IPv4 address (both of
/// Teredo's); every other IPv6 address outside global unicast `2000::/3`
/// (IPv4-compatible `::/96`, site-local `fec0::/10`, unique local,
/// link-local, multicast, the rest of the reserved space) is not public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// A block of addresses: the first address and the prefix length.
type Block<A> = (A, u8);

/// IPv4 blocks that are not globally reachable: the special-purpose
/// registry's entries marked so (or deprecated), and multicast.
const NOT_PUBLIC_V4: &[Block<Ipv4Addr>] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network"
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private use
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link local, incl. 169.254.169.254 (metadata)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private use
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private use
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, incl. 255.255.255.255 (broadcast)
];

/// Globally reachable entries inside the blocks above.
const PUBLIC_V4_WITHIN: &[Block<Ipv4Addr>] = &[
    (Ipv4Addr::new(192, 0, 0, 9), 32),  // port control protocol anycast
    (Ipv4Addr::new(192, 0, 0, 10), 32), // TURN anycast
];

/// Blocks of global unicast `2000::/3` that are not globally reachable.
const NOT_PUBLIC_V6: &[Block<Ipv6Addr>] = &[
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation
];

/// Globally reachable entries inside `2001::/23`.
const PUBLIC_V6_WITHIN: &[Block<Ipv6Addr>] = &[
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 1), 128), // port control protocol anycast
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 2), 128), // TURN anycast
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 3), 128), // DNS-SD service registration anycast
    (Ipv6Addr::new(0x2001, 3, 0, 0, 0, 0, 0, 0), 32),  // AMT
    (Ipv6Addr::new(0x2001, 4, 0x112, 0, 0, 0, 0, 0), 48), // AS112-v6
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28), // ORCHIDv2
    (Ipv6Addr::new(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28), // drone remote ID (DETs)
];

/// Global unicast: everything else of the IPv6 space is reserved or special.
const GLOBAL_UNICAST: Block<Ipv6Addr> = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
/// NAT64's well-known prefix: a translator forwards to the IPv4 address in
/// the last 32 bits. (Its local-use `64:ff9b:1::/48` is outside `2000::/3`.)
const NAT64: Block<Ipv6Addr> = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// 6to4: the IPv4 address of the site in bits 16-47.
const SIX_TO_FOUR: Block<Ipv6Addr> = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);
/// Teredo: the server's IPv4 address in bits 32-63, the client's
/// (inverted) in the last 32 bits.
const TEREDO: Block<Ipv6Addr> = (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32);

fn in_v4(ip: Ipv4Addr, (first, len): Block<Ipv4Addr>) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(first)
}

fn in_v6(ip: Ipv6Addr, (first, len): Block<Ipv6Addr>) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(first)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    PUBLIC_V4_WITHIN.iter().any(|b| in_v4(ip, *b)) || !NOT_PUBLIC_V4.iter().any(|b| in_v4(ip, *b))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    // The IPv4 address in bits `at`..`at + 32`, counted from the left.
    let embedded = |at: u32| Ipv4Addr::from((bits >> (96 - at)) as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if in_v6(ip, NAT64) {
        return is_public_v4(embedded(96));
    }
    if in_v6(ip, SIX_TO_FOUR) {
        return is_public_v4(embedded(16));
    }
    if in_v6(ip, TEREDO) {
        let client = Ipv4Addr::from(!u32::from(embedded(96)));
        return is_public_v4(embedded(32)) && is_public_v4(client);
    }
    in_v6(ip, GLOBAL_UNICAST)
        && (PUBLIC_V6_WITHIN.iter().any(|b| in_v6(ip, *b))
            || !NOT_PUBLIC_V6.iter().any(|b| in_v6(ip, *b)))
}

/// Checks what can be checked on the URL alone: the scheme, and an IP
/// literal host when `public_only`.
pub fn check_url(url: &Url, public_only: bool) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme(url.scheme().to_string()));
    }
    let ip = match url.host() {
        None => return Err(Refusal::NoHost),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
    };
    if public_only && !is_public(ip) {
        return Err(Refusal::PrivateAddress(ip));
    }
    Ok(())
}

/// Whether a configured URL names its address itself (an IP literal or
/// `localhost`), so the operator chose it; a domain name's address is
/// whatever its DNS says, and must pass the policy.
pub fn names_its_address(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => true,
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Resolves names as the system does (`getaddrinfo`).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(resolved.into_iter());
            Ok(addrs)
        })
    }
}

/// A DNS resolver that returns only the public addresses of another's answer.
pub struct PublicResolver(pub Arc<dyn Resolve>);

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let resolving = self.0.resolve(name);
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = resolving
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if resolved.is_empty() {
                return Err(Box::new(Refusal::PrivateHost(host))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(resolved.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the registry says of a block's addresses as a destination.
    #[derive(Debug, Clone, Copy)]
    enum Reach {
        Global,
        NotGlobal,
        /// "N/A" in the registry: judged by the IPv4 address it carries.
        ByEmbeddedV4,
    }
    use Reach::*;

    /// The IANA IPv4 Special-Purpose Address Registry (as of 2025), each
    /// entry's "Globally Reachable", plus multicast (RFC 5771).
    const IPV4_REGISTRY: &[(&str, &str, Reach)] = &[
        ("0.0.0.0/8", "this network", NotGlobal),
        ("0.0.0.0/32", "this host on this network", NotGlobal),
        ("10.0.0.0/8", "private-use", NotGlobal),
        ("100.64.0.0/10", "shared address space", NotGlobal),
        ("127.0.0.0/8", "loopback", NotGlobal),
        ("169.254.0.0/16", "link local", NotGlobal),
        ("172.16.0.0/12", "private-use", NotGlobal),
        ("192.0.0.0/24", "IETF protocol assignments", NotGlobal),
        ("192.0.0.0/29", "IPv4 service continuity prefix", NotGlobal),
        ("192.0.0.8/32", "IPv4 dummy address", NotGlobal),
        ("192.0.0.9/32", "port control protocol anycast", Global),
        ("192.0.0.10/32", "TURN anycast", Global),
        ("192.0.0.170/32", "NAT64/DNS64 discovery", NotGlobal),
        ("192.0.0.171/32", "NAT64/DNS64 discovery", NotGlobal),
        ("192.0.2.0/24", "documentation (TEST-NET-1)", NotGlobal),
        ("192.31.196.0/24", "AS112-v4", Global),
        ("192.52.193.0/24", "AMT", Global),
        (
            "192.88.99.0/24",
            "deprecated (6to4 relay anycast)",
            NotGlobal,
        ),
        ("192.168.0.0/16", "private-use", NotGlobal),
        ("192.175.48.0/24", "direct delegation AS112 service", Global),
        ("198.18.0.0/15", "benchmarking", NotGlobal),
        ("198.51.100.0/24", "documentation (TEST-NET-2)", NotGlobal),
        ("203.0.113.0/24", "documentation (TEST-NET-3)", NotGlobal),
        ("224.0.0.0/4", "multicast", NotGlobal),
        ("240.0.0.0/4", "reserved", NotGlobal),
        ("255.255.255.255/32", "limited broadcast", NotGlobal),
    ];

    /// The IANA IPv6 Special-Purpose Address Registry (as of 2025), plus
    /// the deprecated forms (IPv4-compatible, RFC 4291; site-local, RFC
    /// 3879) and multicast. IPv4-mapped is "not globally reachable" there;
    /// as a destination it is its IPv4 address, and judged so.
    const IPV6_REGISTRY: &[(&str, &str, Reach)] = &[
        ("::1/128", "loopback", NotGlobal),
        ("::/128", "unspecified", NotGlobal),
        ("::/96", "IPv4-compatible (deprecated)", NotGlobal),
        ("::ffff:0:0/96", "IPv4-mapped", ByEmbeddedV4),
        ("64:ff9b::/96", "IPv4-IPv6 translation", ByEmbeddedV4),
        (
            "64:ff9b:1::/48",
            "IPv4-IPv6 translation (local use)",
            NotGlobal,
        ),
        ("100::/64", "discard-only", NotGlobal),
        ("100:0:0:1::/64", "dummy IPv6 prefix", NotGlobal),
        ("2001::/23", "IETF protocol assignments", NotGlobal),
        ("2001::/32", "Teredo", ByEmbeddedV4),
        ("2001:1::1/128", "port control protocol anycast", Global),
        ("2001:1::2/128", "TURN anycast", Global),
        (
            "2001:1::3/128",
            "DNS-SD service registration protocol anycast",
            Global,
        ),
        ("2001:2::/48", "benchmarking", NotGlobal),
        ("2001:3::/32", "AMT", Global),
        ("2001:4:112::/48", "AS112-v6", Global),
        ("2001:10::/28", "deprecated (previously ORCHID)", NotGlobal),
        ("2001:20::/28", "ORCHIDv2", Global),
        (
            "2001:30::/28",
            "drone remote ID protocol entity tags",
            Global,
        ),
        ("2001:db8::/32", "documentation", NotGlobal),
        ("2002::/16", "6to4", ByEmbeddedV4),
        (
            "2620:4f:8000::/48",
            "direct delegation AS112 service",
            Global,
        ),
        ("3fff::/20", "documentation", NotGlobal),
        ("5f00::/16", "segment routing (SRv6) SIDs", NotGlobal),
        ("fc00::/7", "unique-local", NotGlobal),
        ("fe80::/10", "link-local unicast", NotGlobal),
        ("fec0::/10", "site-local (deprecated)", NotGlobal),
        ("ff00::/8", "multicast", NotGlobal),
    ];

    fn block(cidr: &str) -> (u128, u32, bool) {
        let (address, len) = cidr.split_once('/').unwrap();
        let len: u32 = len.parse().unwrap();
        match address.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), len, false),
            IpAddr::V6(v6) => (u128::from(v6), len, true),
        }
    }

    fn contains((first, len, v6): (u128, u32, bool), (ip, ip_v6): (u128, bool)) -> bool {
        let width = if v6 { 128 } else { 32 };
        v6 == ip_v6 && (len == 0 || (ip ^ first) >> (width - len) == 0)
    }

    fn address((bits, v6): (u128, bool)) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(bits))
        } else {
            IpAddr::V4(Ipv4Addr::from(bits as u32))
        }
    }

    /// Addresses of `cidr` (first, second, middle, last) that no longer
    /// entry of `registry` covers: what this entry alone decides.
    fn samples(cidr: &str, registry: &[(&str, &str, Reach)]) -> Vec<IpAddr> {
        let (first, len, v6) = block(cidr);
        let width = if v6 { 128 } else { 32 };
        let size_less_one = if len == 0 {
            u128::MAX
        } else {
            (1u128 << (width - len)).wrapping_sub(1)
        };
        let last = first | size_less_one;
        let mut picks = vec![
            first,
            first.saturating_add(1).min(last),
            first | (size_less_one >> 1),
            last,
        ];
        picks.dedup();
        picks
            .into_iter()
            .filter(|ip| {
                !registry.iter().any(|(other, ..)| {
                    let other = block(other);
                    other.1 > len && contains(other, (*ip, v6))
                })
            })
            .map(|ip| address((ip, v6)))
            .collect()
    }

    #[test]
    fn every_registry_entry_is_classified_as_the_registry_says() {
        for registry in [IPV4_REGISTRY, IPV6_REGISTRY] {
            for (cidr, name, reach) in registry {
                let expected = match reach {
                    Global => true,
                    NotGlobal => false,
                    ByEmbeddedV4 => continue,
                };
                let picks = samples(cidr, registry);
                assert!(!picks.is_empty(), "{cidr}: no address of its own");
                for ip in picks {
                    assert_eq!(is_public(ip), expected, "{ip} in {cidr} ({name})");
                }
            }
        }
    }

    #[test]
    fn ipv6_forms_carrying_an_ipv4_address_are_judged_by_it() {
        for (embedding, private, public) in [
            ("IPv4-mapped", "::ffff:127.0.0.1", "::ffff:20.190.128.1"),
            ("IPv4-mapped", "::ffff:169.254.169.254", "::ffff:8.8.8.8"),
            ("NAT64", "64:ff9b::10.0.0.1", "64:ff9b::20.190.128.1"),
            ("NAT64", "64:ff9b::7f00:1", "64:ff9b::808:808"),
            ("6to4", "2002:a00:1::1", "2002:14be:8001::1"),
            ("6to4", "2002:c0a8:101::", "2002:808:808:1:2:3:4:5"),
            // Teredo: server 65.54.227.120 (public) or 10.0.0.1, client
            // 20.190.128.1 (inverted: eb41:7ffe) or 127.0.0.1 (80ff:fffe).
            (
                "Teredo",
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                "2001:0:4136:e378:8000:63bf:eb41:7ffe",
            ),
            (
                "Teredo",
                "2001:0:a00:1:8000:63bf:eb41:7ffe",
                "2001:0:4136:e378::eb41:7ffe",
            ),
        ] {
            for (ip, expected) in [(private, false), (public, true)] {
                let parsed: IpAddr = ip.parse().unwrap();
                assert_eq!(is_public(parsed), expected, "{embedding} {ip}");
            }
        }
        // IPv4-compatible, the local-use NAT64 prefix and site-local are
        // never public, whatever they carry.
        for ip in [
            "::127.0.0.1",
            "::8.8.8.8",
            "::20.190.128.1",
            "64:ff9b:1::808:808",
            "fec0::1",
            "feff:ffff::1",
            "4000::1",
            "2001:db8::8.8.8.8",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must not be public");
        }
        for ip in [
            "20.190.128.1",
            "8.8.8.8",
            "2603:1030::1",
            "2a01:111:f400::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn checks_scheme_and_literals_before_connecting() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            check_url(&url("file:///etc/passwd"), false),
            Err(Refusal::Scheme("file".into()))
        );
        assert!(check_url(&url("http://127.0.0.1/"), false).is_ok());
        assert!(matches!(
            check_url(&url("http://127.0.0.2/"), true),
            Err(Refusal::PrivateAddress(_))
        ));
        assert!(matches!(
            check_url(&url("http://[::1]:8080/"), true),
            Err(Refusal::PrivateAddress(_))
        ));
        assert!(check_url(&url("https://learn.microsoft.com/"), true).is_ok());
        assert!(names_its_address(&url("http://10.0.0.1/")));
        assert!(names_its_address(&url("http://[::1]:8080/")));
        assert!(names_its_address(&url("http://localhost:8080/")));
        assert!(!names_its_address(&url("http://localhost.example/")));
        assert!(!names_its_address(&url("https://learn.microsoft.com/")));
        assert!(same_origin(&url("http://a:80/x"), &url("http://a/y")));
        assert!(!same_origin(&url("http://a/"), &url("https://a/")));
    }
}
