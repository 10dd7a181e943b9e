//! Shared error vocabulary of the omnitide crates.
//!
//! Every crate returns [`Error`]: a stable machine code (the same strings the
//! TypeScript `OmniError.code` carries) and a human message that names the
//! argument and the problem. The N-API binding maps it 1:1, so no crate needs
//! to know about JavaScript.

use std::fmt;

/// Stable error codes. Never rename one: users match on them.
pub mod code {
    pub const INVALID_ARGUMENT: &str = "ERR_OMNI_INVALID_ARGUMENT";
    pub const IO: &str = "ERR_OMNI_IO";
    pub const LIMIT: &str = "ERR_OMNI_LIMIT";
    pub const INTERNAL: &str = "ERR_OMNI_INTERNAL";
    pub const CLOSED: &str = "ERR_OMNI_CLOSED";
    /// Stored log data failed an integrity check; the error carries the first bad index as field `index`.
    pub const LEDGER_CORRUPT: &str = "ERR_OMNI_LEDGER_CORRUPT";
    /// A resource (e.g. a ledger directory) is held exclusively by another writer.
    pub const LOCKED: &str = "ERR_OMNI_LOCKED";
    /// A cgroup v2 controller is not enabled/offered where it is needed.
    pub const CONTROLLER_UNAVAILABLE: &str = "ERR_OMNI_CONTROLLER_UNAVAILABLE";
    /// A named kernel object (interface, cgroup, pinned filter) does not exist.
    pub const NOT_FOUND: &str = "ERR_OMNI_NOT_FOUND";
    /// The object is already in use (second XDP attach, non-empty cgroup).
    pub const BUSY: &str = "ERR_OMNI_BUSY";
    /// Missing root / CAP_BPF / CAP_NET_ADMIN / CAP_SYS_ADMIN.
    pub const PERMISSION: &str = "ERR_OMNI_PERMISSION";
    /// The running kernel lacks a feature (BTF, cgroup2, bpffs, XDP mode).
    pub const UNSUPPORTED: &str = "ERR_OMNI_UNSUPPORTED";
}

/// A structured detail of an error (e.g. the first corrupt `index` of
/// `LEDGER_CORRUPT`). The binding sets each one as a property of the JS error,
/// so callers read it instead of parsing the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Uint(u64),
    Text(String),
}

impl From<u64> for Field {
    fn from(v: u64) -> Self {
        Field::Uint(v)
    }
}

impl From<String> for Field {
    fn from(v: String) -> Self {
        Field::Text(v)
    }
}

impl From<&str> for Field {
    fn from(v: &str) -> Self {
        Field::Text(v.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    /// Named details, in the order they were attached.
    pub fields: Vec<(&'static str, Field)>,
}

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), fields: Vec::new() }
    }

    /// Attaches a named detail (`name` must be a valid JS property name other
    /// than `code`, `message`, `name`, `stack` or `cause`).
    pub fn with_field(mut self, name: &'static str, value: impl Into<Field>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// The value of field `name`, if attached.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// `arg` is the name the caller used (e.g. `"secretKey"`), `problem` what is wrong with it.
    pub fn invalid_arg(arg: &str, problem: impl fmt::Display) -> Self {
        Self::new(code::INVALID_ARGUMENT, format!("{arg}: {problem}"))
    }

    pub fn io(what: impl fmt::Display, err: &std::io::Error) -> Self {
        Self::new(code::IO, format!("{what}: {err}"))
    }

    pub fn limit(arg: &str, problem: impl fmt::Display) -> Self {
        Self::new(code::LIMIT, format!("{arg}: {problem}"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Checks that `bytes` has exactly `N` bytes and returns it as an array reference.
pub fn fixed<'a, const N: usize>(arg: &str, bytes: &'a [u8]) -> Result<&'a [u8; N]> {
    bytes.try_into().map_err(|_| Error::invalid_arg(arg, format!("expected {N} bytes, got {}", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_reports_argument_and_lengths() {
        let err = fixed::<32>("publicKey", &[0u8; 31]).unwrap_err();
        assert_eq!(err.code, code::INVALID_ARGUMENT);
        assert_eq!(err.message, "publicKey: expected 32 bytes, got 31");
        assert!(fixed::<4>("x", &[1, 2, 3, 4]).is_ok());
    }

    #[test]
    fn fields_are_kept_in_order_and_found_by_name() {
        let err = Error::new(code::LEDGER_CORRUPT, "index 7: bad").with_field("index", 7u64).with_field("file", "data");
        assert_eq!(err.field("index"), Some(&Field::Uint(7)));
        assert_eq!(err.field("file"), Some(&Field::Text("data".into())));
        assert_eq!(err.field("missing"), None);
        assert_eq!(err.fields.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["index", "file"]);
    }
}
