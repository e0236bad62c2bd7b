//! Reading an import's input: lines of bounded length, and the input twice when a
//! new store's import checks every line before the store is made.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use anyhow::Result;

use crate::base::error::invalid;

/// The longest line read: a URI with a 64-byte secret and the longest account and
/// issuer, percent-encoded, fits several times over. A longer line is reported
/// without being held in memory.
pub(super) const MAX_LINE: usize = 16 * 1024;

/// The most a new store's import keeps of stdin in memory, to read it twice.
const MAX_STDIN: u64 = 512 << 20;

/// Two readers of the same input: a file is opened again; stdin is read into memory
/// (it cannot be read twice), up to [`MAX_STDIN`].
pub(super) fn twice<'a>(
    reader: Box<dyn BufRead + 'a>,
    file: Option<&std::path::Path>,
) -> Result<(Box<dyn BufRead + 'a>, Box<dyn BufRead + 'a>)> {
    use std::io::Read;
    if let Some(file) = file {
        let again = File::open(file)
            .map_err(|e| invalid(format!("cannot read {}: {e}", file.display())))?;
        return Ok((reader, Box::new(BufReader::with_capacity(1 << 16, again))));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    reader
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::Error::new(e).context("cannot read stdin"))?;
    if bytes.len() as u64 > MAX_STDIN {
        return Err(invalid(format!(
            "stdin holds more than {} MiB: to import that much into a new store, give \
             the file itself",
            MAX_STDIN >> 20
        )));
    }
    let shared = std::rc::Rc::new(bytes);
    Ok((
        Box::new(io::Cursor::new(SharedBytes(shared.clone()))),
        Box::new(io::Cursor::new(SharedBytes(shared))),
    ))
}

/// Bytes read once and read twice, wiped when the last reader is done.
struct SharedBytes(std::rc::Rc<zeroize::Zeroizing<Vec<u8>>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One line read by [`read_line_capped`].
pub(super) enum Line {
    /// The line is in the buffer, without its line ending; it took this many bytes.
    Text(u64),
    /// The line was longer than [`MAX_LINE`] and was skipped; it took this many bytes.
    TooLong(u64),
    End,
}

/// Reads one line into `buf` without ever holding more than [`MAX_LINE`] bytes of it:
/// the rest of a longer line is read and dropped.
pub(super) fn read_line_capped(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut taken = 0u64;
    let mut too_long = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (taken, too_long) {
                (0, _) => Line::End,
                (_, true) => Line::TooLong(taken),
                (_, false) => Line::Text(taken),
            });
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(chunk.len());
        taken += used as u64;
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long {
                Line::TooLong(taken)
            } else {
                Line::Text(taken)
            });
        }
    }
}
