//! `renkei-demo` — the whole system on one machine, no set-up: a development hub (SQLite, its own
//! CA, three demo offices) and the office client with its web UI, one profile per demo office
//! (switch between them at the top of the screen). The 居宅介護支援事業所's export folder holds a
//! month of plans for the day-care office, ready for 一括送信.

use clap::Parser;
use renkei_client::profile::{Profile, Settings};
use renkei_spec::calendar::{Date, FileSeq, YearMonth};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "renkei-demo", about = "連携基盤（開発用）と連携クライアントの画面を1台で動かします / hub + client UI on one machine")]
struct Args {
    /// データを置くフォルダー（2回目以降はそのまま使います）/ data folder (reused)
    #[arg(long, default_value = "renkei-dev")]
    data_dir: PathBuf,
    /// 連携基盤の待ち受け / hub listen address
    #[arg(long, default_value = "127.0.0.1:8443")]
    hub_listen: String,
    /// 画面の待ち受け（127.0.0.1 のみ）/ UI listen address
    #[arg(long, default_value = "127.0.0.1:8765")]
    ui_listen: String,
    /// ブラウザーを開きません / do not open a browser
    #[arg(long)]
    no_browser: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RENKEI_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    renkei_client::hub::install_crypto();
    let args = Args::parse();
    let mut cfg = renkei_hub::Config::load(None, std::env::vars())?;
    cfg.data_dir = args.data_dir.clone();
    cfg.listen = args.hub_listen.clone();
    let offices = renkei_hub::dev::setup(&cfg).await?;
    let hub = renkei_hub::start(cfg.clone()).await?;
    let hub_url = format!("https://localhost:{}", hub.addr.port());

    // One client profile per demo office, using the demo terminal certificates.
    let home = args.data_dir.join("client");
    for (i, o) in offices.iter().enumerate() {
        let dir = args.data_dir.join("offices").join(&o.number);
        match Profile::pick(&home, Some(&o.number)) {
            Ok(mut p) => {
                p.settings.hub = hub_url.clone();
                p.save()?;
            }
            Err(_) => {
                let mut s = Settings::new(&hub_url, &o.number);
                s.office_name = o.name.clone();
                s.login = o.admin.clone();
                s.terminal_id = format!("Tdemo{}", i + 1);
                s.export_dir = Some(dir.join("export"));
                s.import_dir = Some(dir.join("import"));
                s.watch = true;
                std::fs::create_dir_all(dir.join("export"))?;
                renkei_client::setup::adopt(&home, &o.number, s, &o.terminal_dir)?;
            }
        }
    }
    // A month of plans from the 居宅 to the day-care office, as care software would export them.
    let care_export = args.data_dir.join("offices").join(&offices[0].number).join("export");
    if std::fs::read_dir(&care_export)?.next().is_none() && !care_export.join("送信済").exists() {
        let office = |i: usize| renkei_testkit::Office {
            number: renkei_spec::ids::OfficeNumber::parse(&offices[i].number, false).expect("demo number"),
            kind: renkei_spec::ids::ServiceKind::parse(offices[i].kind).expect("demo kind"),
            name: offices[i].name.clone(),
        };
        let month = YearMonth { year: 2025, month: 6 };
        let mut g = renkei_testkit::Generator::new(2025);
        let clients = g.clients(4, 13, month);
        let seq = FileSeq { date: Date::new(2025, 5, 25).expect("date"), hour: 10, minute: 0, second: 0 };
        for f in g.service_slip_unit(&office(0), &office(1), None, &clients, month, seq) {
            std::fs::write(care_export.join(&f.name), &f.bytes)?;
        }
    }

    let daemon = renkei_client::daemon::Daemon::open(&home, None).await?;
    let token = renkei_client::ui::ui_token(&home)?;
    let ui = renkei_client::ui::serve(daemon.clone(), token, &args.ui_listen).await?;
    daemon.spawn_loops();
    let mut codes = Vec::new();
    for o in &offices {
        codes.push(renkei_hub::dev::enrolment_code(&hub.state.store, &cfg, &o.number).await?);
    }
    println!("{}", renkei_hub::dev::instructions(&cfg, &hub.addr, &offices, &hub.state.ca.fingerprint_display(), &codes));
    println!("連携クライアントの画面（3事業所、画面上部で切り替え）:\n  {}\n", ui.login_url);
    println!(
        "試し方: ログイン（パスワード {}）→「一括送信」で {} のファイルを送信 →",
        renkei_hub::dev::DEMO_PASSWORD,
        care_export.display()
    );
    println!("        画面上部で ひまわりデイサービス に切り替えてログイン →「受信一覧」→「データ取得」。終了は Ctrl+C。");
    if !args.no_browser {
        let _ = std::process::Command::new(if cfg!(target_os = "macos") { "open" } else { "xdg-open" })
            .arg(&ui.login_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    tokio::signal::ctrl_c().await?;
    eprintln!("停止しています…");
    hub.shutdown(std::time::Duration::from_secs(10)).await
}
