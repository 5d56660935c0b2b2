//! `Accept` and `Content-Type` matching for Streamable HTTP.

/// Returns whether a `Content-Type` value names `application/json` (parameters allowed).
pub(crate) fn is_json(content_type: &[u8]) -> bool {
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
    let Some(text) = accept.and_then(|value| std::str::from_utf8(value).ok()) else {
        return false;
    };
    let kinds = media.map(|media| media.split_once('/').map_or(media, |(kind, _)| kind));
    // For each media type: the specificity of the best range matching it, and whether that
    // range allows it.
    let mut best: [Option<(u8, bool)>; N] = [None; N];
    for range in text.split(',') {
        let mut parts = range.split(';');
        let pattern = parts.next().unwrap_or_default().trim();
        let excluded = parts.any(|param| {
            let param = param.trim();
            param
                .strip_prefix("q=")
                .or_else(|| param.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        for ((media, kind), best) in media.iter().zip(kinds).zip(&mut best) {
            let Some(specificity) = specificity(pattern, media, kind) else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                *best = Some((specificity, !excluded));
            }
        }
    }
    best.iter().all(|best| best.is_some_and(|(_, allowed)| allowed))
}

/// Returns how closely a media range matches `media` (whose type is `kind`): 3 exactly, 2 as
/// `kind/*`, 1 as `*/*`, `None` not at all.
fn specificity(pattern: &str, media: &str, kind: &str) -> Option<u8> {
    let wildcard_kind = pattern
        .strip_suffix("/*")
        .is_some_and(|pattern_kind| pattern_kind.eq_ignore_ascii_case(kind));
    if pattern.eq_ignore_ascii_case(media) {
        Some(3)
    } else if wildcard_kind {
        Some(2)
    } else if pattern == "*/*" {
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
    }
}
