//! A registry on this machine, for tests, benchmarks and trying a rollout without one:
//! Debian's `docker-registry` (CNCF distribution 2.8) run as a child process on 127.0.0.1, with
//! its configuration, storage and access log in a directory the caller owns.

use crate::reference::OciRef;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary run: `ROUTE_POLICY_REGISTRY_BIN`, else `docker-registry`.
pub const REGISTRY_BIN_ENV: &str = "ROUTE_POLICY_REGISTRY_BIN";

/// How long a registry may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A registry process; killed when dropped.
pub struct LocalRegistry {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl LocalRegistry {
    /// Starts a registry on an ephemeral port, keeping its files in `dir` (created). It can be
    /// stopped and run again on the same port.
    pub fn start(dir: &Path) -> Result<LocalRegistry, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        LocalRegistry::start_on(dir, port)
    }

    fn start_on(dir: &Path, port: u16) -> Result<LocalRegistry, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut registry = LocalRegistry { dir: dir.to_owned(), port, child: None };
        registry.run()?;
        Ok(registry)
    }

    /// Starts (or restarts) the process, on the same port and storage.
    pub fn run(&mut self) -> Result<(), String> {
        let binary = std::env::var(REGISTRY_BIN_ENV).unwrap_or_else(|_| "docker-registry".to_owned());
        let config = self.dir.join("config.yml");
        let text = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{}\n",
            self.dir.join("storage").display(),
            self.port
        );
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("access.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!(
                    "{binary}: {e}: install Debian's docker-registry (apt-get install docker-registry), or set \
                     {REGISTRY_BIN_ENV} to a distribution `registry` binary"
                )
            })?;
        self.child = Some(child);
        // Our own process must be the one listening: one that exited lost the port.
        let deadline = Instant::now() + START_TIMEOUT;
        let mut listening_since = None;
        loop {
            if let Ok(Some(status)) = self.child.as_mut().map_or(Ok(None), Child::try_wait) {
                return Err(format!("the registry exited ({status}):\n{}", self.log_text()));
            }
            match listening_since {
                Some(since) if Instant::now().duration_since(since) > Duration::from_millis(50) => return Ok(()),
                Some(_) => {}
                None if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() => {
                    listening_since = Some(Instant::now())
                }
                None if Instant::now() > deadline => {
                    return Err(format!("the registry did not listen within {START_TIMEOUT:?}:\n{}", self.log_text()));
                }
                None => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (its storage stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `oci://127.0.0.1:PORT/PATH`.
    pub fn reference(&self, path: &str) -> Result<OciRef, crate::Error> {
        OciRef::parse(&format!("oci://127.0.0.1:{}/{path}", self.port))
    }

    /// Its log (the access log is in it).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// The requests its access log records, `(method, path, status)`, in order.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.log_text()
            .lines()
            .filter_map(|line| {
                let request = line.split('"').nth(1)?;
                let status = line.split('"').nth(2)?.split_whitespace().next()?.parse().ok()?;
                let mut words = request.split(' ');
                Some((words.next()?.to_owned(), words.next()?.to_owned(), status))
            })
            .collect()
    }

    /// Where it stores the bytes of a blob or a manifest (it keeps both as blobs).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(hex.get(..2).unwrap_or_default())
            .join(hex)
            .join("data")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
