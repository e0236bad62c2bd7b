//! QR codes: the terminal drawing and the image files decode back to the exact URI
//! with real decoders (rqrr in-process, zbarimg from zbar-tools).

mod common;

use std::path::Path;
use std::process::Command;

use common::{TestEnv, stdout};

/// Turns the terminal drawing (half blocks, light modules drawn) into rows of
/// pixels, true = dark.
fn drawing_to_pixels(text: &str) -> Vec<Vec<bool>> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains('█') || l.contains('▀') || l.contains('▄'))
        .collect();
    assert!(!lines.is_empty(), "no QR drawing in:\n{text}");
    let mut rows = Vec::new();
    for line in lines {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (t, b) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?} in the QR drawing"),
            };
            // Drawn means light.
            top.push(!t);
            bottom.push(!b);
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

fn decode_rqrr(rows: &[Vec<bool>], scale: usize) -> String {
    let h = rows.len() * scale;
    let w = rows[0].len() * scale;
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| rows[y / scale][x / scale]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().expect("QR decodes").1
}

fn write_png(rows: &[Vec<bool>], scale: usize, path: &Path) {
    let h = rows.len() * scale;
    let w = rows[0].len() * scale;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            pixels.push(if rows[y / scale][x / scale] { 0u8 } else { 255 });
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(file, w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
}

/// Decodes an image file with zbarimg, the scanner of zbar-tools.
fn zbarimg(path: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(path)
        .output()
        .expect("zbarimg is installed (Debian package zbar-tools)");
    assert!(
        out.status.success(),
        "zbarimg found no code in {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

fn png_to_pixels(path: &Path) -> Vec<Vec<bool>> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    (0..info.height as usize)
        .map(|y| {
            (0..info.width as usize)
                .map(|x| buf[y * info.line_size + x] < 128)
                .collect()
        })
        .collect()
}

#[test]
fn terminal_drawing_decodes_to_the_exact_uri() {
    let env = TestEnv::new();
    let out = env.run(&[
        "enroll",
        "alice@example.com",
        "--issuer",
        "Acme Co",
        "--qr",
        "always",
        "--color",
        "never",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    let uri = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("uri"))
        .map(|u| u.trim().to_string())
        .expect("the URI line");
    let rows = drawing_to_pixels(&text);
    // The quiet zone: the outer four modules on every side are light.
    for row in rows.iter().take(4) {
        assert!(
            row.iter().all(|dark| !dark),
            "quiet zone missing at the top"
        );
    }
    for row in &rows {
        assert!(row[..4].iter().all(|d| !d) && row[row.len() - 4..].iter().all(|d| !d));
    }
    assert_eq!(decode_rqrr(&rows, 4), uri);
    let png = env.dir.path().join("drawing.png");
    write_png(&rows, 4, &png);
    assert_eq!(zbarimg(&png), uri);
}

#[test]
fn no_qr_when_stdout_is_not_a_terminal_or_with_json() {
    let env = TestEnv::new();
    let text = stdout(&env.run(&["enroll", "bob"]));
    assert!(!text.contains('█'), "QR drawn into a pipe:\n{text}");
    assert!(text.contains("only time"));
    let out = env
        .cmd()
        .args(["--json", "enroll", "carol", "--qr", "always"])
        .output()
        .unwrap();
    let value = common::parse_one_json(&out.stdout);
    assert!(
        value["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
}

#[test]
fn png_file_decodes_to_the_exact_uri() {
    let env = TestEnv::new();
    let file = env.dir.path().join("alice.png");
    let e = env.enroll_with("alice", &["--qr-file", file.to_str().unwrap()]);
    assert_eq!(zbarimg(&file), e.uri);
    assert_eq!(decode_rqrr(&png_to_pixels(&file), 1), e.uri);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the image holds the secret");
}

#[test]
fn svg_file_decodes_to_the_exact_uri() {
    let env = TestEnv::new();
    let svg = env.dir.path().join("alice.svg");
    let e = env.enroll_with("alice", &["--qr-file", svg.to_str().unwrap()]);
    let png = env.dir.path().join("from-svg.png");
    let status = Command::new("rsvg-convert")
        .arg(&svg)
        .arg("-o")
        .arg(&png)
        .status()
        .expect("rsvg-convert is installed (Debian package librsvg2-bin)");
    assert!(status.success());
    assert_eq!(zbarimg(&png), e.uri);
}

#[test]
fn a_bad_qr_file_leaves_no_enrollment() {
    let env = TestEnv::new();
    let gif = env.dir.path().join("alice.gif");
    let err = env.json_status(&["enroll", "alice", "--qr-file", gif.to_str().unwrap()], 2);
    assert_eq!(err["error"]["code"], "invalid_argument");
    let missing = env.dir.path().join("no/such/dir/alice.png");
    let out = env.run(&["enroll", "alice", "--qr-file", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("does not exist"));
    let list = env.json(&["list"]);
    assert_eq!(
        list,
        serde_json::json!([]),
        "a failed enroll left an enrollment"
    );
    assert!(!gif.exists() && !missing.exists());
}

/// Issue 10: in a terminal of a fixed width the drawing fits, quiet zone included, and
/// decodes to the printed URI; one that cannot fit is not drawn, and enroll says so
/// and names --qr-file instead of claiming a QR code was shown.
#[test]
fn the_terminal_drawing_fits_the_terminal_or_is_left_out() {
    use common::tmux::Tmux;
    let env = TestEnv::new();
    let account = "first.middle.lastname.with.a.long.suffix@subsidiary.example.com";
    let issuer = "Example Corporation International";
    let t = Tmux::start_sized(
        &env,
        &[],
        &format!("enroll {account} --issuer '{issuer}' --color never"),
        80,
    );
    t.wait_for("EXIT=");
    let screen = t.screen_joined();
    assert!(screen.contains("EXIT=0"), "{screen}");
    let uri = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("uri"))
        .map(|u| u.trim().to_string())
        .expect("the URI line");
    let drawing: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains('█') || l.contains('▀') || l.contains('▄'))
        .collect();
    assert!(!drawing.is_empty(), "no QR drawn in 80 columns:\n{screen}");
    for line in &drawing {
        assert!(
            line.chars().count() <= 80,
            "a QR line is {} columns wide in an 80-column terminal:\n{screen}",
            line.chars().count()
        );
    }
    let rows = drawing_to_pixels(&drawing.join("\n"));
    assert_eq!(decode_rqrr(&rows, 4), uri);
    // Defaults are left out of the URI, as google-authenticator does…
    assert!(!uri.contains("algorithm=") && !uri.contains("digits=") && !uri.contains("period="));
    assert!(
        screen.contains("the secret, the URI and the QR code are shown"),
        "{screen}"
    );
    drop(t);
    // …and other implementations read it as SHA1, 6 digits, 30 s.
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            &uri,
            &common::T0.to_string(),
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyotp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        common::oathtool(secret, common::T0, &[])
    );

    // Too narrow for any QR code of this URI: none is drawn, and the output says why
    // and what to do instead.
    let t = Tmux::start_sized(&env, &[], "enroll narrow@example.com --color never", 40);
    t.wait_for("EXIT=");
    let screen = t.screen_joined();
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains('█') && !screen.contains('▀'), "{screen}");
    assert!(
        screen.contains("No QR code") && screen.contains("--qr-file"),
        "{screen}"
    );
    assert!(!screen.contains("QR code are shown"), "{screen}");
}

/// Issue 10: without a drawing (--qr never, or a pipe), enroll does not claim that a
/// QR code was shown.
#[test]
fn no_claim_of_a_qr_code_that_was_not_drawn() {
    let env = TestEnv::new();
    for args in [&["enroll", "a"][..], &["enroll", "b", "--qr", "never"]] {
        let text = stdout(&env.run(args));
        assert!(
            text.contains("only time the secret and the URI are shown"),
            "{text}"
        );
        // "QR code", not "QR": a base32 secret may hold the letters QR.
        assert!(!text.contains("QR code"), "{args:?}: {text}");
    }
}
