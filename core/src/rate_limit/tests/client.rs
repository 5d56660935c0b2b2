//! Client identity: keys, networks, and the walk through forwarding headers, with tables of
//! well-formed and malformed headers and properties that spoofed entries change nothing and
//! no input panics.

use std::net::IpAddr;

use proptest::prelude::*;

use crate::rate_limit::{Cidr, CidrError, ClientKey, client_ip, forwarded_hosts};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn trusted() -> Vec<Cidr> {
    ["10.0.0.0/8", "2001:db8:ffff::/48"]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect()
}

/// The result for a trusted peer, 10.0.0.1.
fn behind_proxy(xff: &[&str], forwarded: &[&str]) -> IpAddr {
    let xff: Vec<&[u8]> = xff.iter().map(|value| value.as_bytes()).collect();
    let forwarded: Vec<&[u8]> = forwarded.iter().map(|value| value.as_bytes()).collect();
    client_ip(ip("10.0.0.1"), &xff, &forwarded, &trusted())
}

#[test]
fn an_ipv6_client_is_its_64() {
    let a = ClientKey::from_ip(ip("2001:db8:1:2:aaaa::1"));
    let b = ClientKey::from_ip(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    let c = ClientKey::from_ip(ip("2001:db8:1:3::1"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    assert_eq!(ClientKey::from_ip(ip("::1")).to_string(), "::/64");
}

#[test]
fn an_ipv4_mapped_address_is_its_ipv4_key() {
    let v4 = ClientKey::from_ip(ip("203.0.113.7"));
    assert_eq!(ClientKey::from_ip(ip("::ffff:203.0.113.7")), v4);
    assert_eq!(v4, ClientKey::V4([203, 0, 113, 7]));
    assert_eq!(v4.to_string(), "203.0.113.7");
    assert_ne!(ClientKey::from_ip(ip("203.0.113.8")), v4);
    // IPv4-compatible (deprecated) addresses are IPv6.
    assert!(matches!(
        ClientKey::from_ip(ip("::203.0.113.7")),
        ClientKey::V6(_)
    ));
}

#[test]
fn networks_parse() {
    for (text, shown) in [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("192.0.2.1", "192.0.2.1/32"),
        ("::1", "::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
        (" 172.16.0.0/12 ", "172.16.0.0/12"),
        ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"),
    ] {
        let cidr: Cidr = text.parse().unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(cidr.to_string(), shown);
    }
}

#[test]
fn bad_networks_are_refused_with_their_text() {
    let table: [(&str, CidrError); 9] = [
        ("", CidrError::Address(String::new())),
        ("x", CidrError::Address("x".into())),
        ("/8", CidrError::Address("/8".into())),
        ("10.0.0/8", CidrError::Address("10.0.0/8".into())),
        (
            "10.0.0.0/33",
            CidrError::Prefix {
                text: "10.0.0.0/33".into(),
                max: 32,
            },
        ),
        (
            "10.0.0.0/",
            CidrError::Prefix {
                text: "10.0.0.0/".into(),
                max: 32,
            },
        ),
        (
            "10.0.0.0/+8",
            CidrError::Prefix {
                text: "10.0.0.0/+8".into(),
                max: 32,
            },
        ),
        (
            "::/129",
            CidrError::Prefix {
                text: "::/129".into(),
                max: 128,
            },
        ),
        (
            "10.1.2.3/8",
            CidrError::HostBits {
                text: "10.1.2.3/8".into(),
                network: "10.0.0.0/8".into(),
            },
        ),
    ];
    for (text, expected) in table {
        let err = text.parse::<Cidr>().unwrap_err();
        assert_eq!(err, expected);
        assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
    }
    assert_eq!(
        "10.1.2.3/8".parse::<Cidr>().unwrap_err().to_string(),
        "\"10.1.2.3/8\" has bits set after the prefix: write 10.0.0.0/8"
    );
}

#[test]
fn networks_contain_their_addresses() {
    let cidr = |text: &str| text.parse::<Cidr>().unwrap();
    let table = [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("10.0.0.0/8", "::ffff:10.1.2.3", true),
        ("10.0.0.0/8", "::a01:203", false),
        ("192.0.2.1", "192.0.2.1", true),
        ("192.0.2.1", "192.0.2.2", false),
        ("0.0.0.0/0", "203.0.113.7", true),
        ("0.0.0.0/0", "2001:db8::1", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("2001:db8::/32", "10.0.0.1", false),
        ("::ffff:0.0.0.0/96", "203.0.113.7", true),
        ("::ffff:10.0.0.0/104", "10.9.9.9", true),
        ("::ffff:10.0.0.0/104", "11.9.9.9", false),
        ("::1", "::1", true),
        ("::/0", "2001:db8::1", true),
    ];
    for (network, address, inside) in table {
        assert_eq!(
            cidr(network).contains(ip(address)),
            inside,
            "{address} in {network}"
        );
    }
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_its_headers_say() {
    let xff: &[&[u8]] = &[b"198.51.100.1, 10.0.0.2"];
    let forwarded: &[&[u8]] = &[b"for=198.51.100.1"];
    for peer in ["203.0.113.7", "2001:db8::7"] {
        assert_eq!(client_ip(ip(peer), xff, forwarded, &trusted()), ip(peer));
        assert_eq!(client_ip(ip(peer), xff, &[], &trusted()), ip(peer));
    }
    assert_eq!(
        client_ip(ip("::ffff:203.0.113.7"), xff, &[], &trusted()),
        ip("203.0.113.7")
    );
    // With no trusted proxy at all, every peer is the client.
    assert_eq!(client_ip(ip("10.0.0.1"), xff, forwarded, &[]), ip("10.0.0.1"));
}

#[test]
fn x_forwarded_for_is_walked_from_the_right() {
    let table: &[(&[&str], &str)] = &[
        (&[], "10.0.0.1"),
        (&["203.0.113.7"], "203.0.113.7"),
        // The proxy appended the real address after the client's spoofed one.
        (&["198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        (&["198.51.100.1", "203.0.113.7"], "203.0.113.7"),
        // Several trusted proxies.
        (&["198.51.100.1, 203.0.113.7, 10.0.0.3, 10.0.0.2"], "203.0.113.7"),
        (
            &["198.51.100.1, 203.0.113.7", "10.0.0.3", "10.0.0.2"],
            "203.0.113.7",
        ),
        (&["203.0.113.7, 2001:db8:ffff::2"], "203.0.113.7"),
        // Ports and brackets.
        (&["203.0.113.7:5678"], "203.0.113.7"),
        (&["[2001:db8::7]:4711"], "2001:db8::7"),
        (&["[2001:db8::7]"], "2001:db8::7"),
        (&["2001:db8::7"], "2001:db8::7"),
        (&["203.0.113.7:_abc"], "203.0.113.7"),
        // Mapped addresses come back as IPv4, and are trusted like IPv4.
        (&["::ffff:203.0.113.7"], "203.0.113.7"),
        (&["203.0.113.7, ::ffff:10.0.0.2"], "203.0.113.7"),
        // Every hop trusted: the left-most sent the request.
        (&["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
        // Empty list elements are skipped.
        (&[" , 203.0.113.7 ,, ", ""], "203.0.113.7"),
        (&["\t203.0.113.7\t"], "203.0.113.7"),
    ];
    for (xff, expected) in table {
        assert_eq!(behind_proxy(xff, &[]), ip(expected), "X-Forwarded-For: {xff:?}");
    }
}

#[test]
fn a_malformed_x_forwarded_for_stops_at_the_last_trusted_hop() {
    let table: &[(&[&str], &str)] = &[
        (&["garbage"], "10.0.0.1"),
        (&[""], "10.0.0.1"),
        (&[" , ,"], "10.0.0.1"),
        (&["unknown"], "10.0.0.1"),
        (&["_hidden"], "10.0.0.1"),
        (&["203.0.113.7, garbage"], "10.0.0.1"),
        (&["203.0.113.7 198.51.100.1"], "10.0.0.1"),
        (&["203.0.113.7:99999"], "10.0.0.1"),
        (&["203.0.113.7:"], "10.0.0.1"),
        (&["203.0.113.7:123456"], "10.0.0.1"),
        (&["203.0.113.7:1:2"], "10.0.0.1"),
        (&["203.0.113.07"], "10.0.0.1"),
        (&["203.0.113"], "10.0.0.1"),
        (&["\"203.0.113.7\""], "10.0.0.1"),
        (&["fe80::1%eth0"], "10.0.0.1"),
        (&["[2001:db8::7"], "10.0.0.1"),
        (&["[2001:db8::7]x"], "10.0.0.1"),
        (&["[203.0.113.7]"], "10.0.0.1"),
        (&["203.0.113.7;for=1.2.3.4"], "10.0.0.1"),
        // Garbage behind a trusted hop: that hop is the best identity known.
        (&["203.0.113.7, garbage, 10.0.0.2"], "10.0.0.2"),
        // Garbage a client wrote left of the real address is never read.
        (&["garbage, 203.0.113.7"], "203.0.113.7"),
    ];
    for (xff, expected) in table {
        assert_eq!(behind_proxy(xff, &[]), ip(expected), "X-Forwarded-For: {xff:?}");
    }
    let non_utf8: &[&[u8]] = &[b"203.0.113.\xff"];
    assert_eq!(
        client_ip(ip("10.0.0.1"), non_utf8, &[], &trusted()),
        ip("10.0.0.1")
    );
}

#[test]
fn at_most_32_hops_are_walked() {
    let hops: Vec<String> = (1..=40).map(|i| format!("10.0.0.{i}")).collect();
    let chain = hops.join(", ");
    // From 10.0.0.40 leftwards, the 32nd hop is 10.0.0.9.
    assert_eq!(behind_proxy(&[&chain], &[]), ip("10.0.0.9"));
    let with_client = format!("203.0.113.7, {chain}");
    assert_eq!(behind_proxy(&[&with_client], &[]), ip("10.0.0.9"));
    let lines: Vec<&str> = hops.iter().map(String::as_str).collect();
    assert_eq!(behind_proxy(&lines, &[]), ip("10.0.0.9"));
    // 31 trusted hops and the client: found.
    let short = format!("203.0.113.7, {}", hops[..31].join(", "));
    assert_eq!(behind_proxy(&[&short], &[]), ip("203.0.113.7"));
    // A long list is fine when the client is near the right.
    let long = format!("{}, 203.0.113.7", vec!["198.51.100.1"; 1000].join(", "));
    assert_eq!(behind_proxy(&[&long], &[]), ip("203.0.113.7"));
}

#[test]
fn forwarded_is_walked_from_the_right() {
    let table: &[(&[&str], &str)] = &[
        (&["for=203.0.113.7"], "203.0.113.7"),
        (&["for=203.0.113.7;proto=http;by=10.0.0.1"], "203.0.113.7"),
        (&["proto=http;For=203.0.113.7"], "203.0.113.7"),
        (&["FOR=203.0.113.7"], "203.0.113.7"),
        (&["for=\"[2001:db8:cafe::17]:4711\""], "2001:db8:cafe::17"),
        (&["for=\"[2001:db8:cafe::17]\""], "2001:db8:cafe::17"),
        (&["for=\"203.0.113.7:4711\""], "203.0.113.7"),
        (&["for=\"203.0.113.7:_port\""], "203.0.113.7"),
        (&["for=\"2001:db8:cafe::17\""], "2001:db8:cafe::17"),
        (&["for=\"\\2\\03.0.113.7\""], "203.0.113.7"),
        (&["for=198.51.100.1, for=203.0.113.7"], "203.0.113.7"),
        (&["for=198.51.100.1", "for=203.0.113.7"], "203.0.113.7"),
        (&["for=203.0.113.7, for=10.0.0.3;by=10.0.0.1"], "203.0.113.7"),
        (
            &["for=203.0.113.7", "for=\"[2001:db8:ffff::2]:80\""],
            "203.0.113.7",
        ),
        (&["for=10.0.0.3, for=10.0.0.2"], "10.0.0.3"),
        // A quoted comma or escaped quote in another parameter is not a boundary.
        (
            &["for=203.0.113.7;ext=\"a,b\\\"c, for=198.51.100.1\""],
            "203.0.113.7",
        ),
        (&["for=203.0.113.7;ext=\"a\\\\\", for=10.0.0.2"], "203.0.113.7"),
        // A client's unbalanced quote on the left is never reached.
        (&["for=\"198.51.100.1, for=203.0.113.7"], "203.0.113.7"),
        (&["for=\"x\\\", for=203.0.113.7"], "203.0.113.7"),
        (&["for=203.0.113.7 ; proto=https , "], "203.0.113.7"),
    ];
    for (forwarded, expected) in table {
        assert_eq!(
            behind_proxy(&[], forwarded),
            ip(expected),
            "Forwarded: {forwarded:?}"
        );
    }
}

#[test]
fn a_forwarded_element_without_an_address_stops_at_the_last_trusted_hop() {
    let table: &[(&[&str], &str)] = &[
        (&["for=unknown"], "10.0.0.1"),
        (&["for=\"unknown\""], "10.0.0.1"),
        (&["for=_hidden"], "10.0.0.1"),
        (&["for=\"_hidden:_port\""], "10.0.0.1"),
        (&["proto=https"], "10.0.0.1"),
        (&["for=203.0.113.7, for=unknown"], "10.0.0.1"),
        (&["for=203.0.113.7, for=_hidden, for=10.0.0.2"], "10.0.0.2"),
        (&["for=203.0.113.7, proto=http, for=10.0.0.2"], "10.0.0.2"),
        // Malformed.
        (&[""], "10.0.0.1"),
        (&["for="], "10.0.0.1"),
        (&["for"], "10.0.0.1"),
        (&["=203.0.113.7"], "10.0.0.1"),
        (&["f r=203.0.113.7"], "10.0.0.1"),
        (&["for=203.0.113.7;for=198.51.100.1"], "10.0.0.1"),
        (&["for=\"[2001:db8::1]"], "10.0.0.1"),
        (&["for=\"203.0.113.7\"x"], "10.0.0.1"),
        (&["for=\"203.0.\"113.7\""], "10.0.0.1"),
        (&["for=\"203.0.113.7\\\""], "10.0.0.1"),
        (&["for=203.0.113.7 5"], "10.0.0.1"),
        (&["for=203.0.113.7:99999"], "10.0.0.1"),
        (&["for=\"[203.0.113.7]\""], "10.0.0.1"),
        (&["for=garbage"], "10.0.0.1"),
    ];
    for (forwarded, expected) in table {
        assert_eq!(
            behind_proxy(&[], forwarded),
            ip(expected),
            "Forwarded: {forwarded:?}"
        );
    }
}

#[test]
fn both_headers_must_agree() {
    // A proxy that writes both.
    assert_eq!(
        behind_proxy(&["203.0.113.7"], &["for=203.0.113.7"]),
        ip("203.0.113.7")
    );
    // A proxy that appends to X-Forwarded-For, and a client that sent its own Forwarded.
    assert_eq!(
        behind_proxy(&["203.0.113.7"], &["for=198.51.100.1"]),
        ip("10.0.0.1")
    );
    // And the other way round.
    assert_eq!(
        behind_proxy(&["198.51.100.1"], &["for=203.0.113.7"]),
        ip("10.0.0.1")
    );
    assert_eq!(behind_proxy(&["garbage"], &["for=203.0.113.7"]), ip("10.0.0.1"));
    // Agreement is on the result, not on the spelling.
    assert_eq!(
        behind_proxy(&["198.51.100.1, 203.0.113.7:1234"], &["for=\"203.0.113.7:80\""]),
        ip("203.0.113.7")
    );
}

/// Any address that is not in the trusted networks.
fn untrusted_ip() -> impl Strategy<Value = IpAddr> {
    any::<IpAddr>().prop_filter("untrusted", |ip| !trusted().iter().any(|cidr| cidr.contains(*ip)))
}

/// How a proxy writes `ip` as one hop: in `X-Forwarded-For`, and in `Forwarded`.
fn hop(ip: IpAddr) -> (String, String) {
    match ip {
        IpAddr::V4(v4) => (v4.to_string(), format!("for={v4}")),
        IpAddr::V6(v6) => (format!("[{v6}]:4711"), format!("for=\"[{v6}]:4711\"")),
    }
}

proptest! {
    /// Whatever a client writes into either header, the result is the address the trusted
    /// proxies appended to its right: in the same field line, or in a later one.
    #[test]
    fn spoofed_entries_never_change_the_client(
        spoofed in prop::collection::vec(any::<u8>(), 0..64),
        client in untrusted_ip(),
        extra_proxy in any::<bool>(),
    ) {
        let (xff_hop, forwarded_hop) = hop(client);
        let proxies = if extra_proxy { ", 10.0.0.2" } else { "" };
        let forwarded_proxies = if extra_proxy { ", for=10.0.0.2" } else { "" };
        let expected = client.to_canonical();

        let mut same_line = spoofed.clone();
        same_line.extend_from_slice(format!(", {xff_hop}{proxies}").as_bytes());
        let tail = format!("{xff_hop}{proxies}");
        for xff in [vec![&same_line[..]], vec![&spoofed[..], tail.as_bytes()]] {
            prop_assert_eq!(client_ip(ip("10.0.0.1"), &xff, &[], &trusted()), expected);
        }

        let mut same_line = spoofed.clone();
        same_line.extend_from_slice(format!(", {forwarded_hop}{forwarded_proxies}").as_bytes());
        let tail = format!("{forwarded_hop}{forwarded_proxies}");
        for forwarded in [vec![&same_line[..]], vec![&spoofed[..], tail.as_bytes()]] {
            prop_assert_eq!(client_ip(ip("10.0.0.1"), &[], &forwarded, &trusted()), expected);
        }
    }

    /// No header bytes make `client_ip` panic, and the result is the peer, the client, or an
    /// address the headers name.
    #[test]
    fn no_header_panics(
        xff in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..4),
        forwarded in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..4),
        trusted_peer in any::<bool>(),
    ) {
        let peer = if trusted_peer { ip("10.0.0.1") } else { ip("203.0.113.7") };
        let xff: Vec<&[u8]> = xff.iter().map(Vec::as_slice).collect();
        let forwarded: Vec<&[u8]> = forwarded.iter().map(Vec::as_slice).collect();
        let result = client_ip(peer, &xff, &forwarded, &trusted());
        if !trusted_peer {
            prop_assert_eq!(result, peer);
        }
    }

    /// Likely-looking header text (digits, dots, colons, brackets, quotes, separators) never
    /// panics either.
    #[test]
    fn no_header_like_text_panics(
        xff in "[0-9a-f:.,\\[\\] _\"]{0,40}",
                forwarded in "(for|by|For|host)=?[0-9a-f:.,;\\[\\] _\"\\\\]{0,40}",
    ) {
        let _ = client_ip(ip("10.0.0.1"), &[xff.as_bytes()], &[forwarded.as_bytes()], &trusted());
        let _ = client_ip(ip("10.0.0.1"), &[], &[forwarded.as_bytes()], &trusted());
        let _ = forwarded_hosts(ip("10.0.0.1"), &[xff.as_bytes()], &[forwarded.as_bytes()], &trusted());
    }

    /// No text makes `Cidr` parsing panic, and what parses prints back the same.
    #[test]
    fn no_network_text_panics(text in "[0-9a-f:./ ]{0,24}") {
        if let Ok(cidr) = text.parse::<Cidr>() {
            prop_assert_eq!(cidr.to_string().parse::<Cidr>(), Ok(cidr));
        }
    }
}

#[test]
fn forwarded_hosts_are_the_nearest_trusted_proxys_word() {
    let hosts = |peer: &str, xfh: &[&str], forwarded: &[&str]| {
        let xfh: Vec<&[u8]> = xfh.iter().map(|value| value.as_bytes()).collect();
        let forwarded: Vec<&[u8]> = forwarded.iter().map(|value| value.as_bytes()).collect();
        forwarded_hosts(ip(peer), &xfh, &forwarded, &trusted())
    };
    assert!(
        hosts("203.0.113.1", &["a.example"], &["host=a.example"]).is_empty(),
        "untrusted peer"
    );
    assert!(
        hosts("10.0.0.1", &[], &["for=192.0.2.1"]).is_empty(),
        "no host named"
    );
    assert_eq!(
        hosts("10.0.0.1", &["x.example", "a.example, b.example"], &[]),
        ["b.example"]
    );
    assert_eq!(hosts("10.0.0.1", &["a.example, "], &[]), ["a.example"]);
    assert_eq!(
        hosts(
            "::ffff:10.0.0.1",
            &[],
            &["host=x.example, for=192.0.2.1;Host=\"a.example:8443\""]
        ),
        ["a.example:8443"]
    );
    assert_eq!(
        hosts("10.0.0.1", &["a.example"], &["host=b.example"]),
        ["a.example", "b.example"]
    );
    for malformed in ["host=", "host=\"a b\"", "host=a;host=b", "host=\"a", "host"] {
        assert_eq!(hosts("10.0.0.1", &[], &[malformed]), [""], "{malformed}");
    }
    assert_eq!(hosts("10.0.0.1", &["a\u{7f}b"], &[]), [""]);
}
