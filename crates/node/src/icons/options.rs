//! Options of `IconCache.open` and `contactSheet` as JavaScript gives them, converted to the
//! crate's options (docs/icons.md, "Node API").

use std::path::PathBuf;
use std::sync::Arc;

use modforge_icons as icons;
use napi::Status;
use napi::bindgen_prelude::Either;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use super::convert::{DiscoverOptions, SourceSpec, res_type, resolve_sources};
use crate::runtime::NodeError;

/// The resampling filter used when an icon is shrunk to `maxSize`.
#[napi(string_enum = "lowercase")]
pub enum Resampler {
    /// Lanczos3 on premultiplied alpha (default).
    Lanczos3,
    /// Catmull-Rom.
    Catmullrom,
    /// Box.
    Box,
}

/// When the cache checks itself against its sources.
#[napi(string_enum = "lowercase")]
pub enum Validate {
    /// After `open` resolves, on a background thread; entries are checked on first serve meanwhile (default).
    Background,
    /// Before `open` resolves.
    Blocking,
    /// Never (the file is trusted; entries are still checked on first serve).
    None,
}

/// The file format of a contact sheet.
#[napi(string_enum = "lowercase")]
pub enum SheetFormat {
    /// PNG (default).
    Png,
    /// Lossless WebP.
    Webp,
}

/// The install and user folders `IconCache.open` discovers its sources in.
#[napi(object)]
pub struct DiscoverSpec {
    /// The install folder.
    pub game_dir: String,
    /// The user folder (`Documents/Neverwinter Nights 2`).
    pub user_dir: String,
    /// Module name or path.
    pub module: Option<String>,
    /// Campaign name or path.
    pub campaign: Option<String>,
    /// Steam Workshop content roots.
    pub workshop_dirs: Option<Vec<String>>,
}

/// What an update replaced (`onUpdate` argument).
#[napi(object, object_from_js = false)]
pub struct UpdateEvent {
    /// Icons whose bytes changed.
    pub changed: Vec<String>,
    /// Icons gone.
    pub removed: Vec<String>,
    /// Icons new.
    pub added: Vec<String>,
    /// The generation now served.
    pub generation: f64,
}

/// The `onUpdate` listener: a weak callback (an open cache does not keep the process alive).
pub type UpdateCallback = ThreadsafeFunction<UpdateEvent, (), UpdateEvent, Status, false, true, 0>;

/// Native options of `IconCache.open` (the TypeScript layer fills in `cacheDir`'s default).
#[napi(object)]
pub struct IconCacheOptions {
    /// The sources, highest priority first (or `discover`).
    pub sources: Option<Vec<SourceSpec>>,
    /// Discover the default NWN2 sources of an install (or `sources`).
    pub discover: Option<DiscoverSpec>,
    /// The cache folder; `null` keeps the cache in memory only.
    pub cache_dir: Option<String>,
    /// Fit icons inside `maxSize x maxSize` (0 or absent: keep the size).
    pub max_size: Option<u32>,
    /// Resampler for `maxSize` (default `lanczos3`).
    pub resampler: Option<Resampler>,
    /// Image types in order of preference inside one source, by extension or id (default dds, tga, png).
    #[napi(ts_type = "(string | number)[]")]
    pub type_preference: Option<Vec<Either<String, u32>>>,
    /// Folder names whose images are icons in `'iconDirs'` sources (default `['icons']`).
    pub icon_dirs: Option<Vec<String>>,
    /// Names added to the icon set.
    pub extra_icons: Option<Vec<String>>,
    /// Keep the colour of fully transparent pixels (default: set to 0, smaller files).
    pub exact_transparent: Option<bool>,
    /// When to validate (default `background`).
    pub validate: Option<Validate>,
    /// Worker threads for builds (default: all cores).
    pub threads: Option<u32>,
}

impl IconCacheOptions {
    /// The crate's options, with `on_update` forwarding to JavaScript.
    pub fn resolve(
        self,
        on_update: Option<UpdateCallback>,
    ) -> Result<icons::IconCacheOptions, NodeError> {
        let sources = match (self.sources, self.discover) {
            (Some(list), None) => icons::Sources::List(resolve_sources(list)?),
            (None, Some(d)) => icons::Sources::Discover {
                game_dir: PathBuf::from(d.game_dir),
                user_dir: PathBuf::from(d.user_dir),
                options: DiscoverOptions {
                    module: d.module,
                    campaign: d.campaign,
                    workshop_dirs: d.workshop_dirs,
                }
                .resolve(),
            },
            _ => {
                return Err(NodeError::InvalidArg(
                    "IconCache.open(): give exactly one of options.sources and options.discover"
                        .to_owned(),
                ));
            }
        };
        let mut options = icons::IconCacheOptions::new(sources);
        options.cache_dir = self.cache_dir.map(PathBuf::from);
        options.encode.max_size = self.max_size.filter(|&size| size > 0);
        options.encode.resampler = match self.resampler {
            None | Some(Resampler::Lanczos3) => icons::Resampler::Lanczos3,
            Some(Resampler::Catmullrom) => icons::Resampler::CatmullRom,
            Some(Resampler::Box) => icons::Resampler::Box,
        };
        options.encode.exact_transparent = self.exact_transparent.unwrap_or(false);
        if let Some(preference) = self.type_preference {
            options.type_preference = preference
                .into_iter()
                .map(res_type)
                .collect::<Result<_, _>>()?;
        }
        if let Some(dirs) = self.icon_dirs {
            options.icon_dirs = dirs;
        }
        options.extra_icons = self.extra_icons.unwrap_or_default();
        options.validate = match self.validate {
            // Started by `IconCache` once the opening call's synchronous work is done
            // (`iconCacheStartValidation`), so a warm open does not wait for a thread to start.
            None | Some(Validate::Background) => icons::Validate::Deferred,
            Some(Validate::Blocking) => icons::Validate::Blocking,
            Some(Validate::None) => icons::Validate::None,
        };
        options.threads = self.threads.map(|t| t as usize);
        options.on_update = on_update.map(|callback| {
            let callback = Arc::new(callback);
            Arc::new(move |event: &icons::UpdateEvent| {
                // A closing environment drops the event: nobody is left to tell.
                let _ = callback.call(
                    UpdateEvent {
                        changed: event.changed.clone(),
                        removed: event.removed.clone(),
                        added: event.added.clone(),
                        generation: event.generation as f64,
                    },
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }) as icons::UpdateFn
        });
        Ok(options)
    }
}

/// Options of `contactSheet`.
#[napi(object)]
pub struct SheetOptions {
    /// Icons in this order (default: every cached icon by name).
    pub names: Option<Vec<String>>,
    /// At most this many icons.
    pub limit: Option<u32>,
    /// Columns (default `ceil(sqrt(n))`).
    pub columns: Option<u32>,
    /// Cell size in pixels (default `maxSize`, else 64).
    pub cell: Option<u32>,
    /// Space around cells in pixels (default 2).
    pub padding: Option<u32>,
    /// `'checker'` (default) or a CSS hex colour `#rrggbb`.
    pub background: Option<String>,
    /// `png` (default) or `webp`.
    pub format: Option<SheetFormat>,
}

impl SheetOptions {
    /// The crate's options.
    pub fn resolve(self) -> Result<icons::SheetOptions, NodeError> {
        let background = match self.background.as_deref() {
            None | Some("checker") => icons::Background::Checker,
            Some(colour) => icons::Background::Color(parse_colour(colour)?),
        };
        Ok(icons::SheetOptions {
            names: self.names,
            limit: self.limit.map(|l| l as usize),
            columns: self.columns.filter(|&c| c > 0),
            cell: self.cell.filter(|&c| c > 0),
            padding: self.padding.unwrap_or(2),
            background,
            format: match self.format {
                None | Some(SheetFormat::Png) => icons::SheetFormat::Png,
                Some(SheetFormat::Webp) => icons::SheetFormat::WebP,
            },
        })
    }
}

/// `#rrggbb` as opaque RGBA.
fn parse_colour(text: &str) -> Result<[u8; 4], NodeError> {
    let bad = || {
        NodeError::InvalidArg(format!(
            "contactSheet(): background must be 'checker' or '#rrggbb', got {text:?}"
        ))
    };
    let hex = text
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .ok_or_else(bad)?;
    let channel = |at: usize| {
        hex.get(at..at + 2)
            .and_then(|c| u8::from_str_radix(c, 16).ok())
            .ok_or_else(bad)
    };
    Ok([channel(0)?, channel(2)?, channel(4)?, 255])
}
