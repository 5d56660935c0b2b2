//! `Accept` and `Content-Type` matching for Streamable HTTP.

/// Returns whether a `Content-Type` value names `application/json` (parameters allowed).
pub(crate) fn is_json(content_type: &[u8]) -> bool {
    if content_type == b"application/json" {
        return true;
    }
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Returns whether an `Accept` value allows `media` (`type/subtype`), honouring wildcards
/// and `q=0` exclusions. An absent header allows nothing here: MCP requires clients to send it.
pub(crate) fn accepts(accept: Option<&[u8]>, media: &str) -> bool {
    accepts_all(accept, [media])
}

/// Returns whether an `Accept` value allows every one of `media`, as [`accepts`] decides for
/// each, reading the value once.
pub(crate) fn accepts_all<const N: usize>(accept: Option<&[u8]>, media: [&str; N]) -> bool {
    let Some(value) = accept else {
        return false;
    };
    // What the SDKs send, and what most requests carry: the answer without parsing.
    if value == COMMON_ACCEPT {
        return media.iter().all(|media| COMMON_MEDIA.contains(media));
    }
    let kinds = media.map(|media| media.split_once('/').map_or(media, |(kind, _)| kind));
    // For each media type: the specificity of the best range matching it, and whether that
    // range allows it.
    let mut best: [Option<(u8, bool)>; N] = [None; N];
    for range in value.split(|&b| b == b',') {
        let mut parts = range.split(|&b| b == b';');
        let pattern = parts.next().unwrap_or_default().trim_ascii();
        let excluded = parts.any(|param| {
            let param = param.trim_ascii();
            param
                .strip_prefix(b"q=")
                .or_else(|| param.strip_prefix(b"Q="))
                .and_then(|q| std::str::from_utf8(q.trim_ascii()).ok()?.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        for ((media, kind), best) in media.iter().zip(kinds).zip(&mut best) {
            let Some(specificity) = specificity(pattern, media.as_bytes(), kind.as_bytes()) else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                *best = Some((specificity, !excluded));
            }
        }
    }
    best.iter().all(|best| best.is_some_and(|(_, allowed)| allowed))
}

/// The `Accept` value MCP clients send with a `POST`.
const COMMON_ACCEPT: &[u8] = b"application/json, text/event-stream";

/// The media types [`COMMON_ACCEPT`] allows.
const COMMON_MEDIA: [&str; 2] = ["application/json", "text/event-stream"];

/// Returns how closely a media range matches `media` (whose type is `kind`): 3 exactly, 2 as
/// `kind/*`, 1 as `*/*`, `None` not at all.
fn specificity(pattern: &[u8], media: &[u8], kind: &[u8]) -> Option<u8> {
    let wildcard_kind = pattern
        .strip_suffix(b"/*")
        .is_some_and(|pattern_kind| pattern_kind.eq_ignore_ascii_case(kind));
    if pattern.eq_ignore_ascii_case(media) {
        Some(3)
    } else if wildcard_kind {
        Some(2)
    } else if pattern == b"*/*" {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type() {
        assert!(is_json(b"application/json"));
        assert!(is_json(b"Application/JSON; charset=utf-8"));
        assert!(!is_json(b"text/plain"));
        assert!(!is_json(b"application/json-patch+json"));
    }

    #[test]
    fn accept_ranges() {
        let both = Some(&b"application/json, text/event-stream"[..]);
        assert!(accepts(both, "application/json") && accepts(both, "text/event-stream"));
        assert!(accepts(Some(b"*/*"), "text/event-stream"));
        assert!(accepts(Some(b"text/*;q=0.5"), "text/event-stream"));
        assert!(!accepts(Some(b"application/json"), "text/event-stream"));
        assert!(!accepts(Some(b"*/*, text/event-stream;q=0"), "text/event-stream"));
        assert!(!accepts(None, "application/json"));
        assert!(accepts_all(both, ["application/json", "text/event-stream"]));
        let json_only = Some(&b"application/json, text/event-stream;q=0"[..]);
        assert!(!accepts_all(json_only, ["application/json", "text/event-stream"]));
        assert!(!accepts_all(None, ["application/json"]));
        // The common value's shortcut answers as the parse would.
        assert!(accepts(both, "application/json") && !accepts(both, "text/plain"));
        assert!(accepts(Some(b"APPLICATION/JSON"), "application/json"));
        assert!(!accepts(Some(b"\xff, */*;q=0"), "application/json"));
    }
}
