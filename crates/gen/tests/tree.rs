//! Generating a folder tree: cancellation.

use modforge_core::{Cancel, Control};
use modforge_gen::Error;
use modforge_gen::tree::{TreeSpec, generate_tree_with};

#[test]
fn a_cancelled_generation_returns_aborted_and_creates_nothing_inside_the_folder() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("tree");
    let cancel = Cancel::new();
    cancel.cancel();
    let spec = TreeSpec {
        entries: 2_000_000,
        ..TreeSpec::default()
    };
    let result = generate_tree_with(&dir, &spec, &Control::cancel(&cancel));
    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
