//! The id's text kept exactly, its comparisons, and the integers it refuses.

use super::*;

fn id(text: &str) -> Option<Id> {
    Id::from_raw(&RawValue::from_string(text.to_owned()).expect("valid JSON"))
}

#[test]
fn integers_keep_their_text_and_compare_by_value() {
    for text in [
        "0",
        "-0",
        "-1",
        "42",
        "-9223372036854775808",
        "18446744073709551615",
    ] {
        let parsed = id(text).expect("an integer id");
        assert_eq!(parsed.as_json(), text);
        assert_eq!(serde_json::to_string(&parsed).expect("serializes"), text);
    }
    assert_eq!(id("7"), Some(Id::from_i64(7)));
    assert_eq!(Id::from_u64(u64::MAX).as_json(), "18446744073709551615");
    assert_eq!(Id::from_i64(i64::MIN).as_json(), "-9223372036854775808");
    for refused in [
        "-0.5",
        "1e3",
        "1.0",
        "18446744073709551616",
        "-9223372036854775809",
        "null",
    ] {
        assert!(id(refused).is_none(), "{refused}");
    }
}

#[test]
fn strings_keep_their_escapes_and_compare_by_content() {
    let escaped = id(r#""\u0061b""#).expect("a string id");
    assert_eq!(escaped.as_json(), r#""\u0061b""#);
    assert_eq!(
        serde_json::to_string(&escaped).expect("serializes"),
        r#""\u0061b""#
    );
    assert_eq!(escaped, Id::from_string("ab"));
    assert_ne!(id(r#""1""#), id("1"));
    // Every string sorts before every integer, as the tables that hold ids expect.
    assert!(Id::from_string("z") < Id::from_i64(i64::MIN));
}
