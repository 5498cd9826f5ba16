//! Where servers are: addresses and their specifications as python-memcached and twemproxy
//! write them (`host:port`, `unix:/path`, weights, twemproxy names).

use std::fmt;
use std::path::PathBuf;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// `host:port`.
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp(host) => f.write_str(host),
            ServerAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A server and its weight, as python-memcached takes them: `"host:port"`, `"unix:/path"`, or
/// `("host:port", weight)`; and as twemproxy lists them: `"host:port:weight"`, optionally
/// followed by a space and a name (`"10.0.0.1:11211:1 cache-a"`), which ketama then places
/// the server by. A missing port means 11211.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// The address.
    pub addr: ServerAddr,
    /// Relative share of the keys.
    pub weight: u32,
    /// twemproxy's server name: with ketama, the server's points are named after it instead of
    /// its address, so a server can move without its keys moving.
    pub name: Option<String>,
}

impl ServerSpec {
    /// Parse `host[:port]`, `unix:/path`, or twemproxy's `host:port:weight [name]`.
    pub fn parse(text: &str) -> ServerSpec {
        let (text, name) = match text.trim().split_once(char::is_whitespace) {
            Some((addr, name)) if !name.trim().is_empty() => (addr, Some(name.trim().to_string())),
            _ => (text.trim(), None),
        };
        if let Some(path) = text.strip_prefix("unix:") {
            return ServerSpec {
                addr: ServerAddr::Unix(PathBuf::from(path)),
                weight: 1,
                name,
            };
        }
        // `host:port:weight`: two colons outside brackets, all-digit port and weight.
        let bare = !text.starts_with('[') && text.matches(':').count() == 2;
        if bare {
            let mut parts = text.rsplitn(2, ':');
            if let (Some(weight), Some(host_port)) = (parts.next(), parts.next()) {
                if let (Ok(weight), Some((_, port))) =
                    (weight.parse::<u32>(), host_port.rsplit_once(':'))
                {
                    if port.parse::<u16>().is_ok() {
                        return ServerSpec {
                            addr: ServerAddr::Tcp(host_port.to_string()),
                            weight,
                            name,
                        };
                    }
                }
            }
        }
        let addr = if text
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !text.ends_with(']')
        {
            ServerAddr::Tcp(text.to_string())
        } else {
            ServerAddr::Tcp(format!("{text}:11211"))
        };
        ServerSpec {
            addr,
            weight: 1,
            name,
        }
    }

    /// The same server, named (twemproxy's server name, for ketama placement).
    pub fn named(self, name: impl Into<String>) -> ServerSpec {
        ServerSpec {
            name: Some(name.into()),
            ..self
        }
    }

    /// What this server's ketama point names start with.
    pub(crate) fn point_label(&self) -> String {
        let (host, port) = self.host_port();
        crate::distribution::point_label(&host, port, self.name.as_deref())
    }

    /// Host and port for ketama point names (a Unix socket uses its path and port 0).
    pub(crate) fn host_port(&self) -> (String, u16) {
        match &self.addr {
            ServerAddr::Tcp(hp) => match hp.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().unwrap_or(11211)),
                None => (hp.clone(), 11211),
            },
            ServerAddr::Unix(path) => (path.display().to_string(), 0),
        }
    }
}

impl From<&str> for ServerSpec {
    fn from(text: &str) -> Self {
        ServerSpec::parse(text)
    }
}

impl From<String> for ServerSpec {
    fn from(text: String) -> Self {
        ServerSpec::parse(&text)
    }
}

impl From<(&str, u32)> for ServerSpec {
    fn from((text, weight): (&str, u32)) -> Self {
        ServerSpec {
            weight,
            ..ServerSpec::parse(text)
        }
    }
}

impl From<(String, u32)> for ServerSpec {
    fn from((text, weight): (String, u32)) -> Self {
        ServerSpec {
            weight,
            ..ServerSpec::parse(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_python_memcached() {
        assert_eq!(
            ServerSpec::from("127.0.0.1:11212").addr,
            ServerAddr::Tcp("127.0.0.1:11212".into())
        );
        assert_eq!(
            ServerSpec::from("cache").addr,
            ServerAddr::Tcp("cache:11211".into())
        );
        assert_eq!(
            ServerSpec::from("unix:/tmp/mc.sock").addr,
            ServerAddr::Unix("/tmp/mc.sock".into())
        );
        assert_eq!(ServerSpec::from(("10.0.0.1:11211", 4)).weight, 4);
    }

    #[test]
    fn specs_parse_like_twemproxy_lists_servers() {
        let spec = ServerSpec::from("10.0.0.1:11212:3 cache-a");
        assert_eq!(spec.addr, ServerAddr::Tcp("10.0.0.1:11212".into()));
        assert_eq!(spec.weight, 3);
        assert_eq!(spec.name.as_deref(), Some("cache-a"));
        assert_eq!(spec.point_label(), "cache-a");
        let spec = ServerSpec::from("10.0.0.1:11211:2");
        assert_eq!(
            (spec.weight, spec.point_label()),
            (2, "10.0.0.1".to_string())
        );
        assert_eq!(
            ServerSpec::from("10.0.0.1:11212").point_label(),
            "10.0.0.1:11212"
        );
        assert_eq!(
            ServerSpec::from("[::1]:11212").addr,
            ServerAddr::Tcp("[::1]:11212".into())
        );
        assert_eq!(
            ServerSpec::from("cache").named("n").name.as_deref(),
            Some("n")
        );
    }
}
