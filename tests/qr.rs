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
    // The quiet zone: on a terminal, the outer two modules on every side are light
    // (issue 18: as narrow as scanners read, so that the code fits 80×24).
    for row in rows.iter().take(2) {
        assert!(
            row.iter().all(|dark| !dark),
            "quiet zone missing at the top"
        );
    }
    for row in &rows {
        assert!(row[..2].iter().all(|d| !d) && row[row.len() - 2..].iter().all(|d| !d));
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
    // Refused before anything was made: no enrollment, and no store either.
    assert!(!env.store_exists(), "a failed enroll left a store");
    assert!(!gif.exists() && !missing.exists());
    env.enroll("bob");
    let out = env.run(&["enroll", "alice", "--qr-file", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        env.accounts(&[]),
        ["bob"],
        "a failed enroll left an enrollment"
    );
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
    let t = Tmux::start_sized(&env, &[], "enroll narrow@example.com --color never", 30);
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

/// The parameters of an otpauth URI, decoded.
fn uri_param(uri: &str, name: &str) -> Option<String> {
    url::Url::parse(uri)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Issue 18: the README's own examples in an 80×24 terminal. The QR code comes last,
/// so the screen left after the command shows it whole: read from the visible screen
/// only (nothing scrolled away) by zbarimg, it is the enrollment's URI, whose codes
/// verify.
#[test]
fn the_readmes_examples_fit_an_80_by_24_terminal_whole() {
    use common::tmux::Tmux;
    for (account, issuer, label) in [
        ("you@example.com", None, "totpctl:you@example.com"),
        (
            "dev@example.com",
            Some("Acme (staging)"),
            "Acme%20(staging):dev@example.com",
        ),
    ] {
        let env = TestEnv::new();
        let flags = issuer.map_or(String::new(), |i| format!(" --issuer '{i}'"));
        let t = Tmux::start_screen(&env, &[], &format!("enroll {account}{flags}"), 80, 24);
        t.wait_for("EXIT=");
        let screen = t.screen();
        assert!(screen.contains("EXIT=0"), "{screen}");
        assert_eq!(screen.lines().count(), 24, "{screen}");
        let rows = drawing_to_pixels(&screen);
        let png = env.dir.path().join("screen.png");
        write_png(&rows, 4, &png);
        let uri = zbarimg(&png);
        assert!(
            uri.starts_with(&format!("otpauth://totp/{label}?secret=")),
            "{uri}"
        );
        // The issuer once (in the label), no default parameter.
        assert_eq!(uri_param(&uri, "issuer"), None, "{uri}");
        assert_eq!(uri_param(&uri, "digits"), None, "{uri}");
        let secret = uri_param(&uri, "secret").unwrap();
        let at = common::T0 + 300;
        let code = common::oathtool(&secret, at, &[]);
        let v = env.json(&["verify", account, &code, "--at", &at.to_string()]);
        assert_eq!(
            v["valid"], true,
            "the scanned code is not the enrollment's: {v}"
        );
        drop(t);
    }
}

/// Issue 18: a name too long for the QR code to fit 80×24 gets one line that says so
/// and names --qr-file, and the URI is still printed.
#[test]
fn a_code_that_cannot_fit_says_so_in_one_line_and_the_uri_is_printed() {
    use common::tmux::Tmux;
    let env = TestEnv::new();
    let account = "first.middle.lastname.with.a.long.suffix@subsidiary.example.com";
    let t = Tmux::start_screen(
        &env,
        &[],
        &format!("enroll {account} --issuer 'Example Corporation International' --color never"),
        80,
        24,
    );
    t.wait_for("EXIT=");
    let screen = t.screen_joined();
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains('█') && !screen.contains('▀'), "{screen}");
    let note: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("No QR code"))
        .collect();
    assert_eq!(note.len(), 1, "{screen}");
    assert!(note[0].contains("--qr-file"), "{screen}");
    assert!(note[0].contains("80×24"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.trim_start().starts_with("uri        otpauth://totp/")),
        "{screen}"
    );
    assert!(!screen.contains("QR code are shown"), "{screen}");
}

/// Issue 18: --qr-file never replaces a file, and the notes say the image holds the
/// secret.
#[test]
fn qr_file_refuses_an_existing_file_and_says_the_image_holds_the_secret() {
    let env = TestEnv::new();
    let file = env.dir.path().join("code.png");
    std::fs::write(&file, b"someone else's").unwrap();
    let out = env.run(&["enroll", "alice", "--qr-file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        common::stderr(&out).contains("exists already"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"someone else's");
    assert!(!env.store_exists(), "a refused enroll made a store");
    std::fs::remove_file(&file).unwrap();
    let out = env.run(&["enroll", "alice", "--qr-file", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("the image holds the secret too"), "{text}");
}
