//! The `totpctl` binary: parse, run, print an error once, exit with its code.
//!
//! On Linux with glibc it starts without std's runtime set-up (`no_main`): that
//! set-up locates the main thread's stack by reading `/proc/self/maps`, for a
//! stack-overflow message, and that alone is about 50 µs of every run, 1% of a
//! verify (BENCHMARKS.md, "Start-up"). [`startup`] does the rest of what std would,
//! which this program relies on; a stack overflow is then a plain SIGSEGV instead of
//! a message, and a panic names its thread `<unnamed>`. Elsewhere std's runtime
//! starts as usual: only glibc hands `std::env` the arguments without it.
#![cfg_attr(all(target_os = "linux", target_env = "gnu"), no_main)]

use clap::{CommandFactory, FromArgMatches};
use totpctl::base::error::Exit;
use totpctl::cli::{Cli, generate_docs_command};

/// The C entry point. The arguments are read through `std::env`, which glibc hands
/// them to before `main` whether or not std's runtime starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    startup();
    let status = match std::panic::catch_unwind(run) {
        Ok(exit) => exit as i32,
        // The panic message is printed already; 101 is the status std gives a panic.
        Err(_) => 101,
    };
    // `exit` flushes stdout, as returning from a std `main` would.
    std::process::exit(status)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run() as u8)
}

/// What std's runtime sets up before `main` and this program relies on:
/// - file descriptors 0 to 2 open (on /dev/null when they were closed), so that no
///   store or key file opened later takes one of them and receives what is printed;
/// - SIGPIPE ignored, so that a closed pipe is a write error reported like any other
///   rather than a silent death.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn startup() {
    for fd in 0..=2 {
        // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; open() returns the
        // lowest free descriptor, which is `fd` when `fd` is closed (those below it
        // are open by now).
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd
            {
                std::process::abort();
            }
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN runs no code of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn run() -> Exit {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    totpctl::pam::clear_environment_for_pam(&args);
    // The maintainers' generate-docs is added here, not in Cli, so that the
    // completions and man pages made from Cli never offer it.
    let mut command = Cli::command().subcommand(generate_docs_command());
    let matches = match command.try_get_matches_from_mut(args) {
        Ok(matches) => matches,
        Err(err) => return totpctl::report_usage(err),
    };
    if let Some(("generate-docs", m)) = matches.subcommand() {
        return match totpctl::generate_docs(m) {
            Ok(exit) => exit,
            Err(err) => totpctl::report(&err, false),
        };
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return totpctl::report_usage(err.format(&mut command)),
    };
    let json = cli.global.json;
    match totpctl::run(cli) {
        Ok(exit) => exit,
        Err(err) => totpctl::report(&err, json),
    }
}
