//! `signet audit`: check the signing log of a data directory or database, or an export.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use signet_store::audit::ChainCheck;
use signet_store::{AuditEntry, Store};

use crate::EXIT_USAGE;

#[derive(Args, Debug)]
#[command(after_help = "The signing log records every operation of every tenant as a hash chain: each entry
commits to the one before it, and the chain's head is timestamped by the TSA from time to time.
`verify` checks every entry's hash and link and every timestamp, and names the entry of each
edit, deletion, insertion or reordering. Exit status: 0 intact, 1 tampered, 2 unusable input.

Examples:
  signet audit verify                                 # ./signet-data, every chain
  signet audit verify --data-dir /srv/signet --tenant Acme
  signet audit verify --database-url postgres://signet@db/signet --json
  signet audit verify --file signing-log.json --tenant-id tn_…   # an export (GET /api/v1/audit/export)")]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the signing log's chains and timestamps.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// Data directory (its `signet.db`, and its CA's root to check the timestamps).
    #[arg(long, value_name = "DIR", env = "SIGNET_DATA_DIR", default_value = "signet-data")]
    data_dir: PathBuf,
    /// The database instead of DATA/signet.db (sqlite://PATH or postgres://…).
    #[arg(long, value_name = "URL", env = "SIGNET_DATABASE_URL")]
    database_url: Option<String>,
    /// Only this tenant's chain (its name or id); `-` for the operator's.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// Check an export (JSON from GET /api/v1/audit/export) instead of a database: its links
    /// and hashes (its timestamps are in the database).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["database_url", "tenant"])]
    file: Option<PathBuf>,
    /// Extra trust anchors for the timestamps (PEM or DER), besides the data directory's root.
    #[arg(long, value_name = "FILE")]
    trust: Vec<PathBuf>,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: AuditArgs) -> ExitCode {
    let AuditCommand::Verify(args) = args.command;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(verify(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Checks and prints; whether every chain is intact.
async fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    if let Some(file) = &args.file {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let entries: Vec<AuditEntry> = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a signing-log export", file.display()))?;
        let tenant = entries.first().map(|e| e.tenant_id.clone()).unwrap_or_default();
        let report = ChainCheck::over(&tenant, &entries);
        let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
        if args.json {
            println!("{}", serde_json::json!({ "chain": report, "findings": findings, "intact": findings.is_empty() }));
        } else {
            print_chain(&report.tenant_id, report.entries, report.last_seq, &report.head, 0, &findings);
        }
        return Ok(findings.is_empty());
    }
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let db = args.data_dir.join("signet.db");
            if !db.exists() {
                bail!("no database at {} (give --data-dir or --database-url)", db.display());
            }
            format!("sqlite://{}", db.display())
        }
    };
    let store = Store::open(&url).await.with_context(|| format!("opening {}", signet_store::redact(&url)))?;
    let mut trust = Vec::new();
    let root = args.data_dir.join("ca").join("root.crt");
    if let Ok(der) = std::fs::read(&root) {
        trust.extend(signet_crypto::certificates_from_pem_or_der(&der).unwrap_or_default());
    }
    for t in &args.trust {
        let bytes = std::fs::read(t).with_context(|| format!("reading {}", t.display()))?;
        trust.extend(signet_crypto::certificates_from_pem_or_der(&bytes).with_context(|| t.display().to_string())?);
    }
    let chains = match &args.tenant {
        Some(t) if t == "-" => vec![String::new()],
        Some(t) => match store.tenant(t).await {
            Ok(tenant) => vec![tenant.id],
            Err(_) => vec![store.tenant_by_name(t).await.with_context(|| format!("no tenant '{t}'"))?.id],
        },
        None => store.audit_chains().await?,
    };
    let mut intact = true;
    let mut reports = Vec::new();
    for chain in chains {
        let report =
            signet_server::audit::verify_chain(&store, &chain, &trust).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        intact &= report.intact;
        if !args.json {
            let c = &report.chain;
            print_chain(&c.tenant_id, c.entries, c.last_seq, &c.head, report.anchors.len(), &report.findings);
            for a in &report.anchors {
                if a.problem.is_none() {
                    println!(
                        "    timestamp over entry {} at {} by {}",
                        a.seq,
                        a.time.as_deref().unwrap_or("?"),
                        a.tsa.as_deref().unwrap_or("?")
                    );
                }
            }
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    store.close().await;
    Ok(intact)
}

fn print_chain(tenant: &str, entries: i64, last: i64, head: &str, anchors: usize, findings: &[String]) {
    let name = if tenant.is_empty() { "operator" } else { tenant };
    let state = if findings.is_empty() { "intact" } else { "TAMPERED" };
    println!(
        "{name}: {entries} entries (last #{last}, head {}), {anchors} timestamp(s): {state}",
        &head[..head.len().min(16)]
    );
    for f in findings {
        println!("  - {f}");
    }
}
