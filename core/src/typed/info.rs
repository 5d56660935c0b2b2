//! The server's identity (`serverInfo`), taken from the user's crate.

/// The name and version a server reports as `serverInfo`.
///
/// Build it with [`server_info!`](crate::server_info), which reads the calling crate's
/// `Cargo.toml`, so that a server never reports rampart's own name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The server's name, for example the crate's name.
    pub name: String,
    /// The server's version.
    pub version: String,
}

impl ServerInfo {
    /// Creates an identity from a name and a version.
    ///
    /// ```
    /// let config = rampart_core::Config::new(rampart_core::ServerInfo::new("billing", "2.1.0"));
    /// assert_eq!(config.server_version, "2.1.0");
    /// ```
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
        }
    }
}

/// Expands to the [`ServerInfo`] of the crate it is written in: its package name and version.
///
/// ```
/// let info = rampart_core::server_info!();
/// assert_eq!(info.name, "rampart-core"); // in a user's crate, that crate's name
/// let config = rampart_core::Config::new(info);
/// assert_eq!(config.server_name, "rampart-core");
/// ```
#[macro_export]
macro_rules! server_info {
    () => {
        $crate::typed::ServerInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
    };
}
