//! A program in a detached tmux session: a real terminal of a fixed size, whose
//! screen can be read and typed into.

use std::path::PathBuf;
use std::process::Command;

use super::{TestEnv, stdout};

/// A program running in a detached tmux session: a real terminal whose screen can be
/// read, and typed into only once the program asks.
pub struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("tmux.sock")
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(self.socket());
        cmd
    }

    /// Starts `totpctl ARGS` with only `vars` and the store in its environment, in a
    /// terminal of 150 columns.
    pub fn start(env: &TestEnv, vars: &[(&str, &str)], args: &str) -> Tmux {
        Tmux::start_sized(env, vars, args, 150)
    }

    /// Starts `totpctl ARGS` in a terminal `columns` wide (and 50 lines high).
    pub fn start_sized(env: &TestEnv, vars: &[(&str, &str)], args: &str, columns: u16) -> Tmux {
        Tmux::start_screen(env, vars, args, columns, 50)
    }

    /// Starts `totpctl ARGS` in a terminal of `columns` × `lines`.
    pub fn start_screen(
        env: &TestEnv,
        vars: &[(&str, &str)],
        args: &str,
        columns: u16,
        lines: u16,
    ) -> Tmux {
        let t = Tmux {
            dir: tempfile::tempdir().unwrap(),
        };
        let mut line = format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm HOME='{}' TOTPCTL_STORE='{}'",
            env.dir.path().join("home").display(),
            env.store.display()
        );
        // On PostgreSQL, the server's address and the key file, as a host has them.
        if env.database.is_some() {
            for k in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] {
                if let Ok(v) = std::env::var(k) {
                    line.push_str(&format!(" {k}='{v}'"));
                }
            }
            if !vars.iter().any(|(k, _)| *k == "TOTPCTL_KEY_FILE") {
                let key = env.key_file();
                let _ = std::fs::create_dir_all(key.parent().unwrap());
                line.push_str(&format!(" TOTPCTL_KEY_FILE='{}'", key.display()));
            }
        }
        for (k, v) in vars {
            line.push_str(&format!(" {k}='{v}'"));
        }
        line.push_str(&format!(
            " '{}' {args}; echo EXIT=$?; sleep 600",
            assert_cmd::cargo::cargo_bin("totpctl").display()
        ));
        let status = t
            .tmux()
            .args(["new-session", "-d", "-x", &columns.to_string()])
            .args(["-y", &lines.to_string()])
            .arg(line)
            .status()
            .expect("tmux is installed (Debian package tmux)");
        assert!(status.success());
        t
    }

    /// The visible screen with lines the terminal wrapped joined again, so that a
    /// line wider than the terminal shows as it was written.
    pub fn screen_joined(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J"])
            .output()
            .unwrap();
        stdout(&out)
    }

    /// What the terminal shows now: its visible lines only, none scrolled away.
    pub fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p"]).output().unwrap();
        stdout(&out)
    }

    /// Waits until the screen shows `text`; returns the screen.
    #[track_caller]
    pub fn wait_for(&self, text: &str) -> String {
        for _ in 0..600 {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the terminal never showed {text:?}:\n{}", self.screen());
    }

    /// Sends one key by its tmux name (`C-d`, `Enter`).
    pub fn send_keys(&self, key: &str) {
        assert!(
            self.tmux()
                .args(["send-keys", key])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) {
        assert!(
            self.tmux()
                .args(["send-keys", "-l", text])
                .status()
                .unwrap()
                .success()
        );
        assert!(
            self.tmux()
                .args(["send-keys", "Enter"])
                .status()
                .unwrap()
                .success()
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}
