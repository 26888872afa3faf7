//! One Chromium per fetch, in a process group of its own: started with a
//! fresh profile, its DevTools address read from its stderr within the
//! launch deadline, and always ended the same way: a moment to exit after
//! `Browser.close`, then `SIGKILL` to the whole group (zygotes, renderers,
//! GPU and network services), then the main process reaped. Chromium's
//! crash reporter detaches into groups of its own (and Debian's build
//! cannot run without it: `--disable-crashpad-for-testing` crashes the
//! network service); it and anything else that escaped the group is found
//! by the profile directory on its command line and killed too.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Lines of Chromium's stderr kept for an error message.
const STDERR_LINES: usize = 8;
/// The longest stderr line kept, in bytes.
const STDERR_LINE_MAX: usize = 400;
/// How long the group has to disappear after `SIGKILL`.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// The flags every fetch's Chromium runs with. Each keeps a browser from
/// doing something on its own: reaching the network besides the page
/// (background networking, component updates, sync, QUIC, WebRTC's own
/// UDP, its own DNS), writing outside its profile, or leaving processes
/// behind (the crash reporter).
const FLAGS: &[&str] = &[
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-quic",
    "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--mute-audio",
    "--hide-scrollbars",
    "--password-store=basic",
    "--use-mock-keychain",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,1024",
];

/// Why Chromium did not come up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start {executable}: {error}")]
    Spawn {
        executable: String,
        error: std::io::Error,
    },
    #[error("chromium did not open its DevTools port within {0:?}{1}")]
    Timeout(Duration, String),
    #[error("chromium exited while starting{0}")]
    Exited(String),
}

/// A running Chromium and its process group.
pub struct Chromium {
    child: Child,
    group: Option<Pid>,
    /// The profile directory: every process of this browser names it.
    profile: std::path::PathBuf,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Chromium {
    /// Starts `executable` with a profile in `profile` that sends every
    /// request through the proxy at `proxy`; returns it with its DevTools
    /// WebSocket URL, or fails at `deadline`.
    pub async fn launch(
        executable: &Path,
        profile: &Path,
        proxy: std::net::SocketAddr,
        deadline: Instant,
    ) -> Result<(Chromium, String), LaunchError> {
        let mut command = Command::new(executable);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--proxy-server=http://{proxy}"))
            // Loopback too goes through the proxy (Chromium skips it by default).
            .arg("--proxy-bypass-list=<-loopback>")
            // Chromium resolves no name itself: the proxy does.
            .arg(format!(
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {}",
                proxy.ip()
            ))
            // Chromium keeps caches and settings under $HOME and XDG
            // directories besides the profile: all of it in the profile.
            .env("HOME", profile)
            .env("XDG_CONFIG_HOME", profile)
            .env("XDG_CACHE_HOME", profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // The directory of its singleton socket goes under $TMPDIR, and is
        // left behind when it is killed (one a fetch): in the profile too,
        // when the socket's path fits there.
        if fits_a_socket_path(profile) {
            command.env("TMPDIR", profile);
        }
        if rustix::process::geteuid().is_root() {
            // Chromium refuses to run as root with its sandbox on.
            command.arg("--no-sandbox");
        }
        command.arg("about:blank");
        let mut child = command.spawn().map_err(|error| LaunchError::Spawn {
            executable: executable.display().to_string(),
            error,
        })?;
        let group = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw);
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (found_tx, found_rx) = oneshot::channel();
        if let Some(pipe) = child.stderr.take() {
            tokio::spawn(drain_stderr(pipe, found_tx, Arc::clone(&stderr)));
        }
        let chromium = Chromium {
            child,
            group,
            profile: profile.to_path_buf(),
            stderr,
        };
        let started = Instant::now();
        let outcome = tokio::select! {
            found = found_rx => found.map_err(|_| LaunchError::Exited(chromium.stderr_tail())),
            _ = tokio::time::sleep_until(deadline) => {
                Err(LaunchError::Timeout(started.elapsed(), chromium.stderr_tail()))
            }
        };
        match outcome {
            Ok(url) => Ok((chromium, url)),
            Err(error) => {
                chromium.shut_down(Duration::ZERO).await;
                Err(error)
            }
        }
    }

    /// Resolves when the main process exits (a crash, while a fetch runs).
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The last lines Chromium wrote to stderr, for an error message.
    pub fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        if lines.is_empty() {
            return String::new();
        }
        format!(
            " (chromium's stderr: {})",
            lines.iter().cloned().collect::<Vec<_>>().join(" | ")
        )
    }

    /// Gives the main process `grace` to exit, kills the whole group and
    /// the processes that left it, reaps the main process and waits
    /// (briefly) for all of them to be gone.
    pub async fn shut_down(mut self, grace: Duration) {
        let _ = tokio::time::timeout(grace, self.child.wait()).await;
        if let Some(group) = self.group {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        // The group's other members were children of the main process;
        // init reaps them. Wait until they and the escapees are gone, so
        // that a fetch ends with no process of its own left.
        let until = Instant::now() + REAP_WAIT;
        loop {
            let strays = processes_naming(&self.profile);
            for pid in &strays {
                let _ = rustix::process::kill_process(*pid, Signal::KILL);
            }
            let group_alive = self
                .group
                .is_some_and(|g| rustix::process::test_kill_process_group(g).is_ok());
            if (strays.is_empty() && !group_alive) || Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The processes whose command line names `profile` (a zombie's is empty).
fn processes_naming(profile: &Path) -> Vec<Pid> {
    let needle = profile.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            cmdline
                .windows(needle.len())
                .any(|w| w == needle)
                .then_some(Pid::from_raw(pid)?)
        })
        .collect()
}

/// Reads Chromium's stderr to its end (a full pipe would stall it): sends
/// the DevTools URL once seen, keeps the last lines worth showing.
async fn drain_stderr(
    pipe: tokio::process::ChildStderr,
    found: oneshot::Sender<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut found = Some(found);
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = line.strip_prefix("DevTools listening on ") {
            if let Some(found) = found.take() {
                let _ = found.send(url.trim().to_string());
            }
            continue;
        }
        // D-Bus is absent on servers; Chromium says so on every start.
        if line.contains("dbus") || line.trim().is_empty() {
            continue;
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        let mut line = line;
        if line.len() > STDERR_LINE_MAX {
            let mut cut = STDERR_LINE_MAX;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        tail.push_back(line);
    }
}

/// Whether Chromium's singleton socket fits under `dir`: it makes
/// `org.chromium.Chromium.XXXXXX/SingletonSocket` there (46 bytes and a
/// separator), and a Unix socket's path holds at most 107 bytes.
fn fits_a_socket_path(dir: &Path) -> bool {
    const SOCKET_PATH_MAX: usize = 107;
    const SINGLETON: usize = "/org.chromium.Chromium.XXXXXX/SingletonSocket".len();
    dir.as_os_str().len() + SINGLETON <= SOCKET_PATH_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_singleton_socket_goes_in_the_profile_only_when_its_path_fits() {
        assert!(fits_a_socket_path(Path::new(
            "/tmp/.tmpAbC123/scopewatch-browser-XyZ789"
        )));
        let deep = format!("/var/tmp/{}/scopewatch-browser-XyZ789", "d".repeat(40));
        assert!(!fits_a_socket_path(Path::new(&deep)));
    }
}
