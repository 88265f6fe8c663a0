//! A seeded synthetic NWN2 install for tests, the demo and benchmarks (docs/icons.md,
//! "Generated install"): `Data/*.zip` with expansion and patch archives, `UI/default/icons` TGAs
//! in every TGA variant, `UI/upscaled/icons` DDS, install and user overrides, V1.1 HAKs listed
//! by a module, a campaign and Steam Workshop items. The [`Manifest`] names, for every icon,
//! the place the engine's precedence picks, computed here from the placement rules alone.
//!
//! The writers of the formats (TGA, DDS with its block encoders, ERF, GFF, PNG via `png`, ZIP via
//! `zip`) live in this module: the product only reads these formats.

pub mod dds;
pub mod erf;
pub mod gff;
pub mod image;
pub mod tga;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Error;
use crate::rng::SplitMix64;
use dds::DdsPixels;
use erf::{ErfOptions, ErfResource};
use gff::IfoField;
use image::{Alpha, Picture, icon};
use tga::{TgaOptions, TgaPixels};

/// NWN2 type ids used by the generator.
pub mod types {
    /// Targa.
    pub const TGA: u16 = 3;
    /// Plain text.
    pub const TXT: u16 = 10;
    /// Script source.
    pub const NSS: u16 = 2009;
    /// Area.
    pub const ARE: u16 = 2012;
    /// Module info.
    pub const IFO: u16 = 2014;
    /// DirectDraw surface.
    pub const DDS: u16 = 2033;
    /// PNG (NWN:EE id).
    pub const PNG: u16 = 2110;
}

/// The Steam app id of NWN2 Enhanced Edition (Workshop content folder name).
pub const WORKSHOP_APP_ID: &str = "2738630";

/// How the `UI/upscaled` DDS icons are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upscaled {
    /// DX10 header, BC7 (as NWN2 EE ships them).
    Bc7,
    /// Legacy DXT5 (for baselines without a BC7 decoder).
    Dxt5,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSpec {
    /// Seed of every random choice.
    pub seed: u64,
    /// TGA icons under `UI/default/icons`.
    pub ui_default: u32,
    /// 128x128 DDS icons under `UI/upscaled/icons`.
    pub ui_upscaled: u32,
    /// Upscaled icons reuse every 4th default name (shadowing those TGAs); otherwise they have
    /// names of their own, so the icon set holds `ui_default + ui_upscaled` names.
    pub upscaled_shared: bool,
    /// Format of the upscaled icons.
    pub upscaled: Upscaled,
    /// TGAs in the install's `override` shadowing icons.
    pub install_override: u32,
    /// Images in the user's `override` (TGA, DDS and PNG; some nested twice).
    pub user_override: u32,
    /// V1.1 HAKs listed by the module (the first two in the user's `hak`, the rest in the install's).
    pub haks: u32,
    /// Icons per HAK (consecutive HAKs overlap by half).
    pub hak_icons: u32,
    /// Workshop items.
    pub workshop_items: u32,
    /// Icons per Workshop item (consecutive items overlap by half).
    pub workshop_icons: u32,
    /// Files in the campaign folder (60% icons).
    pub campaign_files: u32,
    /// 256x256 DXT1/DXT5 textures in `Data/nwn2_materials.zip` (not icons).
    pub material_textures: u32,
    /// The module also lists a HAK that exists nowhere.
    pub missing_hak: bool,
}

impl InstallSpec {
    /// The benchmark install: about 20,000 icons.
    pub fn bench(seed: u64) -> InstallSpec {
        InstallSpec {
            seed,
            ui_default: 16_000,
            ui_upscaled: 4_000,
            upscaled_shared: false,
            upscaled: Upscaled::Bc7,
            install_override: 300,
            user_override: 200,
            haks: 3,
            hak_icons: 500,
            workshop_items: 2,
            workshop_icons: 100,
            campaign_files: 100,
            material_textures: 500,
            missing_hak: false,
        }
    }

    /// A small install with every case, for tests.
    pub fn small(seed: u64) -> InstallSpec {
        InstallSpec {
            seed,
            ui_default: 240,
            ui_upscaled: 40,
            upscaled_shared: true,
            upscaled: Upscaled::Bc7,
            install_override: 20,
            user_override: 20,
            haks: 3,
            hak_icons: 40,
            workshop_items: 2,
            workshop_icons: 12,
            campaign_files: 20,
            material_textures: 6,
            missing_hak: true,
        }
    }
}

/// Where a generated resource lives, in the engine's precedence (highest first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// A module HAK, by list position.
    Hak(u32, String),
    /// The user's `override`.
    UserOverride,
    /// A Workshop item's `override`, by id.
    Workshop(u64),
    /// The install's `override`.
    InstallOverride,
    /// The campaign folder.
    Campaign(String),
    /// The module file.
    Module(String),
    /// A Data zip, by rank (0 = highest) and file name.
    Data(u32, String),
    /// `UI/upscaled`.
    UiUpscaled,
    /// `UI/default`.
    UiDefault,
}

impl Place {
    /// The label `modforge_icons::discover` gives this place.
    pub fn label(&self) -> String {
        match self {
            Place::Hak(_, name) => format!("hak/{name}"),
            Place::UserOverride => "override (user)".into(),
            Place::Workshop(id) => format!("workshop/{id}"),
            Place::InstallOverride => "override (install)".into(),
            Place::Campaign(name) => format!("campaign/{name}"),
            Place::Module(file) => format!("module/{file}"),
            Place::Data(_, file) => format!("data/{file}"),
            Place::UiUpscaled => "ui/upscaled".into(),
            Place::UiDefault => "ui/default".into(),
        }
    }
}

/// One generated image resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// Where.
    pub place: Place,
    /// Entry inside the place: relative path with `/` (folders, zips) or `resref.ext` (ERF).
    pub entry: String,
    /// Type id.
    pub res_type: u16,
    /// Width of the picture.
    pub width: u32,
    /// Height of the picture.
    pub height: u32,
    /// The picture: `image::icon(seed, width, height, alpha)` before format conversion.
    pub seed: u64,
    /// The picture's alpha.
    pub alpha: Alpha,
    /// How it was stored.
    pub format: Format,
}

/// How an image was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TGA with these options.
    Tga(TgaOptions),
    /// DDS with this pixel format.
    Dds(DdsPixels),
    /// PNG (RGBA8).
    Png,
}

impl Placed {
    /// The picture as stored, before the format's precision loss.
    pub fn picture(&self) -> Picture {
        icon(self.seed, self.width, self.height, self.alpha)
    }

    fn type_rank(&self) -> u8 {
        match self.res_type {
            types::DDS => 0,
            types::TGA => 1,
            _ => 2,
        }
    }

    fn depth(&self) -> usize {
        self.entry.matches('/').count()
    }
}

/// What was generated and which place should win for each icon.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The install folder.
    pub game_dir: PathBuf,
    /// The user folder.
    pub user_dir: PathBuf,
    /// The Workshop content root (`.../workshop/content/2738630`).
    pub workshop_root: PathBuf,
    /// The module name (`bench`).
    pub module: String,
    /// The campaign name.
    pub campaign: String,
    /// HAK names in `Mod_HakList` order (including a missing one when asked).
    pub haks: Vec<String>,
    /// Icon-set names (under `UI/*/icons`) and their expected winners.
    pub icons: BTreeMap<String, Placed>,
    /// Image names outside the icon set (HAK-only, override-only, ...) and their winners.
    pub other_images: BTreeMap<String, Placed>,
    /// Every place each image name is stored, winner first.
    pub placements: BTreeMap<String, Vec<Placed>>,
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The precedence rule, written independently of the reader: place first, then inside one
/// place `dds > tga > png`, then deeper path, then path order.
fn precedence_key(p: &Placed) -> (Place, u8, std::cmp::Reverse<usize>, String) {
    (
        p.place.clone(),
        p.type_rank(),
        std::cmp::Reverse(p.depth()),
        p.entry.to_ascii_lowercase(),
    )
}

enum Content {
    Bytes(Vec<u8>),
    Image(Placed),
    Erf(Vec<ErfItem>, ErfOptions),
    Zip(Vec<(String, ZipItem)>),
}

enum ErfItem {
    Image(String, Placed),
    Raw(String, u16, Vec<u8>),
}

enum ZipItem {
    Image(Placed),
    Raw(Vec<u8>),
}

const PREFIXES: [&str; 6] = ["is_", "ife_", "it_", "iit_", "ia_", "ic_"];

/// The name of default icon `i`.
pub fn icon_name(i: u32) -> String {
    let prefix = PREFIXES[(i % PREFIXES.len() as u32) as usize];
    if i % 97 == 5 {
        format!("{prefix}moduledownloaderres{i:05}")
    } else {
        format!("{prefix}{i:05}")
    }
}

fn name_seed(seed: u64, name: &str, variant: u64) -> u64 {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    SplitMix64::stream(seed, h ^ variant.wrapping_mul(0x9E37_79B9)).next_u64()
}

/// Storage format, size and alpha of a planned image.
struct Look(Format, (u32, u32), Alpha);

struct Planner {
    spec: InstallSpec,
    jobs: Vec<(PathBuf, Content)>,
    placements: BTreeMap<String, Vec<Placed>>,
}

impl Planner {
    fn place(&mut self, name: &str, p: Placed) -> Placed {
        self.placements
            .entry(name.to_string())
            .or_default()
            .push(p.clone());
        p
    }

    fn image(
        &mut self,
        name: &str,
        place: Place,
        entry: String,
        variant: u64,
        look: Look,
    ) -> Placed {
        let Look(format, size, alpha) = look;
        let res_type = match format {
            Format::Tga(_) => types::TGA,
            Format::Dds(_) => types::DDS,
            Format::Png => types::PNG,
        };
        let p = Placed {
            place,
            entry,
            res_type,
            width: size.0,
            height: size.1,
            seed: name_seed(self.spec.seed, name, variant),
            alpha,
            format,
        };
        self.place(name, p)
    }
}

fn default_format(rng: &mut SplitMix64) -> (TgaOptions, Alpha) {
    let roll = rng.below(100);
    let (pixels, rle, alpha) = match roll {
        0..60 => (TgaPixels::Bgra32, false, Alpha::Soft),
        60..80 => (TgaPixels::Bgr24, true, Alpha::Opaque),
        80..90 => (
            TgaPixels::Argb16 {
                attribute_all_zero: true,
            },
            true,
            Alpha::Opaque,
        ),
        90..95 => (TgaPixels::Grey8, rng.chance(0.5), Alpha::Opaque),
        _ => (TgaPixels::Mapped8, rng.chance(0.5), Alpha::Opaque),
    };
    let top_down = rng.below(10) == 0;
    let footer = rng.chance(0.3);
    (
        TgaOptions {
            pixels,
            rle,
            top_down,
            footer,
        },
        alpha,
    )
}

fn default_size(rng: &mut SplitMix64) -> (u32, u32) {
    match rng.below(10) {
        0..3 => (32, 32),
        3..5 => (40, 40),
        5..9 => (64, 64),
        _ => (78, 71),
    }
}

/// Generates the install under `root` (`root/game`, `root/user`, `root/workshop/...`) and
/// writes `root/manifest.json`. `root` must be empty or missing.
pub fn generate(root: &Path, spec: &InstallSpec) -> Result<Manifest, Error> {
    if root.exists()
        && fs::read_dir(root)
            .map_err(|e| Error::io("opendir", root, e))?
            .next()
            .is_some()
    {
        return Err(Error::InvalidArgument(format!(
            "{} is not empty",
            root.display()
        )));
    }
    let game = root.join("game");
    let user = root.join("user");
    let workshop_root = root.join("workshop").join("content").join(WORKSHOP_APP_ID);
    let mut pl = Planner {
        spec: spec.clone(),
        jobs: Vec::new(),
        placements: BTreeMap::new(),
    };
    let n = spec.ui_default.max(1);
    let icon_at = |i: u32| icon_name(i % n);

    // UI/default/icons: 40 category folders.
    let mut icon_names = Vec::new();
    for i in 0..spec.ui_default {
        let name = icon_name(i);
        let mut rng = SplitMix64::stream(spec.seed, u64::from(i));
        let (opts, alpha) = default_format(&mut rng);
        let size = default_size(&mut rng);
        let entry = format!("icons/cat_{:02}/{name}.tga", i % 40);
        let p = pl.image(
            &name,
            Place::UiDefault,
            entry.clone(),
            0,
            Look(Format::Tga(opts), size, alpha),
        );
        pl.jobs
            .push((game.join("UI/default").join(&entry), Content::Image(p)));
        icon_names.push(name);
    }
    // A default UI image outside any icons folder: not in the icon set.
    let p = pl.image(
        "ui_banner",
        Place::UiDefault,
        "images/ui_banner.tga".into(),
        0,
        Look(
            Format::Tga(TgaOptions {
                pixels: TgaPixels::Bgr24,
                rle: false,
                top_down: false,
                footer: false,
            }),
            (64, 32),
            Alpha::Opaque,
        ),
    );
    pl.jobs.push((
        game.join("UI/default/images/ui_banner.tga"),
        Content::Image(p),
    ));

    // UI/upscaled/icons: 128x128 DDS, on every 4th default name or on names of their own.
    let up_format = match spec.upscaled {
        Upscaled::Bc7 => DdsPixels::Bc7,
        Upscaled::Dxt5 => DdsPixels::Dxt5,
    };
    let upscaled = if spec.upscaled_shared {
        spec.ui_upscaled.min(n.div_ceil(4))
    } else {
        spec.ui_upscaled
    };
    for k in 0..upscaled {
        let name = if spec.upscaled_shared {
            icon_at(k * 4)
        } else {
            icon_name(spec.ui_default + k)
        };
        let entry = format!("icons/{name}.dds");
        let p = pl.image(
            &name,
            Place::UiUpscaled,
            entry.clone(),
            1,
            Look(Format::Dds(up_format), (128, 128), Alpha::Soft),
        );
        pl.jobs
            .push((game.join("UI/upscaled").join(&entry), Content::Image(p)));
    }

    // Install override: flat TGAs.
    for k in 0..spec.install_override {
        let name = icon_at(k * 7 + 3);
        let entry = format!("{name}.tga");
        let opts = TgaOptions {
            pixels: TgaPixels::Bgra32,
            rle: false,
            top_down: false,
            footer: false,
        };
        let p = pl.image(
            &name,
            Place::InstallOverride,
            entry.clone(),
            2,
            Look(Format::Tga(opts), (64, 64), Alpha::Soft),
        );
        pl.jobs
            .push((game.join("override").join(&entry), Content::Image(p)));
    }

    // User override: TGA, DDS and PNG; every 5th twice (root and a deeper folder: deeper wins).
    for k in 0..spec.user_override {
        let name = icon_at(k * 11 + 5);
        let (format, ext) = match k % 6 {
            0 | 3 => (
                Format::Tga(TgaOptions {
                    pixels: TgaPixels::Bgra32,
                    rle: true,
                    top_down: true,
                    footer: false,
                }),
                "tga",
            ),
            1 => (Format::Dds(DdsPixels::Dxt5), "dds"),
            4 => (Format::Dds(DdsPixels::Bgra8), "dds"),
            5 => (Format::Dds(DdsPixels::Dxt1), "dds"),
            _ => (Format::Png, "png"),
        };
        let entry = format!("{name}.{ext}");
        let p = pl.image(
            &name,
            Place::UserOverride,
            entry.clone(),
            3,
            Look(format, (64, 64), Alpha::Soft),
        );
        pl.jobs
            .push((user.join("override").join(&entry), Content::Image(p)));
        if k % 5 == 0 {
            let deep = format!("mods/deep/{name}.{ext}");
            let p = pl.image(
                &name,
                Place::UserOverride,
                deep.clone(),
                4,
                Look(format, (64, 64), Alpha::Hard),
            );
            pl.jobs
                .push((user.join("override").join(&deep), Content::Image(p)));
        }
    }
    // An override-only image (not in the icon set: served on demand).
    let p = pl.image(
        "custom_only",
        Place::UserOverride,
        "custom_only.tga".into(),
        0,
        Look(
            Format::Tga(TgaOptions {
                pixels: TgaPixels::Bgra32,
                rle: false,
                top_down: false,
                footer: false,
            }),
            (48, 48),
            Alpha::Soft,
        ),
    );
    pl.jobs
        .push((user.join("override/custom_only.tga"), Content::Image(p)));

    // HAKs: consecutive HAKs overlap by half; each also has a few names of its own.
    let mut haks = Vec::new();
    for j in 0..spec.haks {
        let hak = format!("bench_{}", (b'a' + (j % 26) as u8) as char);
        haks.push(hak.clone());
        let place = Place::Hak(j, hak.clone());
        let mut items = Vec::new();
        for k in 0..spec.hak_icons {
            let name = icon_at(j * spec.hak_icons / 2 + k);
            let (format, ext) = if k % 10 == 9 {
                (
                    Format::Tga(TgaOptions {
                        pixels: TgaPixels::Bgra32,
                        rle: false,
                        top_down: false,
                        footer: true,
                    }),
                    "tga",
                )
            } else {
                (
                    Format::Tga(TgaOptions {
                        pixels: TgaPixels::Argb16 {
                            attribute_all_zero: true,
                        },
                        rle: true,
                        top_down: false,
                        footer: false,
                    }),
                    "tga",
                )
            };
            let p = pl.image(
                &name,
                place.clone(),
                format!("{name}.{ext}"),
                10 + u64::from(j),
                Look(format, (64, 64), Alpha::Opaque),
            );
            items.push(ErfItem::Image(name, p));
        }
        for k in 0..3 {
            let name = format!("hak_only_{j}_{k}");
            let p = pl.image(
                &name,
                place.clone(),
                format!("{name}.tga"),
                0,
                Look(
                    Format::Tga(TgaOptions {
                        pixels: TgaPixels::Bgra32,
                        rle: false,
                        top_down: false,
                        footer: false,
                    }),
                    (40, 40),
                    Alpha::Soft,
                ),
            );
            items.push(ErfItem::Image(name, p));
        }
        items.push(ErfItem::Raw(
            format!("{hak}_readme"),
            types::TXT,
            format!("HAK {hak}\n").into_bytes(),
        ));
        let dir = if j < 2 {
            user.join("hak")
        } else {
            game.join("hak")
        };
        pl.jobs.push((
            dir.join(format!("{hak}.hak")),
            Content::Erf(items, ErfOptions::default()),
        ));
    }
    let mut listed = haks.clone();
    if spec.missing_hak {
        listed.push("bench_missing".into());
    }

    // Workshop items: ids 1001, 1002, ...; lower id ranks higher.
    for w in 0..spec.workshop_items {
        let id = 1001 + u64::from(w);
        for k in 0..spec.workshop_icons {
            let name = icon_at(w * spec.workshop_icons / 2 + k * 13 + 1);
            let entry = format!("{name}.tga");
            let opts = TgaOptions {
                pixels: TgaPixels::Bgr24,
                rle: true,
                top_down: false,
                footer: false,
            };
            let p = pl.image(
                &name,
                Place::Workshop(id),
                entry.clone(),
                20 + id,
                Look(Format::Tga(opts), (64, 64), Alpha::Opaque),
            );
            pl.jobs.push((
                workshop_root
                    .join(id.to_string())
                    .join("override")
                    .join(&entry),
                Content::Image(p),
            ));
        }
    }

    // Campaign: 60% icons (a third of them in a sub-folder), the rest other files.
    let campaign = "bench_campaign".to_string();
    let campaign_dir = user.join("campaigns").join(&campaign);
    let campaign_icons = spec.campaign_files * 6 / 10;
    let mut campaign_names = Vec::new();
    for k in 0..campaign_icons {
        let name = icon_at(k * 17 + 2);
        let entry = if k % 3 == 0 {
            format!("chapter1/{name}.tga")
        } else {
            format!("{name}.tga")
        };
        let opts = TgaOptions {
            pixels: TgaPixels::Bgra32,
            rle: false,
            top_down: false,
            footer: false,
        };
        let p = pl.image(
            &name,
            Place::Campaign(campaign.clone()),
            entry.clone(),
            30,
            Look(Format::Tga(opts), (32, 32), Alpha::Soft),
        );
        pl.jobs.push((campaign_dir.join(&entry), Content::Image(p)));
        campaign_names.push(name);
    }
    for k in campaign_icons..spec.campaign_files {
        pl.jobs.push((
            campaign_dir.join(format!("table_{k}.2da")),
            Content::Bytes(format!("2DA V2.0\n\n   Label\n0  row{k}\n").into_bytes()),
        ));
    }

    // Module: module.ifo with the HAK list, DDS icons shadowed by the campaign's TGAs, misc files.
    let module_file = "bench.mod".to_string();
    let module_place = Place::Module(module_file.clone());
    let mut items = vec![ErfItem::Raw(
        "module".into(),
        types::IFO,
        gff::module_ifo(&[
            IfoField::Text("Mod_Tag", "bench".into()),
            IfoField::ResRef("Mod_Entry_Area", "area001".into()),
            IfoField::HakList(listed.clone()),
        ]),
    )];
    items.push(ErfItem::Raw("area001".into(), types::ARE, vec![0; 64]));
    items.push(ErfItem::Raw("script1".into(), types::NSS, Vec::new()));
    for name in campaign_names.iter().take(5) {
        let p = pl.image(
            name,
            module_place.clone(),
            format!("{name}.dds"),
            40,
            Look(Format::Dds(DdsPixels::Dxt1), (32, 32), Alpha::Opaque),
        );
        items.push(ErfItem::Image(name.clone(), p));
    }
    pl.jobs.push((
        user.join("modules").join(&module_file),
        Content::Erf(
            items,
            ErfOptions {
                file_type: *b"MOD ",
                ..ErfOptions::default()
            },
        ),
    ));

    // Data zips, ranked as discover orders them: patch, x2, x1, base (by name).
    let mut base_2da = Vec::new();
    for k in 0..20 {
        base_2da.push((
            format!("2da/table{k:02}.2da"),
            ZipItem::Raw(format!("2DA V2.0\n\n   Label\n0  base{k}\n").into_bytes()),
        ));
    }
    let x1: Vec<(String, ZipItem)> = (0..5)
        .map(|k| {
            (
                format!("2da/table{k:02}.2da"),
                ZipItem::Raw(format!("2DA V2.0\n\n   Label\n0  x1_{k}\n").into_bytes()),
            )
        })
        .collect();
    let x2: Vec<(String, ZipItem)> = (0..5)
        .map(|k| {
            (
                format!("2da/table{k:02}.2da"),
                ZipItem::Raw(format!("2DA V2.0\n\n   Label\n0  x2_{k}\n").into_bytes()),
            )
        })
        .collect();
    let templates: Vec<(String, ZipItem)> = (0..30)
        .map(|k| {
            (
                format!("templates/item{k:03}.uti"),
                ZipItem::Raw(vec![k as u8; 40]),
            )
        })
        .collect();
    let ranks = [
        "nwn2_materials_v121.zip",
        "2da_x2.zip",
        "2da_x1.zip",
        "2da.zip",
        "nwn2_materials.zip",
        "templates.zip",
    ];
    let rank = |f: &str| ranks.iter().position(|r| *r == f).unwrap_or(99) as u32;
    let mut materials = Vec::new();
    let mut patch = Vec::new();
    for k in 0..spec.material_textures {
        let name = format!("mat_{k:04}");
        let fmt = if k % 2 == 0 {
            DdsPixels::Dxt1
        } else {
            DdsPixels::Dxt5
        };
        let entry = format!("materials/set{}/{name}.dds", k % 5);
        let p = pl.image(
            &name,
            Place::Data(rank("nwn2_materials.zip"), "nwn2_materials.zip".into()),
            entry.clone(),
            50,
            Look(Format::Dds(fmt), (256, 256), Alpha::Opaque),
        );
        materials.push((entry.clone(), ZipItem::Image(p)));
        if k % 3 == 0 {
            let p = pl.image(
                &name,
                Place::Data(
                    rank("nwn2_materials_v121.zip"),
                    "nwn2_materials_v121.zip".into(),
                ),
                entry.clone(),
                51,
                Look(Format::Dds(fmt), (256, 256), Alpha::Opaque),
            );
            patch.push((entry, ZipItem::Image(p)));
        }
    }
    materials.push(("materials/".into(), ZipItem::Raw(Vec::new())));
    let data = game.join("Data");
    for (file, items) in [
        ("2da.zip", base_2da),
        ("2da_x1.zip", x1),
        ("2da_x2.zip", x2),
        ("templates.zip", templates),
        ("nwn2_materials.zip", materials),
        ("nwn2_materials_v121.zip", patch),
    ] {
        pl.jobs.push((data.join(file), Content::Zip(items)));
    }
    // Other fixed folders.
    fs::create_dir_all(game.join("modules"))
        .map_err(|e| Error::io("mkdir", game.join("modules"), e))?;
    fs::create_dir_all(game.join("Campaigns"))
        .map_err(|e| Error::io("mkdir", game.join("Campaigns"), e))?;

    // Write everything in parallel.
    let written: Vec<Result<u64, Error>> = pl
        .jobs
        .par_iter()
        .map(|(path, content)| {
            let bytes = render(content)?;
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
            }
            fs::write(path, &bytes).map_err(|e| Error::io("write", path, e))?;
            Ok(bytes.len() as u64)
        })
        .collect();
    let mut total = 0;
    for w in written {
        total += w?;
    }

    // Expected winners.
    let mut placements = pl.placements;
    for list in placements.values_mut() {
        list.sort_by_key(precedence_key);
    }
    let mut icons = BTreeMap::new();
    let mut other_images = BTreeMap::new();
    for (name, list) in &placements {
        let Some(winner) = list.first() else { continue };
        let in_set = list.iter().any(|p| {
            matches!(p.place, Place::UiDefault | Place::UiUpscaled) && p.entry.starts_with("icons/")
        });
        if in_set {
            icons.insert(name.clone(), winner.clone());
        } else {
            other_images.insert(name.clone(), winner.clone());
        }
    }
    let manifest = Manifest {
        game_dir: game,
        user_dir: user,
        workshop_root,
        module: "bench".into(),
        campaign,
        haks: listed,
        icons,
        other_images,
        placements,
        files: pl.jobs.len() as u64,
        bytes: total,
    };
    write_manifest(root, &manifest)?;
    Ok(manifest)
}

fn encode_image(p: &Placed) -> Result<Vec<u8>, Error> {
    let picture = p.picture();
    Ok(match p.format {
        Format::Tga(o) => tga::write(&picture, o),
        Format::Dds(pixels) => dds::write(&picture, pixels, true),
        Format::Png => png_bytes(&picture)?,
    })
}

/// Encodes a picture as an RGBA8 PNG.
pub fn png_bytes(p: &Picture) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::InvalidArgument(format!("PNG encoding: {e}"));
    let mut encoder = png::Encoder::new(&mut out, p.width, p.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&p.rgba).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

fn render(content: &Content) -> Result<Vec<u8>, Error> {
    match content {
        Content::Bytes(b) => Ok(b.clone()),
        Content::Image(p) => encode_image(p),
        Content::Erf(items, options) => {
            let mut resources = Vec::with_capacity(items.len());
            for item in items {
                resources.push(match item {
                    ErfItem::Image(name, p) => ErfResource {
                        name: name.clone().into_bytes(),
                        res_type: p.res_type,
                        data: encode_image(p)?,
                    },
                    ErfItem::Raw(name, t, data) => ErfResource {
                        name: name.clone().into_bytes(),
                        res_type: *t,
                        data: data.clone(),
                    },
                });
            }
            Ok(erf::write(&resources, options))
        }
        Content::Zip(items) => {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let fail =
                |e: zip::result::ZipError| Error::InvalidArgument(format!("ZIP writing: {e}"));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(6))
                .last_modified_time(zip::DateTime::default());
            for (name, item) in items {
                if name.ends_with('/') {
                    zip.add_directory(name.as_str(), options).map_err(fail)?;
                    continue;
                }
                zip.start_file(name.as_str(), options).map_err(fail)?;
                let bytes = match item {
                    ZipItem::Image(p) => encode_image(p)?,
                    ZipItem::Raw(b) => b.clone(),
                };
                zip.write_all(&bytes)
                    .map_err(|e| Error::io("write", name, e))?;
            }
            Ok(zip.finish().map_err(fail)?.into_inner())
        }
    }
}

fn write_manifest(root: &Path, m: &Manifest) -> Result<(), Error> {
    let placed = |p: &Placed| {
        serde_json::json!({
            "source": p.place.label(),
            "entry": p.entry,
            "type": p.res_type,
            "width": p.width,
            "height": p.height,
        })
    };
    let json = serde_json::json!({
        "gameDir": m.game_dir,
        "userDir": m.user_dir,
        "workshopRoot": m.workshop_root,
        "module": m.module,
        "campaign": m.campaign,
        "haks": m.haks,
        "files": m.files,
        "bytes": m.bytes,
        "icons": m.icons.iter().map(|(k, v)| (k.clone(), placed(v))).collect::<serde_json::Map<_, _>>(),
        "otherImages": m.other_images.iter().map(|(k, v)| (k.clone(), placed(v))).collect::<serde_json::Map<_, _>>(),
    });
    let path = root.join("manifest.json");
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| Error::InvalidArgument(format!("manifest: {e}")))?;
    fs::write(&path, text).map_err(|e| Error::io("write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (relative path, length, FNV-1a of the bytes) of every file but the manifest (which names
    /// the absolute root).
    fn files(root: &Path) -> Vec<(PathBuf, usize, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n != "manifest.json") {
                    let bytes = fs::read(&p).unwrap();
                    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    });
                    out.push((
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        bytes.len(),
                        hash,
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn small_install_is_reproducible_and_complete() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let spec = InstallSpec::small(3);
        let ma = generate(&a.path().join("x"), &spec).unwrap();
        let mb = generate(&b.path().join("x"), &spec).unwrap();
        assert_eq!(
            files(&a.path().join("x")),
            files(&b.path().join("x")),
            "same seed, same bytes"
        );
        assert_eq!((ma.files, ma.bytes), (mb.files, mb.bytes));
        assert_eq!(ma.icons.len(), spec.ui_default as usize);
        assert!(ma.game_dir.join("Data/nwn2_materials_v121.zip").is_file());
        assert!(ma.user_dir.join("hak/bench_a.hak").is_file());
        assert!(ma.game_dir.join("hak/bench_c.hak").is_file());
        assert!(ma.user_dir.join("modules/bench.mod").is_file());
        assert_eq!(ma.haks, ["bench_a", "bench_b", "bench_c", "bench_missing"]);
        assert!(a.path().join("x/manifest.json").is_file());
        // Every kind of winner occurs.
        let winners: std::collections::BTreeSet<String> = ma
            .icons
            .values()
            .map(|p| p.place.label().split('/').next().unwrap_or("").to_string())
            .collect();
        for kind in [
            "hak",
            "override (user)",
            "workshop",
            "override (install)",
            "campaign",
            "ui",
        ] {
            assert!(winners.contains(kind), "{kind} never wins: {winners:?}");
        }
        // Winners follow the rule: HAK order, then deeper paths inside a folder.
        for (name, list) in &ma.placements {
            let w = &list[0];
            assert!(list.iter().all(|p| p.place >= w.place), "{name}");
        }
        let other = generate(&a.path().join("y"), &InstallSpec::small(4)).unwrap();
        assert_ne!(other.bytes, ma.bytes);
        assert!(
            generate(&a.path().join("x"), &spec).is_err(),
            "refuses a non-empty folder"
        );
    }

    #[test]
    fn bench_spec_is_about_twenty_thousand_icons() {
        let s = InstallSpec::bench(1);
        assert_eq!(s.ui_default + s.ui_upscaled, 20_000);
        assert!(!s.upscaled_shared, "twenty thousand distinct icon names");
        assert_eq!(
            (s.haks, s.hak_icons, s.workshop_items, s.workshop_icons),
            (3, 500, 2, 100)
        );
    }
}
