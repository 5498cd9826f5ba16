//! The fixed answers a server gives besides the storage and retrieval statuses: refusals,
//! admin outcomes and error texts, spelled as memcached 1.6.18 spells them. A server names
//! the answer; the codec owns its bytes.

/// One of memcached's fixed answer lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ServerMessage {
    // `ERROR ...`
    ShutdownNotEnabled,
    TooManyConnections,
    WatchAfterOtherCommands,
    MetadumpAfterOtherCommands,
    MetadumpNotAllowed,
    HotWarmPercentTooHigh,
    AgeFactorsNotPositive,
    // `CLIENT_ERROR ...`
    Unauthenticated,
    AuthenticationFailure,
    BadAuthenticationToken,
    BadLineTermination,
    BadCommandLine,
    BadCommandLineFormat,
    FlushAllNotAllowed,
    CachedumpNotAllowed,
    WatchNotAllowed,
    CrawlerDisabled,
    SlabReassignDisabled,
    IllegalSlabId,
    DetailUsage,
    CrawlerSleepTooLong,
    InvalidShutdownMode,
    NonNumericValue,
    // `SERVER_ERROR ...`
    ObjectTooLarge,
    OutOfMemoryStoring,
    OutOfMemory,
    OutOfMemoryAllocatingItem,
    // Status words of admin commands.
    CrawlerBusy,
    BadClass,
    BadReassignClass,
    NoSpare,
    SameClass,
    MemlimitTooSmall,
    MemlimitNotMegabytes,
    MemlimitAdjustFailed,
    WatcherTooMany,
    TlsNotEnabled,
}

impl ServerMessage {
    /// The line, without its CRLF.
    pub fn text(self) -> &'static [u8] {
        use ServerMessage::*;
        match self {
            ShutdownNotEnabled => b"ERROR: shutdown not enabled",
            TooManyConnections => b"ERROR Too many open connections",
            WatchAfterOtherCommands => b"ERROR cannot pipeline other commands before watch",
            MetadumpAfterOtherCommands => b"ERROR cannot pipeline other commands before metadump",
            MetadumpNotAllowed => b"ERROR metadump not allowed",
            HotWarmPercentTooHigh => b"ERROR hot and warm pcts must not exceed 80",
            AgeFactorsNotPositive => b"ERROR hot/warm age factors must be greater than 0",
            Unauthenticated => b"CLIENT_ERROR unauthenticated",
            AuthenticationFailure => b"CLIENT_ERROR authentication failure",
            BadAuthenticationToken => b"CLIENT_ERROR bad authentication token format",
            BadLineTermination => b"CLIENT_ERROR bad command line termination",
            BadCommandLine => b"CLIENT_ERROR bad command line",
            BadCommandLineFormat => b"CLIENT_ERROR bad command line format",
            FlushAllNotAllowed => b"CLIENT_ERROR flush_all not allowed",
            CachedumpNotAllowed => b"CLIENT_ERROR stats cachedump not allowed",
            WatchNotAllowed => b"CLIENT_ERROR watch commands not allowed",
            CrawlerDisabled => b"CLIENT_ERROR lru crawler disabled",
            SlabReassignDisabled => b"CLIENT_ERROR slab reassignment disabled",
            IllegalSlabId => b"CLIENT_ERROR Illegal slab id",
            DetailUsage => b"CLIENT_ERROR usage: stats detail on|off|dump",
            CrawlerSleepTooLong => b"CLIENT_ERROR sleep must be one second or less",
            InvalidShutdownMode => b"CLIENT_ERROR invalid shutdown mode",
            NonNumericValue => b"CLIENT_ERROR cannot increment or decrement non-numeric value",
            ObjectTooLarge => b"SERVER_ERROR object too large for cache",
            OutOfMemoryStoring => b"SERVER_ERROR out of memory storing object",
            OutOfMemory => b"SERVER_ERROR out of memory",
            OutOfMemoryAllocatingItem => b"SERVER_ERROR Out of memory allocating new item",
            CrawlerBusy => b"BUSY currently processing crawler request",
            BadClass => b"BADCLASS invalid class id",
            BadReassignClass => b"BADCLASS invalid src or dst class id",
            NoSpare => b"NOSPARE source class has no spare pages",
            SameClass => b"SAME src and dst class are identical",
            MemlimitTooSmall => b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m",
            MemlimitNotMegabytes => b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes",
            MemlimitAdjustFailed => b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust",
            WatcherTooMany => b"WATCHER_TOO_MANY log watcher limit reached",
            TlsNotEnabled => b"Error TLS not enabled",
        }
    }
}
