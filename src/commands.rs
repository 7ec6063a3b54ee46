//! `plan` and `sync`: read sources and provider, plan, print, and (for sync) apply.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use zonesync_core::{ErrorChain, Provider};

use crate::apply::ApplyMode;
use crate::cli::{Cli, Command, CommonArgs, LogFormat};
use crate::config::{Config, SourceMode};
use crate::controller::index::DesiredIndex;
use crate::controller::reconcile::{Reconciler, Scope};
use crate::flags::GivenFlags;
use crate::plan::Plan;
use crate::render::{self, OutputFormat};
use crate::source::{SourceSnapshot, manifest};

/// Exit status: success, or no changes for `plan`.
pub const EXIT_OK: u8 = 0;
/// Exit status: an error.
pub const EXIT_ERROR: u8 = 1;
/// Exit status of `plan` when there are changes.
pub const EXIT_CHANGES: u8 = 2;

/// Parses the command line, runs the command and returns the process exit status.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // One TLS crypto provider for the whole process (kube, AWS SDK): aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Usage errors exit 1 like every other error: 2 means "changes" for `plan`.
    let mut command = Cli::command();
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            if let Some(message) = crate::external_dns_flags::explain_parse_error(&error) {
                eprintln!("error: {message}");
                return ExitCode::from(EXIT_ERROR);
            }
            let error = error.format(&mut command);
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            });
        }
    };
    let flags = GivenFlags::new(&command, &matches);
    let common = match &cli.command {
        Command::Plan(args) => &args.common,
        Command::Sync(args) => &args.common,
        Command::Run(args) => &args.common,
    };
    init_logging(common);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(run(cli, &flags));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprint!("{}", error_report(&error, &flags));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// What a failed command prints on stderr: `error: ` and the error with each cause once, then
/// a note for each flag it names whose value came from an environment variable.
pub fn error_report(error: &anyhow::Error, flags: &GivenFlags) -> String {
    let error: &(dyn std::error::Error + 'static) = error.as_ref();
    let message = ErrorChain(error).to_string();
    let mut report = format!("error: {message}\n");
    for note in flags.environment_notes(&message) {
        report.push_str(&format!("note: {note}\n"));
    }
    report
}

/// `--check-config`: the effective configuration, after it was validated.
fn print_config(flags: &GivenFlags, format: OutputFormat) {
    match format {
        OutputFormat::Json => print!("{}", flags.render_json()),
        _ => print!("{}", flags.render_text()),
    }
}

fn init_logging(args: &CommonArgs) {
    // external-dns's level names (logrus) that tracing spells differently; "warning" alone
    // would otherwise read as a filter on a target called "warning" and silence every log.
    let level = match args.log_level.trim() {
        "warning" => "warn",
        "panic" | "fatal" => "error",
        other => other,
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn run(cli: Cli, flags: &GivenFlags) -> anyhow::Result<u8> {
    let common = match &cli.command {
        Command::Plan(args) => &args.common,
        Command::Sync(args) => &args.common,
        Command::Run(args) => &args.common,
    };
    if common.txt_cache_interval.is_some() && !common.check_config {
        tracing::info!(
            "--txt-cache-interval is accepted for external-dns compatibility and ignored: zonesync keeps every zone cached and patches the cache after its own writes"
        );
    }
    match cli.command {
        Command::Plan(args) => one_shot(&args.common, args.output, ApplyMode::DryRun, flags).await,
        Command::Sync(args) => one_shot(&args.common, args.output, ApplyMode::Apply, flags).await,
        Command::Run(args) => {
            let config = crate::config::RunConfig::from_args(&args)?;
            if args.common.check_config {
                print_config(flags, OutputFormat::Text);
                return Ok(EXIT_OK);
            }
            if config.once {
                // One pass through the same path as `sync` (or `plan` with --dry-run), with
                // sync's exit codes: changes a dry run would make are not an error.
                let mode = if config.dry_run {
                    ApplyMode::DryRun
                } else {
                    ApplyMode::Apply
                };
                let code = one_shot(&args.common, OutputFormat::Text, mode, flags).await?;
                return Ok(if code == EXIT_CHANGES { EXIT_OK } else { code });
            }
            crate::controller::run(config).await?;
            Ok(EXIT_OK)
        }
    }
}

/// `plan` (dry run) and `sync`: compute the plan, print it, apply it unless dry-running.
///
/// They take the controller's path once over every name: the sources fill the desired-state
/// index, and the [`Reconciler`] reads the zones, plans, holds back what the safety thresholds
/// refuse and applies.
///
/// Exit status: 0 nothing to do (plan) or success (sync); 2 changes (plan); 1 when the safety
/// thresholds held changes back or anything failed.
async fn one_shot(
    args: &CommonArgs,
    output: OutputFormat,
    mode: ApplyMode,
    flags: &GivenFlags,
) -> anyhow::Result<u8> {
    let config = Config::from_args(args)?;
    if args.check_config {
        print_config(flags, output);
        return Ok(EXIT_OK);
    }
    let provider: Arc<dyn Provider> = Arc::from(
        config
            .provider
            .build()
            .await
            .context(config.provider.flag())?,
    );
    let index = Mutex::new(read_sources(&config).await?);
    let mut reconciler = Reconciler::new(
        provider,
        config.registry.clone(),
        config.plan.clone(),
        config.safety,
        mode,
    )
    .one_shot();
    let plan = reconciler.plan(&index, Scope::All { reread: true }).await?;
    print_plan(&plan, output)?;
    let report = reconciler.apply(plan).await;
    let (plan, outcome) = (report.plan, report.outcome);
    for refusal in &plan.refusals {
        eprintln!("error: {refusal}");
    }
    if !outcome.is_success() {
        eprint!("error: sync failed:\n{outcome}");
        return Ok(EXIT_ERROR);
    }
    if !plan.refusals.is_empty() {
        return Ok(EXIT_ERROR);
    }
    if mode == ApplyMode::DryRun {
        return Ok(if plan.has_changes() {
            EXIT_CHANGES
        } else {
            EXIT_OK
        });
    }
    if plan.has_changes() && output == OutputFormat::Text {
        let counts = plan.counts();
        println!(
            "Applied: {} created, {} updated, {} deleted.",
            counts.create, counts.update, counts.delete
        );
    }
    Ok(EXIT_OK)
}

fn print_plan(plan: &Plan, format: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = render::render(plan, format, color);
    let mut handle = stdout.lock();
    handle.write_all(text.as_bytes())?;
    handle.flush()?;
    Ok(())
}

/// Reads the sources once into a desired-state index, as the controller's watches fill it.
/// An object without targets keeps its records for `--target-grace-period`, which a one-shot
/// run never outlives: it never deletes for that reason.
///
/// Fails when any source cannot be read completely: a partial read must never become a plan.
pub async fn read_sources(config: &Config) -> anyhow::Result<DesiredIndex> {
    let snapshot: SourceSnapshot = match &config.source_mode {
        SourceMode::Manifests(paths) => {
            let objects = manifest::load(paths, &config.source.crd).context("--manifest")?;
            manifest::snapshot(&objects, &config.source)
        }
        SourceMode::Cluster { kubeconfig } => {
            let client =
                crate::cluster::client(kubeconfig.as_deref(), config.request_timeout, false)
                    .await?;
            crate::cluster::list_snapshot(&client, &config.source).await?
        }
    };
    let mut index = DesiredIndex::new(config.target_grace);
    for outcome in snapshot.outcomes {
        index.upsert(outcome);
    }
    Ok(index)
}
