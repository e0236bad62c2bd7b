//! QR codes of otpauth:// URIs: drawn in a terminal with Unicode half blocks, or
//! written as a PNG or SVG image.
//!
//! The terminal drawing is as small as phone scanners read reliably, so that it fits
//! an 80×24 terminal with the README's own examples: error correction L (the URI is
//! shown once, on a screen, not printed on paper that wears), the issuer once and no
//! default parameter in the URI (src/otp.rs), the segments in the most compact modes
//! the data allows (the `qrcode` crate's optimal segmentation: the base32 secret is
//! alphanumeric), and a two-module quiet zone drawn light. An image keeps level M and
//! the four-module quiet zone the standard asks for: it has room.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use qrcode::{Color, EcLevel, QrCode};

use crate::base::error::invalid;

/// Modules of quiet zone around the symbol in an image.
const QUIET: usize = 4;
/// Modules of quiet zone around the symbol on a terminal, drawn in light blocks.
const TERMINAL_QUIET: usize = 2;
/// Pixels per module in a PNG.
const PNG_SCALE: usize = 8;

fn encode_at(data: &str, level: EcLevel) -> Result<QrCode> {
    QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| invalid(format!("the URI does not fit in a QR code: {e}")))
}

/// A terminal drawing, or why there is none.
#[derive(Debug)]
pub enum Drawing {
    /// The drawing, one line per two rows of modules.
    Drawn(String),
    /// The drawing needs this many columns and lines, more than the terminal has.
    TooBig { columns: usize, lines: usize },
}

/// The size of a terminal: columns and lines (`None`: unknown).
#[derive(Debug, Clone, Copy, Default)]
pub struct Screen {
    pub columns: Option<usize>,
    pub lines: Option<usize>,
}

/// Draws the code for a terminal of `screen`'s size (unknown: draw anyway), quiet zone
/// included, two modules per character cell, leaving one line free for the prompt
/// that follows it. Light modules are drawn as blocks and dark ones left blank. With
/// `color`, every line is painted white on black, so the code reads right on any
/// terminal theme; without it, it reads right on the usual light-on-dark terminal.
pub fn terminal(data: &str, color: bool, screen: Screen) -> Result<Drawing> {
    let code = encode_at(data, EcLevel::L)?;
    let side = code.width() + 2 * TERMINAL_QUIET;
    let (columns, lines) = (side, side.div_ceil(2));
    let fits_width = screen.columns.is_none_or(|c| columns <= c);
    let fits_height = screen.lines.is_none_or(|l| lines < l);
    if fits_width && fits_height {
        return Ok(Drawing::Drawn(draw(&modules(&code, TERMINAL_QUIET), color)));
    }
    Ok(Drawing::TooBig { columns, lines })
}

/// The code as rows of booleans (true = dark), with `quiet` modules around it.
fn modules(code: &QrCode, quiet: usize) -> Vec<Vec<bool>> {
    let w = code.width();
    let colors = code.to_colors();
    let size = w + 2 * quiet;
    let mut rows = vec![vec![false; size]; size];
    for y in 0..w {
        for x in 0..w {
            rows[y + quiet][x + quiet] = colors[y * w + x] == Color::Dark;
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
    let code = encode_at(data, EcLevel::M)?;
    match format {
        ImageFormat::Svg => Ok(code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build()
            .into_bytes()),
        ImageFormat::Png => png(&modules(&code, QUIET)),
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

/// Checks a `--qr-file` before anything is enrolled: its format from its name, a
/// file there already (never replaced: it may be another account's code), and its
/// directory. A refused image then leaves no enrollment and no new store.
pub fn check_new_image(file: &Path) -> Result<ImageFormat> {
    let format = ImageFormat::for_path(file)?;
    if std::fs::symlink_metadata(file).is_ok() {
        return Err(invalid(format!(
            "--qr-file {} exists already: it is not replaced (it may be another account's \
             code); choose another name, or remove it first",
            file.display()
        )));
    }
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(invalid(format!(
            "--qr-file {}: its directory {} does not exist",
            file.display(),
            dir.display()
        )));
    }
    Ok(format)
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
        // Never over a file that appeared since the command checked.
        self.tmp
            .persist_noclobber(&path)
            .map(|_| ())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}
