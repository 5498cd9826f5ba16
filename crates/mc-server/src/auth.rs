//! Credentials for `-Y` (ASCII authentication) and `-S` (SASL PLAIN, from the file named by
//! `MEMCACHED_SASL_PWDB`): `user:password` lines, read once at start.
//!
//! Passwords are compared in constant time, so how long a check takes does not tell an
//! attacker how much of a guess was right.

use std::path::Path;

/// A credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file cannot be read.
    #[error("Could not open authfile [{path}] for reading, error {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line has no `:`.
    #[error("Authfile [{path}] has a malformed entry. Should be 'user:password'")]
    Malformed {
        /// The file.
        path: String,
    },
    /// Larger than anyone needs, which suggests the wrong file.
    #[error("Authfile [{path}] is larger than 1 MiB")]
    TooLarge {
        /// The file.
        path: String,
    },
}

/// Users and their passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print passwords.
        write!(f, "Credentials({} users)", self.entries.len())
    }
}

impl Credentials {
    /// Read a file of `user:password` lines (a SASL password database may add more
    /// `:`-separated fields after the password; they are ignored). Empty lines are skipped.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| CredentialsError::Read {
            path: shown.clone(),
            source,
        })?;
        if text.len() > 1024 * 1024 {
            return Err(CredentialsError::TooLarge { path: shown });
        }
        Credentials::parse(&text).ok_or(CredentialsError::Malformed { path: shown })
    }

    /// Parse `user:password` lines; `None` when a non-empty line has no `:`.
    pub fn parse(text: &[u8]) -> Option<Credentials> {
        let mut entries = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let colon = line.iter().position(|&b| b == b':')?;
            let (user, rest) = (&line[..colon], &line[colon + 1..]);
            let password = rest.split(|&b| b == b':').next().unwrap_or(rest);
            entries.push((user.to_vec(), password.to_vec()));
        }
        Some(Credentials { entries })
    }

    /// True when `user` and `password` match an entry.
    pub fn check(&self, user: &[u8], password: &[u8]) -> bool {
        // Every entry is compared, whatever matches, to keep the time independent of which.
        self.entries.iter().fold(false, |found, (u, p)| {
            found | (constant_time_eq(u, user) & constant_time_eq(p, password))
        })
    }
}

/// Compare without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_users_and_passwords() {
        let c = Credentials::parse(b"alice:secret\r\nbob:pw:extra\n\n").expect("valid");
        assert!(c.check(b"alice", b"secret"));
        assert!(c.check(b"bob", b"pw"));
        assert!(!c.check(b"alice", b"secre"));
        assert!(!c.check(b"bob", b"secret"));
        assert!(!c.check(b"", b""));
        assert!(Credentials::parse(b"nocolon\n").is_none());
        assert_eq!(format!("{c:?}"), "Credentials(2 users)");
    }
}
