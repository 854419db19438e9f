//! A real SMTP server for the sending tests: aiosmtpd (from PyPI, in a
//! virtualenv under the target directory, made on first use) running
//! `tests/smtp/server.py` on 127.0.0.1 and a free port. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The pinned server package.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

pub struct SmtpServer {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// How the server answers (see `tests/smtp/server.py`).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Accept,
    RefuseTransient,
    RefusePermanent,
    /// Takes the message, then never confirms it.
    HangAfterData,
}

impl SmtpServer {
    pub fn start(mode: Mode) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::write_mode(dir.path(), mode);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP test server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the SMTP server prints its port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the SMTP server printed `{line}`, not a port"));
        Self { child, dir, port }
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP on loopback.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        Self::write_mode(self.dir.path(), mode);
    }

    fn write_mode(dir: &Path, mode: Mode) {
        let text = match mode {
            Mode::Accept => "accept",
            Mode::RefuseTransient => "refuse-transient",
            Mode::RefusePermanent => "refuse-permanent",
            Mode::HangAfterData => "hang-after-data",
        };
        std::fs::write(dir.join("mode"), text).expect("write the SMTP server's mode");
    }

    /// The messages it took, in order, as received (headers and body).
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the SMTP folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).expect("read a message")).collect()
    }

    /// Transactions begun (MAIL FROM commands), taken or not.
    pub fn attempts(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("attempts")).map(|t| t.lines().count()).unwrap_or(0)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python of a virtualenv that has aiosmtpd, made once per target
/// directory (made aside and renamed into place, so concurrent test
/// processes never see half of one).
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let venv = root.join("smtp-venv");
            let python = venv.join("bin/python");
            if python.exists() {
                return python;
            }
            let building = root.join(format!("smtp-venv-{}", std::process::id()));
            let run = |command: &mut Command, what: &str| {
                let status = command.status().unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(status.success(), "{what} failed ({status}); the sending tests need python3 and PyPI");
            };
            run(Command::new("python3").args(["-m", "venv"]).arg(&building), "python3 -m venv");
            run(
                Command::new(building.join("bin/python")).args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    AIOSMTPD,
                ]),
                "pip install aiosmtpd",
            );
            if std::fs::rename(&building, &venv).is_err() {
                // Another test process finished first; use theirs.
                let _ = std::fs::remove_dir_all(&building);
            }
            python
        })
        .clone()
}
