//! Caching hints of 2026-07-28 results: how long a client may keep a list or a read, and
//! whether a shared cache may serve it to others.

use std::time::Duration;

/// Who may cache a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CacheScope {
    /// Only within the same authorization context (one token's cache).
    #[default]
    Private,
    /// Any client or intermediary, across authorization contexts.
    Public,
}

impl CacheScope {
    /// Returns the protocol's name for the scope.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

/// How long a result stays fresh (`ttlMs`), and for whom (`cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheHint {
    /// How long a client may reuse the result; zero means stale at once.
    pub ttl: Duration,
    /// Who may cache it.
    pub scope: CacheScope,
}

impl CacheHint {
    /// A result stale at once, cached privately if at all (the default).
    pub const NONE: Self = Self {
        ttl: Duration::ZERO,
        scope: CacheScope::Private,
    };

    /// A result fresh for `ttl`, in the same authorization context only.
    pub const fn private(ttl: Duration) -> Self {
        Self {
            ttl,
            scope: CacheScope::Private,
        }
    }

    /// A result fresh for `ttl`, for anyone.
    pub const fn public(ttl: Duration) -> Self {
        Self {
            ttl,
            scope: CacheScope::Public,
        }
    }

    /// Returns `ttlMs` as sent.
    pub(crate) fn ttl_ms(self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The caching hints of every cacheable result, set once for the registry: the same hint
/// holds on every page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CachePolicy {
    /// `server/discover`.
    pub discover: CacheHint,
    /// `tools/list`.
    pub tools: CacheHint,
    /// `prompts/list`.
    pub prompts: CacheHint,
    /// `resources/list` and `resources/templates/list`.
    pub resources: CacheHint,
    /// `resources/read`.
    pub reads: CacheHint,
}

impl CachePolicy {
    /// Returns the hint of a method's result; `None` for results that are not cacheable.
    pub(crate) fn for_method(&self, method: &str) -> Option<CacheHint> {
        Some(match method {
            "server/discover" => self.discover,
            "tools/list" => self.tools,
            "prompts/list" => self.prompts,
            "resources/list" | "resources/templates/list" => self.resources,
            "resources/read" => self.reads,
            _ => return None,
        })
    }
}
