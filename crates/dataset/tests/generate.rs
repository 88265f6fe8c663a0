//! The dalle-shaped generator: shape, quirks, size and reproducibility.

mod common;

use common::inputs;
use modforge_dataset::{DatasetOptions, open_dataset};
use modforge_gen::dataset::{Scale, dalle};
use modforge_store::Hooks;

#[test]
fn dalle_shape_and_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let set = dalle(dir.path(), 7, Scale::Dalle).unwrap();
    assert_eq!(set.tables.len(), 19);
    assert_eq!(set.rows(), 12_534);
    eprintln!("generated {} bytes", set.bytes);
    assert!(
        (565_250..=624_750).contains(&set.bytes),
        "{} bytes",
        set.bytes
    );
    let by_name = |n: &str| set.tables.iter().find(|t| t.name == n).unwrap();
    assert_eq!(by_name("adverbs").ragged_rows, 2);
    assert_eq!(by_name("adjectives").ragged_rows, 5);
    assert_eq!(by_name("emotions").ragged_rows, 1);
    assert_eq!(by_name("phyla").ragged_rows, 13);
    assert_eq!(by_name("places").duplicate_rows, 21);
    assert_eq!(by_name("gazes").duplicate_rows, 3);
    assert_eq!(by_name("backstyles").duplicate_rows, 3);
    assert!(by_name("colors").bom);
    assert!(by_name("viewpoints").crlf);
    assert_eq!(
        by_name("emotions").columns,
        [
            "version",
            "emotion",
            "group",
            "polarity",
            "language",
            "description"
        ]
    );

    // Reproducible: the same seed gives the same bytes, another seed other bytes.
    let again = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    dalle(again.path(), 7, Scale::Dalle).unwrap();
    dalle(other.path(), 8, Scale::Dalle).unwrap();
    for t in &set.tables {
        let a = std::fs::read(&t.path).unwrap();
        assert_eq!(
            a,
            std::fs::read(again.path().join(format!("{}.csv", t.name))).unwrap()
        );
        assert_ne!(
            a,
            std::fs::read(other.path().join(format!("{}.csv", t.name))).unwrap()
        );
    }

    // Parsed as a dataset, the quirks show in the report and the taxonomy resolves.
    let mut opts = DatasetOptions::new(dir.path().join("cache"), "dalle");
    opts.version_column = Some("version".into());
    let opened = open_dataset(opts, inputs(&set), &Hooks::default()).unwrap();
    let ds = opened.value;
    assert_eq!(ds.version(), "v0.1.0");
    let report = ds.report().unwrap();
    let rep = |n: &str| report.tables.iter().find(|t| t.name == n).unwrap().clone();
    assert_eq!(rep("places").duplicate_rows, 21);
    assert_eq!(rep("gazes").duplicate_rows, 3);
    assert_eq!(rep("phyla").long_rows, 13);
    assert_eq!(rep("adverbs").long_rows, 2);
    assert!(rep("colors").bom_stripped);
    let cells: u64 = ds
        .tables()
        .iter()
        .map(|t| u64::from(t.len()) * t.columns().len() as u64)
        .sum();
    assert_eq!(cells, 29_671);
    let (nouns, families, orders, classes, phyla) = (
        ds.table("nouns").unwrap(),
        ds.table("families").unwrap(),
        ds.table("orders").unwrap(),
        ds.table("classes").unwrap(),
        ds.table("phyla").unwrap(),
    );
    for r in (0..nouns.len()).step_by(97) {
        let family = nouns.cell(r, 1).unwrap();
        let f = families
            .lookup(family.as_bytes())
            .unwrap()
            .expect("family exists");
        let o = orders
            .lookup(families.cell(f, 1).unwrap().as_bytes())
            .unwrap()
            .expect("order exists");
        let c = classes
            .lookup(orders.cell(o, 1).unwrap().as_bytes())
            .unwrap()
            .expect("class exists");
        assert!(
            phyla
                .lookup(classes.cell(c, 1).unwrap().as_bytes())
                .unwrap()
                .is_some()
        );
    }
    let artstyles = ds.table("artstyles").unwrap();
    let sensitive = artstyles
        .column_values(artstyles.column_index("sensitive").unwrap())
        .unwrap();
    assert!(sensitive.contains(&"sensitive") && sensitive.contains(&""));
    let occupations = ds.table("occupations").unwrap();
    let text = occupations.column_values(1).unwrap();
    assert!(text.iter().any(|t| t.contains('\n')));
    assert!(text.iter().any(|t| t.contains('"')));
    assert!(text.iter().any(|t| t.contains(',')));
}

/// The large variant (about 1M rows): slow in debug builds, so opt-in; the dalle-sized test
/// above covers the same code paths.
#[test]
#[ignore]
fn large_variant_builds_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let set = dalle(dir.path(), 1, Scale::Large).unwrap();
    assert_eq!(set.rows(), 12_534 * 80);
    let mut opts = DatasetOptions::new(dir.path().join("cache"), "large");
    opts.version_column = Some("version".into());
    let ds = open_dataset(opts, inputs(&set), &Hooks::default())
        .unwrap()
        .value;
    let report = ds.report().unwrap();
    assert_eq!(
        report
            .tables
            .iter()
            .find(|t| t.name == "places")
            .unwrap()
            .duplicate_rows,
        21 * 80
    );
    let nouns = ds.table("nouns").unwrap();
    let families = ds.table("families").unwrap();
    for r in (0..nouns.len()).step_by(1009) {
        assert!(
            families
                .lookup(nouns.cell(r, 1).unwrap().as_bytes())
                .unwrap()
                .is_some()
        );
    }
}
