//! QR codes of otpauth:// URIs: drawn in a terminal with Unicode half blocks, or
//! written as a PNG or SVG image. All include the four-module quiet zone that
//! scanners need.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::invalid;

/// Modules of quiet zone around the symbol.
const QUIET: usize = 4;
/// Pixels per module in a PNG.
const PNG_SCALE: usize = 8;

fn encode(data: &str) -> Result<QrCode> {
    encode_at(data, EcLevel::M)
}

fn encode_at(data: &str, level: EcLevel) -> Result<QrCode> {
    QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| invalid(format!("the URI does not fit in a QR code: {e}")))
}

/// A terminal drawing, or why there is none.
#[derive(Debug)]
pub enum Drawing {
    /// The drawing, one line per two rows of modules.
    Drawn(String),
    /// The smallest drawing needs this many columns, more than the terminal has.
    TooWide { needs: usize },
}

/// Draws the code for a terminal of `columns` columns (None: unknown, draw anyway),
/// quiet zone included, two modules per character cell. Error correction M is
/// preferred; when that is too wide, the smaller symbol of level L. Light modules are
/// drawn as blocks and dark ones left blank. With `color`, every line is painted
/// white on black, so the code reads right on any terminal theme; without it, it
/// reads right on the usual light-on-dark terminal.
pub fn terminal(data: &str, color: bool, columns: Option<usize>) -> Result<Drawing> {
    let mut needs = usize::MAX;
    for level in [EcLevel::M, EcLevel::L] {
        let code = encode_at(data, level)?;
        let width = code.width() + 2 * QUIET;
        if columns.is_none_or(|c| width <= c) {
            return Ok(Drawing::Drawn(draw(&modules(&code), color)));
        }
        needs = needs.min(width);
    }
    Ok(Drawing::TooWide { needs })
}

/// The code as rows of booleans (true = dark), quiet zone included.
fn modules(code: &QrCode) -> Vec<Vec<bool>> {
    let w = code.width();
    let colors = code.to_colors();
    let size = w + 2 * QUIET;
    let mut rows = vec![vec![false; size]; size];
    for y in 0..w {
        for x in 0..w {
            rows[y + QUIET][x + QUIET] = colors[y * w + x] == Color::Dark;
        }
    }
    rows
}

fn draw(rows: &[Vec<bool>], color: bool) -> String {
    let mut out = String::new();
    for pair in rows.chunks(2) {
        if color {
            out.push_str("\x1b[97;40m");
        }
        let top = &pair[0];
        let bottom = pair.get(1);
        for x in 0..top.len() {
            let t = !top[x];
            let b = bottom.is_none_or(|r| !r[x]);
            out.push(match (t, b) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        if color {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

/// The image formats `--qr-file` writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    pub fn for_path(path: &Path) -> Result<ImageFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(invalid(format!(
                "--qr-file {} must end in .png or .svg",
                path.display()
            ))),
        }
    }
}

/// Renders the code as an image file's bytes.
pub fn image(data: &str, format: ImageFormat) -> Result<Vec<u8>> {
    let code = encode(data)?;
    match format {
        ImageFormat::Svg => Ok(code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build()
            .into_bytes()),
        ImageFormat::Png => png(&modules(&code)),
    }
}

fn png(rows: &[Vec<bool>]) -> Result<Vec<u8>> {
    let size = rows.len() * PNG_SCALE;
    let mut pixels = Vec::with_capacity(size * size);
    for row in rows {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&dark| std::iter::repeat_n(if dark { 0 } else { 255 }, PNG_SCALE))
            .collect();
        for _ in 0..PNG_SCALE {
            pixels.extend_from_slice(&line);
        }
    }
    let mut bytes = Vec::new();
    let side = u32::try_from(size).context("QR code too large")?;
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("encoding the PNG failed")?;
    writer
        .write_image_data(&pixels)
        .context("encoding the PNG failed")?;
    writer.finish().context("encoding the PNG failed")?;
    Ok(bytes)
}

/// A QR image written under a temporary name, moved into place by [`Staged::commit`]
/// and removed if dropped before, so that a command that fails leaves no image.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

/// Writes the image next to `path` without replacing anything yet.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(invalid(format!(
            "cannot write {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".totpctl-qr")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

impl Staged {
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp
            .persist(&path)
            .map(|_| ())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}
