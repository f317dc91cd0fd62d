//! `renkei` — the office client (連携クライアント): set-up, sending and receiving, the daemon with
//! its local web UI, the validator and the reference.

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use renkei_client::hub::{HubClient, Session, load_session, save_session};
use renkei_client::outgoing::{self, Outcome};
use renkei_client::profile::{Profile, home};
use renkei_client::{daemon, incoming, output, scan, setup, state::State, ui};
use renkei_protocol::InboxQuery;
use renkei_spec::diag::Lang;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "renkei", version, about = "ケアプランデータ連携 — 連携クライアント / care-plan data exchange client")]
struct Cli {
    /// 使うプロファイル（事業所番号またはプロファイル名）/ profile (office number or name)
    #[arg(long, global = true, env = "RENKEI_PROFILE")]
    profile: Option<String>,
    /// 代行: この事業所の名前で送受信します（代行業者として委任されている場合）/ act for this office as its agent
    #[arg(long = "for", global = true, env = "RENKEI_FOR", value_name = "事業所番号")]
    for_office: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// この PC を事業所の端末として登録します（鍵はこの PC で作り、外に出しません）/ enrol this PC
    Setup {
        /// 連携基盤の URL / hub URL
        #[arg(long)]
        hub: String,
        /// 事業所番号 / office number
        #[arg(long)]
        office: String,
        /// ログインID / login ID
        #[arg(long)]
        login: String,
        /// 端末登録コード（管理者が発行）/ one-time enrolment code
        #[arg(long)]
        code: String,
        /// この PC の名前（端末一覧に表示）/ a name for this PC
        #[arg(long)]
        label: Option<String>,
        /// CA証明書ファイル（なければ連携基盤から取得して指紋を表示）/ CA certificate file
        #[arg(long)]
        ca: Option<PathBuf>,
        /// 確認済みの CA の指紋（登録コードの用紙に記載）/ expected CA fingerprint
        #[arg(long)]
        ca_fingerprint: Option<String>,
        /// 指紋の確認を省略します（開発用）/ skip the fingerprint prompt
        #[arg(long)]
        yes: bool,
        /// プロファイル名（既定は事業所番号）/ profile name
        #[arg(long = "name")]
        name: Option<String>,
    },
    /// この PC のプロファイル（事業所）一覧 / list profiles
    Profiles,
    /// 設定の表示と変更（例: --set export_dir=C:\export --set watch=true）/ show or change settings
    Config {
        /// KEY=VALUE
        #[arg(long = "set")]
        set: Vec<String>,
    },
    /// ログイン（パスワードは入力または RENKEI_PASSWORD）/ log in
    Login {
        /// ログインID（既定は前回のID）
        #[arg(long)]
        login: Option<String>,
    },
    /// ログアウト / log out
    Logout,
    /// パスワードの変更 / change the password
    Password,
    /// 別の PC 用の端末登録コードを発行します（管理者）/ enrolment code for another PC
    EnrolmentCode,
    /// ファイル・フォルダー・ZIP を検査して送信します（一括送信: 送信先ごとに1通）/ send
    Send {
        /// ファイル、フォルダー、ZIP
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// 送信先（添付ファイルを送るとき）/ destination for attachments
        #[arg(long)]
        to: Option<String>,
        /// メッセージ / note
        #[arg(long, default_value = "")]
        note: String,
        /// 検査と振り分けだけ（送らない）/ check and group only
        #[arg(long)]
        dry_run: bool,
        /// 送信済みでも、もう一度送ります / send again deliberately
        #[arg(long)]
        resend: bool,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// ファイルなしの連絡を送ります（今月利用なし・区分支給限度額超過の連絡・計画変更の連絡）/ a contact without files
    Contact {
        /// 送信先の事業所番号 / destination office
        #[arg(long)]
        to: String,
        /// 連絡の種類: no_use（今月利用なし）, over_limit（区分支給限度額超過の連絡）, plan_change（計画変更の連絡）
        #[arg(long, value_parser = ["no_use", "over_limit", "plan_change"])]
        kind: String,
        /// 対象年月 YYYYMM（no_use・over_limit では必須）/ month
        #[arg(long, default_value = "")]
        month: String,
        /// 利用者（被保険者番号または氏名）/ the user concerned
        #[arg(long)]
        person: String,
        /// 超過単位数（over_limit のとき）/ units over the limit
        #[arg(long, default_value = "")]
        units: String,
        /// メッセージ / note
        #[arg(long, default_value = "")]
        note: String,
        /// 送信済みでも、もう一度送ります / send again deliberately
        #[arg(long)]
        resend: bool,
    },
    /// 受信一覧 / received messages
    Inbox {
        /// 未取得だけ / only not fetched
        #[arg(long)]
        new: bool,
        /// 送信元 / sender office
        #[arg(long)]
        sender: Option<String>,
        /// 対象年月 YYYYMM / service month
        #[arg(long)]
        month: Option<String>,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// 送信一覧（取得済・開封済・期限切れ）/ sent messages
    Sent {
        /// 送信先 / recipient office
        #[arg(long)]
        to: Option<String>,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// 一括取得: 未取得のメッセージをすべてフォルダーに保存します（ID を指定するとそのメッセージだけ）/ fetch
    Fetch {
        /// メッセージID（省略時は未取得すべて）
        ids: Vec<String>,
        /// 保存先（既定は設定の取込フォルダー）/ destination folder
        #[arg(long)]
        dir: Option<PathBuf>,
        /// サービス種類ごとのサブフォルダーに分けます / one sub-folder per service kind
        #[arg(long)]
        split: bool,
        /// この送信元からだけ / only from this sender
        #[arg(long)]
        sender: Option<String>,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// 下書き（事業所のすべての端末で共有）/ drafts
    Drafts {
        /// 送信する下書きID / send this draft
        #[arg(long)]
        send: Option<String>,
        /// 削除する下書きID / delete this draft
        #[arg(long)]
        delete: Option<String>,
    },
    /// 予実突合: 予定（送信した UPPLAN）と実績（受信した UPJSK）を比べます / plan vs actual
    Reconcile {
        /// 対象年月 YYYYMM
        #[arg(long)]
        month: String,
        /// サービス事業所の事業所番号（連携基盤から最新の予定・実績を取得）
        #[arg(long, required_unless_present_all = ["plan", "actual"])]
        partner: Option<String>,
        /// 予定ファイル（手元のファイルで突合するとき）
        #[arg(long, requires = "actual")]
        plan: Option<PathBuf>,
        /// 実績ファイル
        #[arg(long, requires = "plan")]
        actual: Option<PathBuf>,
        /// 第7表（UPSIKYU）のファイル: 単位数も突合します / the plan's 第7表, to compare units too
        #[arg(long, requires = "plan")]
        sikyu: Option<PathBuf>,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// 画面を開きます（常駐プログラムも起動）/ open the web UI (starts the daemon)
    Ui {
        /// 待ち受けアドレス（127.0.0.1 のみ）
        #[arg(long, default_value = "127.0.0.1:8765", env = "RENKEI_UI_LISTEN")]
        listen: String,
        /// ブラウザーを開きません / do not open a browser
        #[arg(long)]
        no_browser: bool,
    },
    /// PC にログオンしたとき常駐プログラムを起動します（on）・やめます（off）・状態（status）/ start the daemon at log-on
    ///
    /// Linux: systemd のユーザーユニット、macOS: launchd エージェント、Windows: タスクスケジューラー。
    /// 終了コード: 0 = 完了, 1 = 登録はしたが有効化のコマンドが失敗（手動の手順を表示）, 2 = 実行できない。
    Autostart {
        /// on / off / status
        #[arg(value_parser = ["on", "off", "status"])]
        action: String,
    },
    /// 常駐プログラム（通知・監視フォルダー・画面）/ the daemon, without opening a browser
    Daemon {
        /// 待ち受けアドレス（127.0.0.1 のみ）
        #[arg(long, default_value = "127.0.0.1:8765", env = "RENKEI_UI_LISTEN")]
        listen: String,
    },
    /// 標準仕様（4.1・旧形式）に沿っているか、ファイルとフォルダーを検査します
    /// (check files and folders against the standard).
    ///
    /// 終了コード / exit status: 0 = 問題なし clean, 1 = エラーまたは警告あり findings,
    /// 2 = 実行できない could not run.
    Check {
        /// 検査するファイルまたはフォルダー（フォルダーは中を全部）/ files or folders (recursive)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// 出力形式 / output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// 表示言語 / language of messages
        #[arg(long, value_enum, default_value_t = LangArg::Ja, env = "RENKEI_LANG")]
        lang: LangArg,
        /// 警告だけなら終了コード 0 にします / exit 0 when there are only warnings
        #[arg(long)]
        allow_warnings: bool,
        /// 事業所台帳に登録されている事業所番号（検証番号が合わなくても警告にとどめます。複数可）/
        /// an office number known to be registered (its failing check digit only warns; repeatable)
        #[arg(long = "registered", value_name = "NUMBER")]
        registered: Vec<String>,
    },
    /// 検査規則（rule id）の一覧 / list every rule id
    Rules {
        /// 表示言語 / language
        #[arg(long, value_enum, default_value_t = LangArg::Ja, env = "RENKEI_LANG")]
        lang: LangArg,
    },
    /// 帳票として表示します（第6表は日ごとの利用回数の表、第7表は合計つき、計画書は各表の形）/ show a file as its paper form
    Show {
        /// 表示するファイル / the file
        file: PathBuf,
        /// 帳票ではなく、全項目を「項目名: 値」で表示します / every item by name instead of the form
        #[arg(long)]
        items: bool,
    },
    /// ファイル種別の項目一覧（No.・項目名・桁数・必須・書式）/ column layout of a file kind
    Layout {
        /// 接頭辞 (UPPLAN, UPHOSOKU, UP1KYO, …)
        kind: String,
        /// 旧形式（202208 以前）の並び / the v3 layout
        #[arg(long)]
        v3: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LangArg {
    Ja,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Ja => Lang::Ja,
            LangArg::En => Lang::En,
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RENKEI_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("renkei: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("renkei: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn password(prompt: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("RENKEI_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("パスワードを入力できません（RENKEI_PASSWORD を設定してください）");
    }
    Ok(rpassword::prompt_password(prompt)?)
}

/// The hub client of a profile with a session: the saved one, else a login (password from
/// RENKEI_PASSWORD or a prompt).
/// With `acting` (`--for`), mailbox requests are made in that office's name (代行).
async fn connect(p: &Profile, acting: Option<&str>) -> anyhow::Result<HubClient> {
    if let Some(o) = acting
        && (o.len() != 10 || !o.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("--for には代行する事業所の番号（10桁の数字）を指定してください: {o}");
    }
    let c = HubClient::for_profile(p)?;
    let c = if c.has_token() {
        c
    } else if p.settings.login.is_empty() {
        bail!("ログインしていません。`renkei login --login <ログインID>` を実行してください");
    } else {
        login(p, &p.settings.login).await?
    };
    Ok(c.on_behalf_of(acting.map(str::to_owned)))
}

async fn login(p: &Profile, id: &str) -> anyhow::Result<HubClient> {
    let mut c = HubClient::for_profile(p)?.with_token(None);
    let pw = password(&format!("{id} のパスワード: "))?;
    let s = Session::from_login(id, c.login(id, &pw).await?);
    save_session(p, Some(&s))?;
    if s.must_change_password {
        eprintln!("仮パスワードです。`renkei password` で新しいパスワードに変えてください。");
    }
    Ok(c)
}

fn bar(n: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(n as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(v)?)?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let home = home()?;
    let pick = || Profile::pick(&home, cli.profile.as_deref());
    let acting = cli.for_office.as_deref();
    // The office files are sent from: this PC's, or (代行, `--for`) the office it acts for.
    let me = |p: &Profile| acting.unwrap_or(&p.settings.office).to_owned();
    match cli.command {
        Command::Setup { hub, office, login, code, label, ca, ca_fingerprint, yes, name } => {
            // A mistyped code is said at once, before the hub is asked or a password is typed.
            if let Some(why) = renkei_protocol::codes::problem(&code) {
                bail!(why);
            }
            let ca_pem = match ca {
                Some(f) => std::fs::read_to_string(&f).with_context(|| format!("{} を読めません", f.display()))?,
                None => {
                    let fetched = setup::fetch_ca(&hub).await?;
                    println!("連携基盤の CA証明書の指紋:\n  {}", fetched.fingerprint);
                    match ca_fingerprint {
                        Some(want) if normalize_fp(&want) == normalize_fp(&fetched.fingerprint) => println!("指紋は一致しました。"),
                        Some(_) => bail!("CA証明書の指紋が一致しません。接続先が正しいか、管理者に確認してください"),
                        None if yes => {}
                        None => {
                            if !std::io::stdin().is_terminal() {
                                bail!("指紋を確認できません。--ca-fingerprint で指定してください");
                            }
                            eprint!("端末登録コードの用紙にある指紋と同じですか？ [y/N] ");
                            let mut a = String::new();
                            std::io::stdin().read_line(&mut a)?;
                            if !matches!(a.trim(), "y" | "Y" | "yes" | "はい") {
                                bail!("登録を中止しました");
                            }
                        }
                    }
                    fetched.pem
                }
            };
            let pw = password(&format!("{login} のパスワード: "))?;
            let label = label
                .unwrap_or_else(|| std::env::var("HOSTNAME").or_else(|_| std::env::var("COMPUTERNAME")).unwrap_or_else(|_| "PC".into()));
            let p =
                setup::setup(&home, &setup::SetupRequest { hub, office, login, password: pw, code, label, ca_pem, profile: name }).await?;
            println!(
                "登録しました: {}（{}） プロファイル「{}」 端末 {}\n次は `renkei ui` で画面を開くか、`renkei login` でログインしてください。",
                p.settings.office_name, p.settings.office, p.name, p.settings.terminal_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Profiles => {
            let all = Profile::all(&home)?;
            if all.is_empty() {
                println!("プロファイルはありません（`renkei setup` で登録します）。 {}", home.display());
            }
            for p in all {
                let who = load_session(&p).map(|s| format!("ログイン中: {}", s.user_name)).unwrap_or_else(|| "ログインしていません".into());
                println!("{}\t{}（{}）\t{}\t{}", p.name, p.settings.office_name, p.settings.office, p.settings.hub, who);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { set } => {
            let mut p = pick()?;
            for kv in &set {
                let (k, v) = kv.split_once('=').with_context(|| format!("「{kv}」は KEY=VALUE の形で書いてください"))?;
                let mut table: toml::Table = toml::from_str(&toml::to_string(&p.settings)?)?;
                let value = match v {
                    "true" | "false" => toml::Value::Boolean(v == "true"),
                    _ if v.parse::<i64>().is_ok() => toml::Value::Integer(v.parse()?),
                    _ => toml::Value::String(v.into()),
                };
                table.insert(k.replace('-', "_"), value);
                p.settings = toml::from_str(&toml::to_string(&table)?).with_context(|| format!("設定「{k}」は使えません"))?;
            }
            if !set.is_empty() {
                p.save()?;
            }
            print!("{}", toml::to_string_pretty(&p.settings)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Login { login: id } => {
            let p = pick()?;
            let id = id.unwrap_or_else(|| p.settings.login.clone());
            if id.is_empty() {
                bail!("--login でログインIDを指定してください");
            }
            login(&p, &id).await?;
            let mut p = p;
            if p.settings.login != id {
                p.settings.login = id;
                p.save()?;
            }
            println!("ログインしました。");
            Ok(ExitCode::SUCCESS)
        }
        Command::Logout => {
            let p = pick()?;
            let mut c = HubClient::for_profile(&p)?;
            if c.has_token() {
                let _ = c.logout().await;
            }
            save_session(&p, None)?;
            println!("ログアウトしました。");
            Ok(ExitCode::SUCCESS)
        }
        Command::Password => {
            let p = pick()?;
            let c = connect(&p, acting).await?;
            let current = password("今のパスワード: ")?;
            let new = if let Ok(n) = std::env::var("RENKEI_NEW_PASSWORD") {
                n
            } else {
                rpassword::prompt_password("新しいパスワード: ")?
            };
            c.change_password(&current, &new).await?;
            save_session(&p, None)?;
            println!("パスワードを変更しました。新しいパスワードでログインし直してください。");
            Ok(ExitCode::SUCCESS)
        }
        Command::EnrolmentCode => {
            let p = pick()?;
            let c = connect(&p, acting).await?;
            let code = c.enrolment_code().await?;
            let fp = setup::pem_fingerprint(&std::fs::read_to_string(p.dir.join("ca.pem"))?)?;
            println!(
                "端末登録コード: {}\n有効期限: {}（1回だけ使えます）\n連携基盤: {}\nCA証明書の指紋: {fp}",
                code.code,
                ui::jst(&code.expires_at),
                p.settings.hub
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Send { paths, to, note, dry_run, resend, format } => {
            let p = pick()?;
            let (cands, unreadable) = outgoing::collect(&paths);
            if cands.is_empty() {
                // Nothing at all to send (a mistyped path, an empty folder): could not run.
                for u in &unreadable {
                    eprintln!("読めません: {}: {}", u.source, u.reason);
                }
                bail!("送信するファイルがありません");
            }
            // Numbers whose check digit fails are asked of the registry (the truth about offices).
            let failing = outgoing::failing_numbers(&me(&p), to.as_deref(), &cands);
            let asked = if failing.is_empty() { None } else { connect(&p, acting).await.ok() };
            let registry = outgoing::registered(asked.as_ref(), &me(&p), failing).await;
            let plan = outgoing::plan(&me(&p), to.as_deref(), cands, unreadable, &registry);
            let json = format == Format::Json;
            if !json {
                print_plan(&plan);
            }
            let mut results = Vec::new();
            let mut failed = false;
            if !dry_run {
                let sendable: Vec<_> = plan.groups.iter().filter(|g| !g.files.is_empty()).collect();
                if !sendable.is_empty() {
                    let hub = connect(&p, acting).await?;
                    let state = State::open(&p.dir).await?;
                    let b = bar(sendable.len(), json);
                    for g in sendable {
                        b.set_message(g.to.clone());
                        let o = outgoing::send_one(&hub, &state, &me(&p), &g.to, &note, outgoing::group_files(&plan, g), resend).await?;
                        b.inc(1);
                        let (status, id, reason) = match &o {
                            Outcome::Sent { id } => ("sent", id.clone(), String::new()),
                            Outcome::AlreadySent { id } => ("already_sent", id.clone(), String::new()),
                            Outcome::Failed { reason, .. } => {
                                failed = true;
                                ("failed", String::new(), reason.clone())
                            }
                        };
                        if !json {
                            b.suspend(|| match &o {
                                Outcome::Sent { id } => println!("送信しました: {} へ {} ファイル（{id}）", g.to, g.files.len()),
                                Outcome::AlreadySent { id } => println!("送信済みです（二重には送りません）: {} （{id}）", g.to),
                                Outcome::Failed { reason, retry } => println!(
                                    "送信できませんでした: {}: {reason}{}",
                                    g.to,
                                    if *retry {
                                        "\n  → しばらくしてから（ネットワークや連携基盤が戻ったら）同じコマンドをもう一度実行してください（二重には送られません）"
                                    } else {
                                        ""
                                    }
                                ),
                            });
                        }
                        results.push(serde_json::json!({"to": g.to, "status": status, "message_id": id, "reason": reason, "files": g.files.iter().map(|&i| plan.files[i].name.clone()).collect::<Vec<_>>()}));
                    }
                    b.finish_and_clear();
                }
            }
            let held = plan.verdicts.iter().any(|v| !v.ok()) || !plan.unassigned.is_empty() || !plan.unreadable.is_empty();
            if json {
                print_json(&serde_json::json!({
                    "files": plan.verdicts.iter().map(|v| serde_json::json!({"name": v.name, "source": v.source, "to": v.to, "kind": v.kind, "ok": v.ok(), "errors": v.errors, "warnings": v.warnings})).collect::<Vec<_>>(),
                    "unassigned": plan.unassigned.iter().map(|&i| plan.files[i].name.clone()).collect::<Vec<_>>(),
                    "unreadable": plan.unreadable.iter().map(|u| serde_json::json!({"source": u.source, "reason": u.reason})).collect::<Vec<_>>(),
                    "messages": results,
                }))?;
            }
            Ok(if failed || held { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Contact { to, kind, month, person, units, note, resend } => {
            // Checked here by the hub's own rule before anything is asked or sent: a wrong
            // field is a usage error (2), named with its field.
            let contact = renkei_protocol::Contact::from_fields(&kind, &month, &person, &units).map_err(|e| anyhow::anyhow!(e.message))?;
            renkei_spec::ids::OfficeNumber::parse_shape(to.trim()).map_err(|e| anyhow::anyhow!("送信先「{to}」: {}", e.ja))?;
            let p = pick()?;
            let hub = connect(&p, acting).await?;
            let state = State::open(&p.dir).await?;
            let words = outgoing::Words { note, contact: Some(contact.clone()) };
            match outgoing::send_one(&hub, &state, &me(&p), to.trim(), words, Vec::new(), resend).await? {
                Outcome::Sent { id } => {
                    println!("送信しました: {} へ「{}」（{id}）", to.trim(), contact.summary_ja());
                    Ok(ExitCode::SUCCESS)
                }
                Outcome::AlreadySent { id } => {
                    println!("送信済みです（二重には送りません）: {} （{id}）。もう一度送るときは --resend", to.trim());
                    Ok(ExitCode::SUCCESS)
                }
                Outcome::Failed { reason, .. } => {
                    println!("送信できませんでした: {}: {reason}", to.trim());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Inbox { new, sender, month, format } => {
            let p = pick()?;
            let hub = connect(&p, acting).await?;
            let q = InboxQuery { status: new.then(|| "not_fetched".into()), sender, month, ..InboxQuery::default() };
            let msgs = hub.all(false, q).await?;
            list_messages(&hub, &msgs, false, format).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sent { to, format } => {
            let p = pick()?;
            let hub = connect(&p, acting).await?;
            let msgs = hub.all(true, InboxQuery { sender: to, ..InboxQuery::default() }).await?;
            list_messages(&hub, &msgs, true, format).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch { ids, dir, split, sender, format } => {
            let p = pick()?;
            let hub = connect(&p, acting).await?;
            let dir = dir.unwrap_or_else(|| p.import_dir());
            let split = split || p.settings.split_by_kind;
            let mut r = incoming::BulkFetch::default();
            if ids.is_empty() {
                r = incoming::fetch_all(&hub, &dir, split, sender.as_deref()).await?;
            } else {
                let b = bar(ids.len(), format == Format::Json);
                for id in &ids {
                    let m = hub.message(id).await?;
                    match incoming::fetch_message(&hub, &m, &dir, split).await {
                        Ok(s) => {
                            r.messages.push(m.id.clone());
                            r.saved.extend(s);
                        }
                        Err(e) => r.failed.push((id.clone(), e.to_string())),
                    }
                    b.inc(1);
                }
                b.finish_and_clear();
            }
            if format == Format::Json {
                print_json(&serde_json::json!({
                    "saved": r.saved.iter().map(|s| serde_json::json!({"message_id": s.message, "name": s.name, "path": s.path})).collect::<Vec<_>>(),
                    "failed": r.failed.iter().map(|(id, why)| serde_json::json!({"message_id": id, "reason": why})).collect::<Vec<_>>(),
                }))?;
            } else {
                for s in &r.saved {
                    println!("取得: {}", s.path.display());
                }
                for (id, why) in &r.failed {
                    println!("取得できませんでした: {id}: {why}");
                }
                println!("{}。", r.summary_ja(&dir));
            }
            Ok(if r.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Drafts { send, delete } => {
            let p = pick()?;
            let hub = connect(&p, acting).await?;
            if let Some(id) = send {
                let r = hub.send_draft(&id, &format!("draft-{id}")).await?;
                println!("下書きを送信しました（{}）", r.message.id);
            } else if let Some(id) = delete {
                hub.delete_draft(&id).await?;
                println!("下書きを削除しました。");
            } else {
                for d in hub.drafts().await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        d.id,
                        ui::jst(&d.updated_at),
                        d.to,
                        d.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(","),
                        d.updated_by
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile { month, partner, plan, actual, sikyu, format } => {
            let (plan_rows, actual_rows, sikyu_rows, provider) = match (plan, actual) {
                (Some(pf), Some(af)) => {
                    (read_slips(&pf)?, read_slips(&af)?, sikyu.as_deref().map(read_sikyu).transpose()?.unwrap_or_default(), partner)
                }
                _ => {
                    let p = pick()?;
                    let hub = connect(&p, acting).await?;
                    let partner = partner.context("--partner を指定してください")?;
                    let pr = ui::latest_slips(&hub, true, &partner, "UPPLAN", &month)
                        .await?
                        .with_context(|| format!("{month} 分の提供票（予定）を {partner} へ送った記録がありません"))?;
                    let ar = ui::latest_slips(&hub, false, &partner, "UPJSK", &month)
                        .await?
                        .with_context(|| format!("{month} 分の提供票（実績）を {partner} から受け取っていません"))?;
                    let sr = ui::latest_sikyu(&hub, &partner, &month).await?.unwrap_or_default();
                    (pr, ar, sr, Some(partner))
                }
            };
            let provider = provider.and_then(|x| renkei_spec::ids::OfficeNumber::parse_shape(&x).ok());
            let ym = renkei_spec::calendar::YearMonth::parse(&month);
            let r = renkei_spec::reconcile::reconcile(&plan_rows, &actual_rows, provider.as_ref(), ym);
            let units = renkei_spec::reconcile::reconcile_units(&sikyu_rows, &actual_rows, provider.as_ref(), ym);
            if format == Format::Json {
                print_json(&serde_json::json!({
                    "plan_lines": r.plan_lines, "actual_lines": r.actual_lines, "matched": r.matched,
                    "unit_differences": units.iter().map(|u| serde_json::json!({
                        "insurer": u.insurer, "insured": u.insured, "provider": u.provider, "service_code": u.service_code,
                        "planned_units": u.planned_units, "planned_count": u.planned_count, "actual_units": u.actual_units, "actual_count": u.actual_count,
                    })).collect::<Vec<_>>(),
                    "differences": r.differences.iter().map(|d| {
                        let l = d.line();
                        serde_json::json!({"kind": format!("{:?}", d.kind).to_lowercase(), "insurer": l.insurer, "insured": l.insured, "date": l.date.to_string(), "service_code": l.service_code,
                          "plan": d.plan.as_ref().map(|x| serde_json::json!({"start": x.start, "end": x.end, "count": x.count, "line": x.line})),
                          "actual": d.actual.as_ref().map(|x| serde_json::json!({"start": x.start, "end": x.end, "count": x.count, "line": x.line}))})
                    }).collect::<Vec<_>>(),
                }))?;
            } else {
                println!("予定 {} 行・実績 {} 行、一致 {} 行、違い {} 件", r.plan_lines, r.actual_lines, r.matched, r.differences.len());
                for d in &r.differences {
                    let l = d.line();
                    let side = |x: &Option<renkei_spec::reconcile::SlipLine>| {
                        x.as_ref().map(|x| format!("{}-{} {}回", x.start, x.end, x.count)).unwrap_or_else(|| "—".into())
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t予定 {}\t実績 {}",
                        d.kind.label_ja(),
                        l.insured,
                        l.date,
                        l.service_code,
                        side(&d.plan),
                        side(&d.actual)
                    );
                }
                if !units.is_empty() {
                    println!("単位数の違い（第7表）{} 件", units.len());
                    for (insured, code, plan, actual, diff) in ui::unit_rows(&units) {
                        println!("単位数の違い\t{insured}\t{code}\t予定 {plan}\t実績 {actual}\t差 {diff}");
                    }
                }
            }
            Ok(if r.differences.is_empty() && units.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Ui { listen, no_browser } => run_daemon(&home, cli.profile.as_deref(), &listen, !no_browser).await,
        Command::Autostart { action } => {
            use renkei_client::autostart::{self, Platform};
            let platform = Platform::current();
            let config = autostart::config_dir(platform).context("ユーザーの設定フォルダーが分かりません（HOME を設定してください）")?;
            if action == "status" {
                match autostart::registered(platform, &config) {
                    Some(true) => println!("ログオン時に常駐プログラムを起動します（登録済み）"),
                    Some(false) => println!("ログオン時の起動は登録されていません。登録するには: renkei autostart on"),
                    None => println!(
                        "タスクスケジューラーの「{}」を確認してください（schtasks /Query /TN {}）",
                        autostart::NAME,
                        autostart::NAME
                    ),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let exe = std::env::current_exe().context("このプログラムの場所が分かりません")?;
            let target = autostart::Target { exe, home: home.clone(), config };
            let on = action == "on";
            let applied = autostart::apply(&autostart::plan(platform, &target, on)).context("ログオン時の起動を登録できません")?;
            for f in &applied.files {
                println!("{}: {}", if on { "書きました" } else { "削除しました" }, f.display());
            }
            if applied.failed.is_empty() {
                println!(
                    "{}",
                    if on {
                        "ログオン時に常駐プログラム（通知・監視フォルダー・画面）を起動するよう登録しました。今も起動しています"
                    } else {
                        "ログオン時の起動をやめました"
                    }
                );
                return Ok(ExitCode::SUCCESS);
            }
            for (cmd, why) in &applied.failed {
                println!("次のコマンドが失敗しました: {cmd}{}", if why.is_empty() { String::new() } else { format!("（{why}）") });
            }
            println!(
                "設定ファイルは{}。上のコマンドを、ログオンした状態で手動で実行してください",
                if on { "書き込み済みです" } else { "削除済みです" }
            );
            Ok(ExitCode::from(1))
        }
        Command::Daemon { listen } => run_daemon(&home, cli.profile.as_deref(), &listen, false).await,
        Command::Check { paths, format, lang, allow_warnings, registered } => {
            let inputs = scan::collect(&paths)?;
            tracing::info!(files = inputs.len(), "checking");
            let registry: std::collections::BTreeSet<String> = registered.iter().map(|n| n.trim().to_owned()).collect();
            let checked = scan::check(inputs, &registry);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match format {
                Format::Human => output::human(&mut out, &checked, lang.into()).context("writing the report")?,
                Format::Json => output::json(&mut out, &checked).context("writing the report")?,
            }
            let t = checked.report.tally();
            let findings = t.errors > 0 || (t.warnings > 0 && !allow_warnings);
            Ok(if findings { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Rules { lang } => {
            output::rules(&mut std::io::stdout().lock(), lang.into())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { file, items } => {
            let bytes = std::fs::read(&file).with_context(|| format!("{} を読めません", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let report = renkei_spec::validate::check_file(&name, &bytes);
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match (&report.records, report.kind) {
                (Some(renkei_spec::validate::Records::Plan(r)), _) => {
                    for s in renkei_spec::form::slip_sheets(r, false) {
                        writeln!(out, "{}", s.to_text())?;
                    }
                }
                (Some(renkei_spec::validate::Records::Jsk(r)), _) => {
                    for s in renkei_spec::form::slip_sheets(r, true) {
                        writeln!(out, "{}", s.to_text())?;
                    }
                }
                // Every other kind: its paper form, or with --items each record as its named items.
                (_, Some(kind)) if !items && !renkei_spec::form::papers(kind, &bytes).is_empty() => {
                    for p in renkei_spec::form::papers(kind, &bytes) {
                        writeln!(out, "{}", p.to_text())?;
                    }
                }
                (_, Some(kind)) if renkei_spec::form::layout_of(kind).is_some() => {
                    let records = renkei_spec::form::item_records(kind, &bytes);
                    writeln!(out, "{}（{}） {} 件（空欄の項目は省略）", kind.name_ja(), kind.prefix(), records.len())?;
                    for (i, r) in records.iter().enumerate() {
                        write!(out, "{}", r.to_text(i + 1))?;
                    }
                }
                _ => {
                    eprintln!(
                        "{name}: 標準仕様のCSVファイルではないため、帳票として表示できません。内容の検査は `renkei check` で行えます"
                    );
                    return Ok(ExitCode::from(2));
                }
            }
            if !report.is_valid() {
                writeln!(
                    out,
                    "このファイルには誤りがあります（詳しくは `renkei check {}`）。表は読めた行だけで作っています",
                    file.display()
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Layout { kind, v3 } => {
            output::layout(&mut std::io::stdout().lock(), &kind, v3)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn normalize_fp(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn read_slips(path: &std::path::Path) -> anyhow::Result<Vec<renkei_spec::validate::Located<renkei_spec::records::Slip>>> {
    let bytes = std::fs::read(path).with_context(|| format!("{} を読めません", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let rep = renkei_spec::validate::check_file(&name, &bytes);
    match rep.records {
        Some(renkei_spec::validate::Records::Plan(v) | renkei_spec::validate::Records::Jsk(v)) => Ok(v),
        _ => bail!("{name} は提供票（UPPLAN / UPJSK）として読めません"),
    }
}

fn read_sikyu(path: &std::path::Path) -> anyhow::Result<Vec<renkei_spec::validate::Located<renkei_spec::records::Sikyu>>> {
    let bytes = std::fs::read(path).with_context(|| format!("{} を読めません", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match renkei_spec::validate::check_file(&name, &bytes).records {
        Some(renkei_spec::validate::Records::Sikyu(v)) => Ok(v),
        _ => bail!("{name} は第7表（UPSIKYU）として読めません"),
    }
}

fn print_plan(plan: &outgoing::Plan) {
    for g in &plan.groups {
        println!(
            "■ 送信先 {}: {} ファイルを送信{}",
            g.to,
            g.files.len(),
            if g.held.is_empty() { String::new() } else { format!("、{} ファイルは送りません", g.held.len()) }
        );
        for u in &g.units {
            println!("    送信単位: {u}");
        }
        for &i in g.files.iter().chain(&g.held) {
            let v = &plan.verdicts[i];
            println!("    {} {}", if v.ok() { "○" } else { "×" }, v.source);
            for e in &v.errors {
                println!("        エラー: {e}");
            }
            for w in &v.warnings {
                println!("        警告: {w}");
            }
        }
    }
    for &i in &plan.unassigned {
        let v = &plan.verdicts[i];
        println!("■ 送信先が分かりません: {}（添付ファイルは --to で送信先を指定してください）", v.source);
        for e in &v.errors {
            println!("        エラー: {e}");
        }
    }
    for u in &plan.unreadable {
        println!("■ 読めません: {}: {}", u.source, u.reason);
    }
}

/// 受信一覧 / 送信一覧 on the terminal: tab-separated with a header line, partners by name and
/// number, the first line of the message (or JSON).
async fn list_messages(hub: &HubClient, msgs: &[renkei_protocol::MessageInfo], sent: bool, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return print_json(&serde_json::to_value(msgs)?);
    }
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for m in msgs {
        let partner = if sent { &m.recipient } else { &m.sender };
        if !names.contains_key(partner) {
            let name = hub.directory(partner).await.ok().and_then(|d| d.name).filter(|n| !n.is_empty());
            names.insert(partner.clone(), name.map_or_else(|| partner.clone(), |n| format!("{n}（{partner}）")));
        }
    }
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if msgs.is_empty() {
        writeln!(out, "メッセージはありません。")?;
        return Ok(());
    }
    writeln!(
        out,
        "ID\t{}\t{}\t状況\tファイル\tメッセージ",
        if sent { "送信日時" } else { "受信日時" },
        if sent { "送信先" } else { "送信元" }
    )?;
    for m in msgs {
        let partner = if sent { &m.recipient } else { &m.sender };
        let first: String = m.note.lines().next().unwrap_or("").chars().take(40).collect();
        let note = match &m.contact {
            Some(c) if first.is_empty() => c.summary_ja(),
            Some(c) => format!("{} / {first}", c.summary_ja()),
            None => first,
        };
        let files = m.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(",");
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            m.id,
            ui::jst(&m.sent_at),
            with_agent(names.get(partner).unwrap_or(partner), m),
            m.state.label_ja(),
            if files.is_empty() { "（メッセージのみ）".to_owned() } else { files },
            note.replace('\t', " ")
        )?;
    }
    Ok(())
}

/// The partner's name, with 「代行: 名前（番号）」 when an agent sent the message.
fn with_agent(partner: &str, m: &renkei_protocol::MessageInfo) -> String {
    match &m.agent {
        Some(a) => a.after(partner),
        None => partner.to_owned(),
    }
}

fn open_browser(url: &str) {
    let r = if cfg!(target_os = "windows") {
        std::process::Command::new("cmd").args(["/C", "start", "", url]).spawn()
    } else if cfg!(target_os = "macos") {
        std::process::Command::new("open").arg(url).spawn()
    } else {
        std::process::Command::new("xdg-open").arg(url).spawn()
    };
    if let Err(e) = r {
        eprintln!("ブラウザーを開けませんでした（{e}）。次の URL を開いてください: {url}");
    }
}

async fn run_daemon(home: &std::path::Path, profile: Option<&str>, listen: &str, browser: bool) -> anyhow::Result<ExitCode> {
    let token = ui::ui_token(home)?;
    let d = daemon::Daemon::open(home, profile).await?;
    let running = match ui::serve(d.clone(), token.clone(), listen).await {
        Ok(r) => r,
        Err(e) if browser && e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse) => {
            // Already running: just open the browser on it.
            let url = format!("http://{listen}/login?token={token}");
            open_browser(&url);
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    d.spawn_loops();
    println!("連携クライアントの画面: {}\n（終了は Ctrl+C）", running.login_url);
    if browser {
        open_browser(&running.login_url);
    }
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
