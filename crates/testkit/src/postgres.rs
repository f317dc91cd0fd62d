//! A private PostgreSQL cluster for trials that stop and start the database (fault tests,
//! `bench-cluster`): the Debian server binaries, `initdb` into a temporary folder owned by the
//! `postgres` user, loopback only, trust authentication, removed when dropped. Needs root (to
//! run as `postgres`) and the server package; nothing is downloaded.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private cluster.
#[derive(Debug)]
pub struct PrivatePg {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The folder of the server binaries (`/usr/lib/postgresql/<version>/bin`), if installed and the
/// `postgres` user exists.
pub fn server_binaries() -> Option<PathBuf> {
    let bin = std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|e| e.path().join("bin")).find(|b| b.join("initdb").exists())?;
    Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()).then_some(bin)
}

impl PrivatePg {
    /// Creates and starts a cluster under the temporary folder.
    pub fn start(bin: PathBuf) -> std::io::Result<PrivatePg> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("renkei-pg-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        run(Command::new("chown").arg("postgres:postgres").arg(&dir), "chown")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let pg = PrivatePg { dir, bin, port };
        pg.as_postgres(&pg.bin.join("initdb"), &["--auth=trust", "--username=postgres", "--no-sync", "-D", &pg.data()])?;
        pg.up()?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn as_postgres(&self, program: &Path, args: &[&str]) -> std::io::Result<()> {
        run(Command::new("runuser").arg("-u").arg("postgres").arg("--").arg(program).args(args), &program.display().to_string())
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn up(&self) -> std::io::Result<()> {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.as_postgres(&self.bin.join("pg_ctl"), &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"])
            .map_err(|e| std::io::Error::other(format!("{e}; log: {}", std::fs::read_to_string(&log).unwrap_or_default())))
    }

    /// Stops the server at once, as a crash would (no shutdown checkpoint).
    pub fn kill(&self) -> std::io::Result<()> {
        self.as_postgres(&self.bin.join("pg_ctl"), &["-D", &self.data(), "-m", "immediate", "-w", "stop"])
    }
}

fn run(c: &mut Command, what: &str) -> std::io::Result<()> {
    let out = c.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{what}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))))
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.as_postgres(&self.bin.join("pg_ctl"), &["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
