//! Unit tests of `handler::results`.

use crate::handler::results::*;

#[test]
fn at_most_one_hundred_values_are_sent() {
    let many = Completion::new((0..250).map(|n| n.to_string()));
    assert_eq!(many.values().len(), 100);
    assert!(many.has_more());
    assert_eq!(
        serde_json::to_value(&many).unwrap()["total"],
        serde_json::json!(250)
    );
    let few = Completion::matching(["python", "pytorch", "rust"], "py");
    assert_eq!(few.values(), ["python", "pytorch"]);
    assert_eq!(
        serde_json::to_value(&few).unwrap(),
        serde_json::json!({"values": ["python", "pytorch"]})
    );
}
