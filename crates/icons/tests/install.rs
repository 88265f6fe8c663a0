//! The generated install end to end: discovery, precedence of every icon against the
//! generator's manifest, on-demand icons, a missing HAK.

mod common;

use modforge_core::Control;
use modforge_icons::{IconCache, ResourceIndex, discover};

#[test]
fn every_icon_comes_from_the_expected_place() {
    let (_dir, m) = common::small_install(11);
    let d = discover(&m.game_dir, &m.user_dir, &common::discover_options(&m)).unwrap();
    assert_eq!(d.missing.len(), 1, "{:?}", d.missing);
    assert_eq!(d.missing[0].what, "hak bench_missing");
    assert_eq!(d.missing[0].searched.len(), 2);
    assert_eq!(d.module.as_ref().unwrap().haks, m.haks);
    let labels: Vec<&str> = d.found.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "hak/bench_a",
            "hak/bench_b",
            "hak/bench_c",
            "override (user)",
            "workshop/1001",
            "workshop/1002",
            "override (install)",
            "campaign/bench_campaign",
            "module/bench.mod",
            "data/nwn2_materials_v121.zip",
            "data/2da_x2.zip",
            "data/2da_x1.zip",
            "data/2da.zip",
            "data/nwn2_materials.zip",
            "data/templates.zip",
            "ui/upscaled",
            "ui/default",
        ]
    );

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = IconCache::open(
        common::cache_options(&m, Some(cache_dir.path().to_path_buf())),
        &Control::default(),
    )
    .unwrap();
    let stats = cache.stats();
    assert_eq!(stats.icons as usize, m.icons.len(), "{:?}", stats.failed);
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert!(stats.mapped);
    for (name, want) in &m.icons {
        let icon = cache.get_icon(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(&*icon.source, want.place.label(), "{name}");
        assert_eq!(
            (icon.width, icon.height),
            (want.width, want.height),
            "{name}"
        );
        let (w, h, _) = common::decode_webp(&icon.data);
        assert_eq!((w, h), (want.width, want.height));
    }
    // Names outside the icon set are encoded on demand.
    for (name, want) in &m.other_images {
        if name.starts_with("mat_") {
            continue;
        }
        let icon = cache.get_icon(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(&*icon.source, want.place.label(), "{name}");
    }
    assert!(cache.stats().on_demand >= 1);
    assert!(cache.get_icon("no_such_icon").is_none());

    // where_is lists every placement in precedence order.
    let index = ResourceIndex::open(&d.sources, &Default::default(), &Control::default()).unwrap();
    for (name, places) in m.placements.iter().take(200) {
        let locations = index.where_is(name).unwrap();
        let got: Vec<(String, String)> = locations
            .iter()
            .map(|l| (l.source.clone(), l.entry.clone()))
            .collect();
        let want: Vec<(String, String)> = places
            .iter()
            .map(|p| (p.place.label(), p.entry.clone()))
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got_sorted, want_sorted, "{name}");
    }
}
