//! Decoded pixels of generated files against independent decoders: the `image` crate for
//! 8/24/32-bit TGA and PNG, the `dds` crate for BC1/BC3/BC7 and BGRA8, and the generator's own
//! expectation for 16-bit TGA (which `image` 0.25.9 refuses). Property tests draw random
//! pictures, sizes and layouts.

mod common;

use modforge_gen::nwn2::dds::{self as gdds, DdsPixels};
use modforge_gen::nwn2::image::{Alpha, Picture, icon};
use modforge_gen::nwn2::tga::{self, TgaOptions, TgaPixels};
use modforge_icons::ResType;
use modforge_icons::decode::decode;
use proptest::prelude::*;

fn image_oracle(bytes: &[u8], format: image::ImageFormat) -> Vec<u8> {
    image::load_from_memory_with_format(bytes, format)
        .unwrap()
        .to_rgba8()
        .into_raw()
}

fn dds_oracle(bytes: &[u8]) -> Vec<u8> {
    let mut decoder = dds::Decoder::new(std::io::Cursor::new(bytes)).unwrap();
    let size = decoder.main_size();
    let mut data = vec![0u8; size.pixels() as usize * 4];
    let view = dds::ImageViewMut::new(&mut data, size, dds::ColorFormat::RGBA_U8).unwrap();
    decoder.read_surface(view).unwrap();
    data
}

const EIGHT_24_32: [TgaPixels; 4] = [
    TgaPixels::Bgra32,
    TgaPixels::Bgr24,
    TgaPixels::Grey8,
    TgaPixels::Mapped8,
];

fn tga_options(pixels: TgaPixels, bits: u8) -> TgaOptions {
    TgaOptions {
        pixels,
        rle: bits & 1 != 0,
        top_down: bits & 2 != 0,
        footer: bits & 4 != 0,
    }
}

#[test]
fn every_tga_layout_of_the_generator() {
    let sizes = [(32, 32), (40, 40), (64, 64), (78, 71), (1, 1), (3, 130)];
    for (k, &(w, h)) in sizes.iter().enumerate() {
        let picture = icon(k as u64, w, h, Alpha::Soft);
        for pixels in EIGHT_24_32 {
            for bits in 0..8 {
                let o = tga_options(pixels, bits);
                let bytes = tga::write(&picture, o);
                let ours = decode(&bytes, ResType::TGA, "g.tga").unwrap();
                assert_eq!(
                    ours.pixels,
                    image_oracle(&bytes, image::ImageFormat::Tga),
                    "{o:?} {w}x{h}"
                );
                assert_eq!(ours.pixels, tga::expected(&picture, pixels).rgba, "{o:?}");
            }
        }
        for all_zero in [true, false] {
            for bits in 0..8 {
                let o = tga_options(
                    TgaPixels::Argb16 {
                        attribute_all_zero: all_zero,
                    },
                    bits,
                );
                let bytes = tga::write(&picture, o);
                let ours = decode(&bytes, ResType::TGA, "g16.tga").unwrap();
                assert_eq!(ours.pixels, tga::expected(&picture, o.pixels).rgba, "{o:?}");
            }
        }
    }
}

#[test]
fn png_matches_the_image_crate() {
    for (k, alpha) in [Alpha::Soft, Alpha::Opaque, Alpha::Hard]
        .into_iter()
        .enumerate()
    {
        let picture = icon(k as u64 + 40, 33, 17, alpha);
        let bytes = modforge_gen::nwn2::png_bytes(&picture).unwrap();
        let ours = decode(&bytes, ResType::PNG, "p.png").unwrap();
        assert_eq!(ours.pixels, picture.rgba);
        assert_eq!(ours.pixels, image_oracle(&bytes, image::ImageFormat::Png));
    }
    // Grey, grey+alpha, palette with transparency and 16-bit samples through `image`'s encoder.
    let rgba = icon(9, 20, 12, Alpha::Soft);
    let img = image::RgbaImage::from_raw(20, 12, rgba.rgba.clone()).unwrap();
    for variant in [
        image::DynamicImage::ImageRgba8(img.clone())
            .to_luma8()
            .into(),
        image::DynamicImage::ImageRgba8(img.clone())
            .to_luma_alpha8()
            .into(),
        image::DynamicImage::ImageRgba8(img.clone())
            .to_rgb16()
            .into(),
        image::DynamicImage::ImageRgba8(img),
    ] {
        let variant: image::DynamicImage = variant;
        let mut bytes = Vec::new();
        variant
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        let ours = decode(&bytes, ResType::PNG, "v.png").unwrap();
        assert_eq!(ours.pixels, image_oracle(&bytes, image::ImageFormat::Png));
    }
}

#[test]
fn generated_dds_match_the_dds_crate() {
    for (k, &(w, h)) in [(128, 128), (64, 64), (5, 3), (78, 71), (1, 1), (256, 4)]
        .iter()
        .enumerate()
    {
        let picture = icon(k as u64 + 70, w, h, Alpha::Soft);
        for (pixels, tol) in [
            (DdsPixels::Dxt1, 1),
            (DdsPixels::Dxt5, 1),
            (DdsPixels::Bc7, 0),
            (DdsPixels::Bgra8, 0),
        ] {
            for mips in [false, true] {
                let bytes = gdds::write(&picture, pixels, mips);
                let ours = decode(&bytes, ResType::DDS, "g.dds").unwrap();
                assert_eq!((ours.width, ours.height), (w, h));
                let oracle = dds_oracle(&bytes);
                for (a, b) in ours.pixels.chunks_exact(4).zip(oracle.chunks_exact(4)) {
                    common::close(
                        [a[0], a[1], a[2], a[3]],
                        [b[0], b[1], b[2], b[3]],
                        tol,
                        &format!("{pixels:?} {w}x{h}"),
                    );
                }
                if pixels == DdsPixels::Bgra8 {
                    assert_eq!(ours.pixels, picture.rgba);
                }
            }
        }
    }
}

fn picture_strategy() -> impl Strategy<Value = Picture> {
    (1u32..40, 1u32..40).prop_flat_map(|(w, h)| {
        proptest::collection::vec(any::<u8>(), (w * h * 4) as usize).prop_map(move |mut rgba| {
            // Runs of equal pixels so RLE packets of both kinds occur.
            for i in (4..rgba.len()).step_by(12) {
                let (a, b) = rgba.split_at_mut(i);
                b[..4].copy_from_slice(&a[i - 4..i]);
            }
            Picture {
                width: w,
                height: h,
                rgba,
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn tga_round_trips(picture in picture_strategy(), kind in 0usize..6, bits in 0u8..8) {
        let pixels = match kind {
            0 => TgaPixels::Bgra32,
            1 => TgaPixels::Bgr24,
            2 => TgaPixels::Grey8,
            3 => TgaPixels::Mapped8,
            4 => TgaPixels::Argb16 { attribute_all_zero: true },
            _ => TgaPixels::Argb16 { attribute_all_zero: false },
        };
        let bytes = tga::write(&picture, tga_options(pixels, bits));
        let ours = decode(&bytes, ResType::TGA, "p.tga").unwrap();
        prop_assert_eq!(&ours.pixels, &tga::expected(&picture, pixels).rgba);
        if kind < 4 && !(kind == 0 && picture.rgba.chunks_exact(4).all(|p| p[3] == 0)) {
            prop_assert_eq!(ours.pixels, image_oracle(&bytes, image::ImageFormat::Tga));
        }
    }

    #[test]
    fn dds_blocks_agree_with_the_oracle(picture in picture_strategy(), kind in 0usize..4) {
        let pixels = [DdsPixels::Dxt1, DdsPixels::Dxt5, DdsPixels::Bc7, DdsPixels::Bgra8][kind];
        let bytes = gdds::write(&picture, pixels, false);
        let ours = decode(&bytes, ResType::DDS, "p.dds").unwrap();
        let oracle = dds_oracle(&bytes);
        let tol = if matches!(pixels, DdsPixels::Dxt1 | DdsPixels::Dxt5) { 1 } else { 0 };
        for (a, b) in ours.pixels.chunks_exact(4).zip(oracle.chunks_exact(4)) {
            for c in 0..4 {
                prop_assert!(a[c].abs_diff(b[c]) <= tol, "{:?} {:?} vs {:?}", pixels, a, b);
            }
        }
    }
}
