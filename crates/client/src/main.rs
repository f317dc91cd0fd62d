//! `renkei` — the office client (連携クライアント). Today: `renkei check`, the validator a vendor
//! runs before the national vendor test, and the reference (`rules`, `layout`).

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use renkei_client::{output, scan};
use renkei_spec::diag::Lang;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "renkei", version, about = "ケアプランデータ連携 — 連携クライアント / care-plan data exchange client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    },
    /// 検査規則（rule id）の一覧 / list every rule id
    Rules {
        /// 表示言語 / language
        #[arg(long, value_enum, default_value_t = LangArg::Ja, env = "RENKEI_LANG")]
        lang: LangArg,
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
    match run(cli) {
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { paths, format, lang, allow_warnings } => {
            let inputs = scan::collect(&paths)?;
            tracing::info!(files = inputs.len(), "checking");
            let checked = scan::check(inputs);
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
        Command::Layout { kind, v3 } => {
            output::layout(&mut std::io::stdout().lock(), &kind, v3)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
