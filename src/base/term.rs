//! Reading from the person at the terminal: a line with no echo (a code, a
//! passphrase), or one line of stdin.

use std::io::{self, Write};

use anyhow::Result;

use crate::base::error::invalid;

/// Asks on the terminal with no echo (codes, passphrases). Ctrl-D at the prompt is an
/// end-of-file error, after a newline, so that the error does not land on the
/// prompt's line.
pub fn prompt_hidden(prompt: &str) -> io::Result<String> {
    rpassword::prompt_password(prompt).inspect_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            let _ = writeln!(io::stderr());
        }
    })
}

/// Reads one line from stdin (for codes and import), without its line ending.
pub fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    io::stdin().read_line(&mut line).map_err(|e| {
        // Bytes that are not text are bad input, not a failure of the store.
        if e.kind() == io::ErrorKind::InvalidData {
            invalid(format!("the {what} on stdin is not valid UTF-8"))
        } else {
            anyhow::Error::new(e).context(format!("cannot read the {what} from stdin"))
        }
    })?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
