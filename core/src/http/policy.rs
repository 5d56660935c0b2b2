//! Who may talk to the server: CORS origins and the Host/Origin checks that defend against
//! DNS rebinding.

/// The allowed `Origin` values: any (`*`) or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origins {
    /// Every origin is allowed (`ALLOWED_ORIGINS=*`, the default); none is ever reflected
    /// with credentials.
    #[default]
    Any,
    /// Only these origins (`scheme://host[:port]`), compared case-insensitively.
    List(Vec<String>),
}

impl Origins {
    /// Returns whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)),
        }
    }
}

/// The allowed `Host` values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Hosts {
    /// Any Host (a server bound to a public address with no `ALLOWED_HOSTS`).
    #[default]
    Any,
    /// Only `localhost`, `127.0.0.1` and `[::1]`, with any port (bound to loopback).
    Loopback,
    /// Only these hosts; an entry without a port matches any port.
    List(Vec<String>),
}

impl Hosts {
    /// Returns whether a `Host` header value is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let (name, port) = split_host(host);
        if name.is_empty() || !port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        match self {
            Self::Any => true,
            Self::Loopback => {
                name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]"
            }
            Self::List(list) => list.iter().any(|allowed| {
                let (allowed_name, allowed_port) = split_host(allowed.trim());
                allowed_name.eq_ignore_ascii_case(name) && allowed_port.is_none_or(|p| Some(p) == port)
            }),
        }
    }
}

/// Splits `host[:port]`, keeping `[v6]` literals whole.
fn split_host(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => {
                let (name, rest) = host.split_at(end + 1);
                (name, rest.strip_prefix(':'))
            }
            None => ("", None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_any_port() {
        let hosts = Hosts::Loopback;
        for ok in [
            "localhost",
            "localhost:23450",
            "127.0.0.1:1",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:23450",
            "127.0.0.2",
            "localhost.evil",
            "",
            "localhost:x",
            "[::1",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn listed_hosts() {
        let hosts = Hosts::List(vec!["api.example.com".into(), "internal:8443".into()]);
        assert!(hosts.allows("api.example.com:443"));
        assert!(hosts.allows("internal:8443"));
        assert!(!hosts.allows("internal:8444"));
        assert!(!hosts.allows("localhost"));
    }

    #[test]
    fn origins() {
        assert!(Origins::Any.allows("http://anything"));
        let list = Origins::List(vec!["https://app.example".into()]);
        assert!(list.allows("https://APP.example"));
        assert!(!list.allows("https://app.example.evil"));
        assert!(!list.allows("null"));
    }
}
