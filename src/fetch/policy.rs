//! Which addresses a fetch may reach. A configured URL whose host is an IP
//! literal or `localhost` is fetched as written (with redirects on its own
//! origin); every other address, whether a configured domain name's, one
//! reached through a redirect or through a followed link, must be public
//! (not loopback, private, link-local, metadata, shared or reserved) unless
//! the source says `allow_private = true`. Only `http` and `https` are
//! fetched at all.
//!
//! The check runs before any connection: IP literals are checked on the
//! URL, host names by [`PublicResolver`], which drops non-public addresses
//! at resolution time (so DNS rebinding cannot slip one in between).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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

/// Whether `ip` is a globally reachable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254 (metadata)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: may reach private IPv4
                || (s[0] == 0x2002)) // 6to4: may embed private IPv4
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254/16, incl. 169.254.169.254 (metadata)
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
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

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "127.0.0.2",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(
                !is_public(private.parse().unwrap()),
                "{private} must not be public"
            );
        }
        for public in ["20.190.128.1", "8.8.8.8", "2603:1030::1"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
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
