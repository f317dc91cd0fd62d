//! `renkei-hub` — the 連携基盤 server and its administration commands.

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use renkei_hub::config::Config;
use renkei_hub::service::{self, Actor};
use renkei_hub::store::{AuditAction, Office, Role, Store};
use renkei_hub::{app, auth, dev};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "renkei-hub", version, about = "renkei 連携基盤 (hub)")]
struct Cli {
    /// Configuration file (TOML). `RENKEI_*` environment variables override it.
    #[arg(long, global = true, env = "RENKEI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the hub.
    Serve,
    /// One command, no set-up: data dir, dev CA, demo offices with users and terminals; then serves.
    Dev {
        /// Data directory.
        #[arg(long, default_value = "renkei-dev")]
        data_dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        /// Number of demo offices (3 named ones, then more for load tests).
        #[arg(long, default_value_t = 3)]
        offices: usize,
        /// Create the data and exit without serving.
        #[arg(long)]
        setup_only: bool,
    },
    /// Certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Offices.
    Office {
        #[command(subcommand)]
        command: OfficeCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Notices (お知らせ) shown in every client.
    Notice {
        #[command(subcommand)]
        command: NoticeCommand,
    },
    /// Operators of the exchange (the console at /operator).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// The office registry (every care office; the denominator of 利用状況).
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Creates or upgrades the database.
    Migrate,
    /// For benchmarks and load trials: adds COPIES copies of every delivered message (same
    /// offices, files and contents), so that the store holds a history.
    History {
        /// Copies of each delivered message.
        #[arg(long)]
        copies: u64,
    },
    /// Prints the OpenAPI document of API v1 (JSON).
    Openapi,
    /// Writes a backup of this hub's data directory (SQLite database, CA, blobs on disk) into a
    /// new folder, while the hub runs; the folder is a data directory a hub can start from.
    Backup {
        /// The folder to write (must not hold a database yet).
        #[arg(long)]
        to: PathBuf,
    },
    /// Reads every stored file back and checks its SHA-256 (after a restore, or on a live hub);
    /// fails when any is missing or damaged.
    Verify,
}

#[derive(Subcommand, Debug)]
enum OperatorCommand {
    /// Adds an operator account; prints its password once.
    Add {
        /// Operator login ID.
        login: String,
        /// Name.
        #[arg(long)]
        name: String,
    },
    /// Takes 2段階認証 off an operator who lost the phone and the recovery codes; the next
    /// login sets it up anew.
    ResetSecondFactor {
        /// Operator login ID.
        login: String,
    },
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Imports a registry CSV (UTF-8 or MS932): 事業所番号,事業所名,サービス種類コード[,都道府県コード][,所在地].
    /// Bad lines are listed (line, item, value, reason) and left out; good lines are imported.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Rows per transaction.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
}

#[derive(Subcommand, Debug)]
enum NoticeCommand {
    /// Publishes a notice (to every office, to one prefecture with --prefecture, or to one with
    /// --office), shown from --from until --until (Japan time, `YYYY-MM-DDTHH:MM`).
    Add {
        /// Title.
        #[arg(long)]
        title: String,
        /// Body.
        #[arg(long)]
        body: String,
        /// Only this office.
        #[arg(long, conflicts_with = "prefecture")]
        office: Option<String>,
        /// Only the offices of this prefecture (1–47).
        #[arg(long)]
        prefecture: Option<i64>,
        /// Shown from (Japan time).
        #[arg(long)]
        from: Option<String>,
        /// Shown until (Japan time).
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum CaCommand {
    /// Creates the CA and the server certificate (if missing).
    Init,
    /// Issues a terminal certificate from a CSR file (PEM) for an office.
    Issue {
        /// Office number.
        #[arg(long)]
        office: String,
        /// CSR file.
        #[arg(long)]
        csr: PathBuf,
        /// Label of the PC.
        #[arg(long, default_value = "端末")]
        label: String,
    },
    /// Revokes a terminal (takes effect in a running hub within seconds).
    Revoke {
        /// Terminal id.
        terminal: String,
    },
    /// Writes the current CRL (PEM) to standard output.
    Crl,
}

#[derive(Subcommand, Debug)]
enum OfficeCommand {
    /// Adds or updates an office.
    Add {
        /// 事業所番号.
        number: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// サービス種類コード (comma-separated).
        #[arg(long)]
        kinds: String,
        /// License valid through (YYYY-MM-DD).
        #[arg(long)]
        license_until: Option<String>,
    },
    /// Lists offices.
    List,
    /// Lists an office's terminals.
    Terminals {
        /// Office number.
        number: String,
    },
    /// Registers an office as a 代行業者 (agent): offices may then delegate sending and/or
    /// receiving to it on the portal's 代行 page (as the console's 「代行業者として登録する」).
    Agent {
        /// Office number.
        number: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Adds a user with a temporary password (printed once).
    Add {
        /// Login ID.
        login: String,
        /// Office number.
        #[arg(long)]
        office: String,
        /// admin or staff.
        #[arg(long, default_value = "staff")]
        role: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Creates a one-time enrolment code for an office (printed once).
    EnrolCode {
        /// Office number.
        #[arg(long)]
        office: String,
    },
    /// Takes 2段階認証 off a user who lost the phone and the recovery codes (check who is
    /// asking first); the next portal login sets it up anew.
    ResetSecondFactor {
        /// Login ID.
        login: String,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RENKEI_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("renkei-hub: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("renkei-hub: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Ctrl-C or SIGTERM (what systemd and container runtimes send to stop a service), listened
/// for from before the hub starts: one that comes while it starts up is kept, not fatal.
struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Stop {
    fn listen() -> anyhow::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Stop { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        Ok(Stop {})
    }

    async fn wait(mut self) -> anyhow::Result<()> {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}

/// Serves until [`Stop`], then drains: requests at work are finished within 30 s.
async fn serve_until_signal(running: app::Running, stop: Stop) -> anyhow::Result<()> {
    stop.wait().await?;
    eprintln!("停止しています（処理中の送信を完了させます）…");
    running.shutdown(Duration::from_secs(30)).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut cfg = Config::load(cli.config.as_deref(), std::env::vars())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match cli.command {
        Command::Serve => {
            let stop = Stop::listen()?;
            let running = app::start(cfg).await?;
            serve_until_signal(running, stop).await
        }
        Command::Dev { data_dir, listen, offices, setup_only } => {
            cfg.data_dir = data_dir;
            cfg.listen = listen;
            let offices = dev::setup_n(&cfg, offices.max(1)).await?;
            if setup_only {
                println!("{} offices ready in {}", offices.len(), cfg.data_dir.display());
                return Ok(());
            }
            let stop = Stop::listen()?;
            let running = app::start(cfg.clone()).await?;
            let mut codes = Vec::new();
            for o in offices.iter().take(3) {
                codes.push(dev::enrolment_code(&running.state.store, &cfg, &o.number).await?);
            }
            println!("{}", dev::instructions(&cfg, &running.addr, &offices, &running.state.ca.fingerprint_display(), &codes));
            serve_until_signal(running, stop).await
        }
        Command::Notice { command: NoticeCommand::Add { title, body, office, prefecture, from, until } } => {
            let store = Store::open(&cfg.database_url()).await?;
            let time = |s: Option<String>| -> anyhow::Result<Option<i64>> {
                s.map(|s| {
                    renkei_hub::jst::parse_local(&s).ok_or_else(|| anyhow::anyhow!("{s}: 日時は YYYY-MM-DDTHH:MM（日本時間）で書きます"))
                })
                .transpose()
            };
            let target = match (office, prefecture) {
                (Some(o), _) => service::notices::Target::Office(o),
                (None, Some(p)) => service::notices::Target::Prefecture(p),
                (None, None) => service::notices::Target::All,
            };
            let draft = service::notices::Draft { target, title, body, starts_at: time(from)?, expires_at: time(until)? };
            let n = service::notices::publish(&store, Actor::Admin, &draft).await?;
            println!("notice {} published", n.public_id);
            Ok(())
        }
        Command::Operator { command: OperatorCommand::Add { login, name } } => {
            let store = Store::open(&cfg.database_url()).await?;
            let password = service::offices::add_operator(&store, Actor::Admin, &login, &name).await?;
            println!("operator {login} added; password (shown once): {password}");
            Ok(())
        }
        Command::Operator { command: OperatorCommand::ResetSecondFactor { login } } => {
            let store = Store::open(&cfg.database_url()).await?;
            let op = store.operator(Some(&login), None).await?.with_context(|| format!("no operator {login}"))?;
            service::second_factor::reset(&store, Actor::Admin, renkei_hub::store::Account::Operator(op.id)).await?;
            println!("2段階認証 of operator {login} removed; the next login sets it up anew");
            Ok(())
        }
        Command::Registry { command: RegistryCommand::Import { file, batch } } => {
            let bytes = std::fs::read(&file).with_context(|| format!("{} を読めません", file.display()))?;
            let store = Store::open(&cfg.database_url()).await?;
            let t = std::time::Instant::now();
            let r = renkei_hub::registry::import(&store, &bytes, now, batch, |done, total| {
                eprintln!("取り込み中 {done}/{total}（{:.0}%）", done as f64 * 100.0 / total.max(1) as f64);
            })
            .await?;
            for e in &r.errors {
                println!("{e}");
            }
            for w in &r.warnings {
                println!("警告: {w}");
            }
            let detail = format!("file={} imported={} errors={} warnings={}", file.display(), r.imported, r.errors.len(), r.warnings.len());
            store.audit(Actor::Admin.audit(AuditAction::RegistryImport, None, detail), now).await?;
            eprintln!(
                "{} 行を読み、{} 事業所を取り込みました（{} 行はエラーのため取り込んでいません）。{:.1} 秒",
                r.lines,
                r.imported,
                r.errors.len(),
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", renkei_hub::web::api::openapi::json());
            Ok(())
        }
        Command::Backup { to } => {
            let store = Store::open(&cfg.database_url()).await?;
            let r = service::backup::backup(&store, &cfg.data_dir, &to).await;
            store.close().await;
            let r = r?;
            println!("backup written to {}: database, CA, {} blob files ({} new)", to.display(), r.blobs, r.blobs_copied);
            if !cfg.storage.blobs_url.is_empty() {
                println!("blobs are in {}: back the bucket up with its own versioning or replication", cfg.storage.blobs_url);
            }
            Ok(())
        }
        Command::Verify => {
            let store = Store::open(&cfg.database_url()).await?;
            let blobs = cfg.open_blobs()?;
            let r = service::backup::check_files(&store, &blobs).await;
            store.close().await;
            let r = r?;
            println!("{} files checked: {} missing, {} damaged", r.files, r.missing.len(), r.mismatched.len());
            for m in r.missing.iter().take(20) {
                println!("missing: {m}");
            }
            for m in r.mismatched.iter().take(20) {
                println!("damaged: {m}");
            }
            if !r.ok() {
                anyhow::bail!("stored files are missing or damaged");
            }
            Ok(())
        }
        Command::Migrate => {
            Store::open(&cfg.database_url()).await?;
            println!("migrated {}", cfg.database_url());
            Ok(())
        }
        Command::History { copies } => {
            let store = Store::open(&cfg.database_url()).await?;
            let added = store.replicate_delivered(copies).await?;
            store.close().await;
            println!("{added} messages added");
            Ok(())
        }
        Command::Ca { command } => {
            renkei_hub::files::private_dir(&cfg.data_dir)?;
            match command {
                CaCommand::Init => {
                    app::ensure_pki(&cfg)?;
                    println!("CA: {}", app::ca_dir(&cfg).display());
                    Ok(())
                }
                CaCommand::Issue { office, csr, label } => {
                    let store = Store::open(&cfg.database_url()).await?;
                    let o = store.office(&office).await?.with_context(|| format!("office {office} is not registered"))?;
                    let (ca, _, _) = app::ensure_pki(&cfg)?;
                    let id = format!("T{}", &auth::token()[..16]);
                    let issued = ca.issue_terminal(&std::fs::read_to_string(&csr)?, &id, &o.number, &o.name)?;
                    store
                        .add_terminal(
                            &renkei_hub::store::Terminal {
                                id: id.clone(),
                                office: o.number,
                                label,
                                serial: issued.serial,
                                revoked_at: None,
                            },
                            false,
                            &issued.fingerprint,
                            issued.not_after,
                            now,
                            None,
                            Actor::Admin.audit(AuditAction::Enrol, Some(&office), format!("terminal={id}")),
                        )
                        .await?;
                    eprintln!("terminal {id}");
                    print!("{}", issued.cert_pem);
                    Ok(())
                }
                CaCommand::Revoke { terminal } => {
                    let store = Store::open(&cfg.database_url()).await?;
                    if !service::terminals::revoke_in_store(&store, Actor::Admin, None, &terminal).await? {
                        bail!("terminal {terminal} is unknown or already revoked");
                    }
                    // A running hub reloads its CRL from the store within seconds.
                    let (ca, _, _) = app::ensure_pki(&cfg)?;
                    ca.crl(&store.revoked_serials().await?)?;
                    println!("revoked {terminal}");
                    Ok(())
                }
                CaCommand::Crl => {
                    let store = Store::open(&cfg.database_url()).await?;
                    let (ca, _, _) = app::ensure_pki(&cfg)?;
                    print!("{}", ca.crl(&store.revoked_serials().await?)?);
                    Ok(())
                }
            }
        }
        Command::Office { command } => {
            let store = Store::open(&cfg.database_url()).await?;
            match command {
                OfficeCommand::Add { number, name, kinds, license_until } => {
                    let n = renkei_spec::ids::OfficeNumber::parse_shape(&number).map_err(|p| anyhow::anyhow!("{number}: {}", p.ja))?;
                    if let Some(p) = n.check_digit_problem(false) {
                        // The registry is the truth: such a number is registered, with a warning.
                        eprintln!("警告: {number}: {}", p.ja);
                    }
                    let kinds: Vec<String> = kinds.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect();
                    for k in &kinds {
                        renkei_spec::ids::ServiceKind::parse(k).map_err(|p| anyhow::anyhow!("{k}: {}", p.ja))?;
                    }
                    service::offices::register(&store, Actor::Admin, &Office { number: number.clone(), name, kinds, license_until })
                        .await?;
                    println!("office {number} saved");
                    Ok(())
                }
                OfficeCommand::List => {
                    for o in store.offices().await? {
                        println!("{}\t{}\t{}\t{}", o.number, o.kinds.join(","), o.license_until.unwrap_or_else(|| "-".into()), o.name);
                    }
                    Ok(())
                }
                OfficeCommand::Terminals { number } => {
                    for t in store.terminals(&number).await? {
                        println!("{}\t{}\t{}", t.id, if t.revoked_at.is_some() { "revoked" } else { "active" }, t.label);
                    }
                    Ok(())
                }
                OfficeCommand::Agent { number } => {
                    let name = service::delegations::register_agent(&store, Actor::Admin, &number)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.0.message))?;
                    println!("{name}（{}）を代行業者として登録しました", number.trim());
                    Ok(())
                }
            }
        }
        Command::User { command } => {
            let store = Store::open(&cfg.database_url()).await?;
            match command {
                UserCommand::Add { login, office, role, name } => {
                    let role = match role.as_str() {
                        "admin" => Role::Admin,
                        "staff" => Role::Staff,
                        _ => bail!("role must be admin or staff"),
                    };
                    let pw = service::offices::add_user(&store, Actor::Admin, &office, &login, role, &name).await?;
                    println!("user {login} added; temporary password (change at first login): {pw}");
                    Ok(())
                }
                UserCommand::ResetSecondFactor { login } => {
                    let user = store.user_by_login(&login).await?.with_context(|| format!("no user {login}"))?;
                    service::second_factor::reset(&store, Actor::Admin, renkei_hub::store::Account::User(user.id)).await?;
                    println!("2段階認証 of {login} removed; the next portal login sets it up anew");
                    Ok(())
                }
                UserCommand::EnrolCode { office } => {
                    store.office(&office).await?.with_context(|| format!("office {office} is not registered"))?;
                    let code = service::terminals::new_code(&store, &cfg.auth, Actor::Admin, &office).await?.code;
                    println!("enrolment code for {office}: {code} (valid {} hours, once)", cfg.auth.enrolment_code_hours);
                    Ok(())
                }
            }
        }
    }
}
