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
    let Some(text) = accept.and_then(|value| std::str::from_utf8(value).ok()) else {
        return false;
    };
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, bool)> = None;
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
        let wildcard_kind = pattern
            .strip_suffix("/*")
            .is_some_and(|pattern_kind| pattern_kind.eq_ignore_ascii_case(kind));
        let specificity = if pattern.eq_ignore_ascii_case(media) {
            3
        } else if wildcard_kind {
            2
        } else if pattern == "*/*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, !excluded));
        }
    }
    best.is_some_and(|(_, allowed)| allowed)
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
    }
}
