//! `generateInstall`: the seeded synthetic NWN2 install of modforge-gen with the expected
//! winner of every icon (docs/icons.md, "Generated install").

use std::path::PathBuf;

use modforge_gen::nwn2;
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use crate::runtime::convert::integer_option;
use crate::runtime::{Call, CancelFlag, NodeError, promise, sync};
use crate::store::display;

/// The size of a generated install.
#[napi(string_enum = "lowercase")]
pub enum InstallPreset {
    /// About 350 icons with every precedence case and a missing HAK (the default).
    Small,
    /// The benchmark install: about 20,000 icons.
    Bench,
}

/// The format of the generated `UI/upscaled` icons.
#[napi(string_enum = "lowercase")]
pub enum UpscaledFormat {
    /// DX10 header with BC7 blocks, as NWN2 EE ships them (default).
    Bc7,
    /// Legacy DXT5.
    Dxt5,
}

/// Options of `generateInstall`.
#[napi(object)]
pub struct InstallOptions {
    /// The size; default `small`.
    pub preset: Option<InstallPreset>,
    /// Seed of every random choice (default 1).
    pub seed: Option<f64>,
    /// Format of the upscaled icons; default `bc7`.
    pub upscaled: Option<UpscaledFormat>,
}

/// The expected winner of one generated image.
#[napi(object, object_from_js = false)]
pub struct ExpectedIcon {
    /// The resref.
    pub name: String,
    /// The label of the source that must win (as `discover` labels it).
    pub source: String,
    /// The winning file or entry inside that source.
    pub entry: String,
    /// Its type id (3 tga, 2033 dds, 2110 png).
    #[napi(js_name = "type")]
    pub res_type: u32,
    /// Width of the stored image.
    pub width: u32,
    /// Height of the stored image.
    pub height: u32,
    /// How many places store this name.
    pub places: u32,
}

/// What `generateInstall` wrote.
#[napi(object, object_from_js = false)]
pub struct GeneratedInstall {
    /// The install folder (`gameDir` of `discover`).
    pub game_dir: String,
    /// The user folder (`userDir`).
    pub user_dir: String,
    /// The Workshop content root (for `workshopDirs`).
    pub workshop_root: String,
    /// The module name.
    pub module: String,
    /// The campaign name.
    pub campaign: String,
    /// `Mod_HakList` in order (a missing one included when the preset asks for it).
    pub haks: Vec<String>,
    /// The icon set (images under `UI/*/icons`) with the expected winners, by name.
    pub icons: Vec<ExpectedIcon>,
    /// Images outside the icon set (encoded on demand) with their expected winners.
    pub other_images: Vec<ExpectedIcon>,
    /// Files written.
    pub files: f64,
    /// Bytes written.
    pub bytes: f64,
}

fn expected(
    manifest: &nwn2::Manifest,
    list: &std::collections::BTreeMap<String, nwn2::Placed>,
) -> Vec<ExpectedIcon> {
    list.iter()
        .map(|(name, placed)| ExpectedIcon {
            name: name.clone(),
            source: placed.place.label(),
            entry: placed.entry.clone(),
            res_type: u32::from(placed.res_type),
            width: placed.width,
            height: placed.height,
            places: manifest
                .placements
                .get(name)
                .map_or(1, |all| u32::try_from(all.len()).unwrap_or(u32::MAX)),
        })
        .collect()
}

fn generate(root: &str, options: Option<InstallOptions>) -> Result<GeneratedInstall, NodeError> {
    let options = options.unwrap_or(InstallOptions {
        preset: None,
        seed: None,
        upscaled: None,
    });
    let seed = integer_option("seed", options.seed, 0, u32::MAX as u64)?.unwrap_or(1);
    let mut spec = match options.preset {
        None | Some(InstallPreset::Small) => nwn2::InstallSpec::small(seed),
        Some(InstallPreset::Bench) => nwn2::InstallSpec::bench(seed),
    };
    if let Some(UpscaledFormat::Dxt5) = options.upscaled {
        spec.upscaled = nwn2::Upscaled::Dxt5;
    }
    let manifest = nwn2::generate(&PathBuf::from(root), &spec)?;
    Ok(GeneratedInstall {
        game_dir: display(&manifest.game_dir),
        user_dir: display(&manifest.user_dir),
        workshop_root: display(&manifest.workshop_root),
        module: manifest.module.clone(),
        campaign: manifest.campaign.clone(),
        haks: manifest.haks.clone(),
        icons: expected(&manifest, &manifest.icons),
        other_images: expected(&manifest, &manifest.other_images),
        files: manifest.files as f64,
        bytes: manifest.bytes as f64,
    })
}

/// Writes a synthetic NWN2 install (Data zips, UI icons in every TGA/DDS variant, overrides,
/// V1.1 HAKs, a module listing them, a campaign, Workshop items) under `root`, off the main thread.
#[napi(ts_return_type = "Promise<GeneratedInstall>")]
pub fn generate_install<'env>(
    env: &'env Env,
    root: String,
    options: Option<InstallOptions>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, GeneratedInstall>> {
    promise(
        env,
        "generate",
        Call::new(cancel, None),
        move |control| {
            control.check()?;
            generate(&root, options)
        },
        |_env, generated| Ok(generated),
    )
}

/// [`generate_install`] on the calling thread.
#[napi]
pub fn generate_install_sync(
    env: &Env,
    root: String,
    options: Option<InstallOptions>,
) -> napi::Result<GeneratedInstall> {
    sync(env, |_control| generate(&root, options))
}
