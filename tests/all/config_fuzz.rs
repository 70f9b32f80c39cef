//! Random bytes fed to the loader and to lint never panic.

use std::path::Path;

use proptest::prelude::*;

const CASES: u32 = 3000;

fn check(text: &str) {
    if let Ok(loaded) = engine::config::read_text(Path::new("fuzz.yaml"), text) {
        let _ = engine::config::lint::lint_config(&loaded);
        let _ = engine::config::decode(&loaded.tree);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_shaped_text_never_panics(text in "([a-z_]{1,8}:( |\n  )(\\{\\}|\\[|\\]|[a-z0-9]{1,6}|'x'|- |\\$\\{[A-Z]{1,4}(:[a-z]*)?\\}|&a |\\*a)){0,12}") {
        check(&text);
    }
}

#[test]
fn nested_component_shapes_never_panic() {
    for text in [
        "input: []\n",
        "input: 5\n",
        "input:\n  generate: 7\n",
        "pipeline:\n  processors: {a: 1}\n",
        "pipeline:\n  processors:\n    - []\n    - null\n    - log: []\n",
        "output:\n  type: nope\n",
        "output:\n  label: [1]\n  drop: {}\n",
        "input_resources:\n  - stdin: {}\n",
    ] {
        check(text);
    }
}
