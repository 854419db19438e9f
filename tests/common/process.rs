//! `workgate` as a child process, for what only a real process shows: a
//! start-up, or a death (SIGKILL) in the middle of work.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_workgate");

/// `workgate` with `envs` (and nothing from the test's own environment that
/// starts with `WORKGATE_`).
pub fn workgate(envs: &[(&str, String)]) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("WORKGATE_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    for (key, value) in envs {
        command.env(key, value);
    }
    command
}

/// Runs a one-shot `workgate` command; its stdout.
pub fn run(command: &mut Command) -> String {
    let output = command.output().expect("workgate runs");
    assert!(output.status.success(), "workgate failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The lines `output` (a child's stdout or stderr) prints, as they come.
/// Read on until the output ends, whether or not anyone still listens: a
/// closed pipe would make the child's later lines fail it.
pub fn lines_of(output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// A `workgate serve` child on a free port; killed (SIGKILL) on drop.
pub struct Serve {
    pub child: Child,
    pub base: String,
    /// What it printed while starting.
    pub lines: Vec<String>,
}

impl Serve {
    /// Starts `command` (a `workgate serve`) and reads what it prints until
    /// its address, and with `--demo` the six demo tokens, within a minute.
    pub fn start(command: &mut Command) -> Self {
        let demo = command.get_args().any(|a| a == "--demo");
        let mut child = command
            .env("WORKGATE_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("workgate serve starts");
        let rx = lines_of(child.stdout.take().expect("stdout"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines: Vec<String> = Vec::new();
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("workgate serve's start-up output is incomplete: {lines:?}"));
            lines.push(line);
            let tokens = lines.iter().filter(|l| l.contains("Bearer ")).count();
            if lines.iter().any(|l| l.starts_with("GraphiQL: ")) && (!demo || tokens == 6) {
                break;
            }
        }
        let base = lines
            .iter()
            .find_map(|l| l.strip_prefix("GraphiQL: "))
            .map(|url| url.trim_end_matches("/graphql").to_owned())
            .expect("the address printed");
        Self { child, base, lines }
    }

    /// Kills the process outright, as a crash or an OOM kill would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
