//! Unit tests of `registry::uri_template`.

use crate::registry::uri_template::*;

fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    UriTemplate::parse(template)
        .unwrap()
        .matches(uri)
        .map(|values| values.into_iter().collect())
}

#[test]
fn level_one_variables_match_one_segment() {
    assert_eq!(
        vars("test://template/{id}/data", "test://template/42/data"),
        Some(vec![("id".into(), "42".into())])
    );
    assert_eq!(
        vars("test://template/{id}/data", "test://template/4/2/data"),
        None
    );
    assert_eq!(vars("test://template/{id}/data", "test://template//data"), None);
    assert_eq!(
        vars("test://template/{id}/data", "test://template/42/data/x"),
        None
    );
    assert_eq!(
        vars("users://{id}", "users://a%20b"),
        Some(vec![("id".into(), "a b".into())])
    );
    assert_eq!(vars("users://{id}", "users://%zz"), None);
}

#[test]
fn reserved_variables_span_segments() {
    assert_eq!(
        vars("file:///{+path}", "file:///a/b/c.txt"),
        Some(vec![("path".into(), "a/b/c.txt".into())])
    );
    assert_eq!(
        vars("repo://{owner}/{name}/blob/{+path}", "repo://o/n/blob/src/lib.rs"),
        Some(vec![
            ("name".into(), "n".into()),
            ("owner".into(), "o".into()),
            ("path".into(), "src/lib.rs".into())
        ])
    );
}

#[test]
fn malformed_templates_are_refused() {
    for bad in ["a{", "a}", "{}", "{a}{b}", "{a,b}", "{?q}"] {
        assert!(UriTemplate::parse(bad).is_err(), "{bad}");
    }
    let template = UriTemplate::parse("x://{a}/{b}").unwrap();
    assert_eq!(template.variables().collect::<Vec<_>>(), ["a", "b"]);
}
