//! Who the client is: its address behind trusted proxies, the networks those proxies live
//! in, and the key its requests are counted under.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::forwarded;

/// Forwarding hops looked at, at most, before the walk gives up.
const MAX_HOPS: usize = 32;

/// A client's rate-limit identity: an IPv4 address, or the /64 prefix of an IPv6 address
/// (IPv4-mapped IPv6 addresses count as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    /// An IPv4 address.
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl ClientKey {
    /// Returns the key of an address: itself for IPv4, its /64 for IPv6.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let octets = v6.octets();
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&octets[..8]);
                Self::V6(prefix)
            }
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::V4(octets) => write!(f, "{}", Ipv4Addr::from(octets)),
            Self::V6(prefix) => {
                let mut octets = [0; 16];
                octets[..8].copy_from_slice(&prefix);
                write!(f, "{}/64", Ipv6Addr::from(octets))
            }
        }
    }
}

/// An IP network in CIDR notation, e.g. `10.0.0.0/8` or `2001:db8::/32` (a bare address is
/// /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A trusted-proxy network that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("{0:?} is not an IP network: write an address with an optional prefix length, like 10.0.0.0/8")]
    Address(String),
    /// The prefix length is not a decimal number from 0 to 32 (IPv4) or 128 (IPv6).
    #[error("{text:?} has a bad prefix length: write /0 to /{max}")]
    Prefix {
        /// The text as given.
        text: String,
        /// The longest prefix for that address family.
        max: u8,
    },
    /// Bits after the prefix are set, which usually means a typo.
    #[error("{text:?} has bits set after the prefix: write {network}")]
    HostBits {
        /// The text as given.
        text: String,
        /// The network it most likely means.
        network: String,
    },
}

impl Cidr {
    /// Returns whether `ip` is in this network; an IPv4-mapped IPv6 address and its IPv4
    /// address match the same networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                (u32::from(network) ^ u32::from(ip)) & mask_v4(self.prefix) == 0
            }
            (IpAddr::V6(network), IpAddr::V4(ip)) => v6_contains(network, self.prefix, ip.to_ipv6_mapped()),
            (IpAddr::V6(network), IpAddr::V6(ip)) => v6_contains(network, self.prefix, ip),
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `address[/prefix]`, refusing a prefix with bits set after it.
    fn from_str(text: &str) -> Result<Self, CidrError> {
        let trimmed = text.trim();
        let (address, prefix) = match trimmed.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (trimmed, None),
        };
        let network: IpAddr = address.parse().map_err(|_| CidrError::Address(text.to_owned()))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(digits) => digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<u8>().ok())
                .flatten()
                .filter(|&prefix| prefix <= max)
                .ok_or_else(|| CidrError::Prefix {
                    text: text.to_owned(),
                    max,
                })?,
        };
        let masked = match network {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix))),
        };
        if masked != network {
            return Err(CidrError::HostBits {
                text: text.to_owned(),
                network: Cidr {
                    network: masked,
                    prefix,
                }
                .to_string(),
            });
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Resolves the client's address from the peer and its forwarding headers.
///
/// The result is the peer, unless the peer is in `trusted`. Then the hops of the forwarding
/// header are walked right to left (the right-most is what the peer itself appended), past
/// every address in `trusted`, to the first address that is not: that is the client. Entries
/// left of it are never read, so nothing a client writes there (spoofed addresses, garbage,
/// unbalanced quotes) changes the result. The walk stops early, and the result is the last
/// trusted address it reached (the peer, if it stops at the right-most hop), at:
///
/// - an entry that is not an address: malformed, `unknown`, an obfuscated `_identifier`, or
///   a `Forwarded` element without `for=`; the proxy that wrote it is the best identity known;
/// - the left end of the chain, when every hop is trusted: the left-most hop sent the request;
/// - the 32nd hop, when that many are all trusted.
///
/// `forwarded_for` holds every `X-Forwarded-For` field value in order and `forwarded` every
/// `Forwarded` value (RFC 7239, its `for=` parameters); several fields count as one list. Hops
/// may carry a port (`192.0.2.1:4711`, `"[2001:db8::1]:4711"`); IPv6 may also be bare.
///
/// When both headers are present, each is walked, and their result is used if they agree;
/// if they disagree the result is the peer. A client can send either header, and a proxy
/// usually appends to only one, so preferring either would let a client pick its own address
/// behind a proxy that writes the other. Pass an empty slice for a header the proxies do not
/// write. The result is canonical: an IPv4-mapped IPv6 address comes back as IPv4.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&[u8]], forwarded: &[&[u8]], trusted: &[Cidr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let by_xff =
        (!forwarded_for.is_empty()).then(|| walk(peer, forwarded::x_forwarded_for(forwarded_for), trusted));
    let by_forwarded = (!forwarded.is_empty()).then(|| walk(peer, forwarded::forwarded(forwarded), trusted));
    match (by_xff, by_forwarded) {
        (Some(a), Some(b)) if a == b => a,
        (Some(_), Some(_)) | (None, None) => peer,
        (Some(ip), None) | (None, Some(ip)) => ip,
    }
}

/// Returns the `Host` names a request from `peer` must be allowed by, when `peer` is a trusted
/// proxy that says which `Host` it received; empty otherwise, and the request's own `Host`
/// decides.
///
/// Only the nearest proxy's word is taken: the right-most `X-Forwarded-Host` entry and the
/// `host=` of the right-most `Forwarded` element, both when both are sent. A proxy behind
/// another one reports the `Host` the outer one used, which `ALLOWED_HOSTS` must then list.
/// A value that is not a well-formed name comes back as the empty name, which no list
/// allows.
pub fn forwarded_hosts(
    peer: IpAddr,
    x_forwarded_host: &[&[u8]],
    forwarded: &[&[u8]],
    trusted: &[Cidr],
) -> Vec<String> {
    if !is_trusted(peer.to_canonical(), trusted) {
        return Vec::new();
    }
    let name = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .ok()
            .filter(|host| !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()))
            .map_or_else(String::new, str::to_owned)
    };
    let by_xfh = forwarded::x_forwarded_host(x_forwarded_host).map(name);
    let by_forwarded =
        forwarded::forwarded_host(forwarded).map(|host| host.as_deref().map_or_else(String::new, name));
    by_xfh.into_iter().chain(by_forwarded).collect()
}

/// Walks hops from the right, starting from a trusted peer (see [`client_ip`]).
fn walk(peer: IpAddr, hops: impl Iterator<Item = Option<IpAddr>>, trusted: &[Cidr]) -> IpAddr {
    let mut last = peer;
    for hop in hops.take(MAX_HOPS) {
        let Some(ip) = hop else {
            return last;
        };
        let ip = ip.to_canonical();
        if !is_trusted(ip, trusted) {
            return ip;
        }
        last = ip;
    }
    last
}

fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|network| network.contains(ip))
}

fn v6_contains(network: Ipv6Addr, prefix: u8, ip: Ipv6Addr) -> bool {
    (u128::from(network) ^ u128::from(ip)) & mask_v6(prefix) == 0
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}
