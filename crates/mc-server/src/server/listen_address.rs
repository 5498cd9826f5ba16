//! One `-l` entry: a host, optionally with a port (`127.0.0.1:11212`, `[::1]:11212`), and with
//! TLS on, optionally prefixed `notls:` to serve plain TCP there.

/// A parsed `-l` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenAddress {
    /// The host name or IP (without brackets).
    pub(crate) host: String,
    /// The port given with it, if any (otherwise `-p`).
    pub(crate) port: Option<u16>,
    /// `notls:`: no TLS on this listener even with `-Z`.
    pub(crate) no_tls: bool,
}

impl ListenAddress {
    pub(crate) fn parse(entry: &str) -> ListenAddress {
        let (no_tls, rest) = match entry.strip_prefix("notls:") {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        // `[v6]` or `[v6]:port`.
        if let Some(inner) = rest.strip_prefix('[') {
            if let Some((host, after)) = inner.split_once(']') {
                let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
                return ListenAddress {
                    host: host.to_string(),
                    port,
                    no_tls,
                };
            }
        }
        // One colon: `host:port`. More: a bare IPv6 address.
        if rest.matches(':').count() == 1 {
            if let Some((host, port)) = rest.split_once(':') {
                if let Ok(port) = port.parse() {
                    return ListenAddress {
                        host: host.to_string(),
                        port: Some(port),
                        no_tls,
                    };
                }
            }
        }
        ListenAddress {
            host: rest.to_string(),
            port: None,
            no_tls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(entry: &str) -> (String, Option<u16>, bool) {
        let a = ListenAddress::parse(entry);
        (a.host, a.port, a.no_tls)
    }

    #[test]
    fn the_forms_memcached_takes() {
        assert_eq!(parsed("127.0.0.1"), ("127.0.0.1".into(), None, false));
        assert_eq!(
            parsed("127.0.0.1:11212"),
            ("127.0.0.1".into(), Some(11212), false)
        );
        assert_eq!(parsed("::1"), ("::1".into(), None, false));
        assert_eq!(parsed("[::1]:7"), ("::1".into(), Some(7), false));
        assert_eq!(parsed("[::1]"), ("::1".into(), None, false));
        assert_eq!(parsed("localhost:9"), ("localhost".into(), Some(9), false));
        assert_eq!(
            parsed("notls:127.0.0.1:5"),
            ("127.0.0.1".into(), Some(5), true)
        );
    }
}
