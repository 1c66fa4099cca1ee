//! `netpath collect -o DIR`: a snapshot from the live account and cluster, with the user's own
//! `aws` and `kubectl`.

use netpath::collect::{self, Options, Output, Record, Runner, Status};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Arguments of `collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Directory to write the snapshot to (created if missing).
    #[arg(short, long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// AWS region (`aws --region`).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile (`aws --profile`).
    #[arg(long)]
    pub profile: Option<String>,
    /// kubectl context (`kubectl --context`).
    #[arg(long)]
    pub context: Option<String>,
    /// Namespaces to read (repeat or comma-separate; default: all).
    #[arg(short = 'n', long = "namespace", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Only these VPCs (repeat or comma-separate; default: all).
    #[arg(long = "vpc-id", value_delimiter = ',')]
    pub vpc_ids: Vec<String>,
    /// Also read these nodes' `iptables-save` through `kubectl debug node/NAME`.
    #[arg(long = "iptables-from", value_name = "NODE", num_args = 1.., value_delimiter = ',')]
    pub iptables_from: Vec<String>,
    /// Image of the `kubectl debug` pod for `--iptables-from` (it runs `chroot /host iptables-save`).
    #[arg(long, default_value = "busybox:1.36")]
    pub debug_image: String,
    /// Leave AWS out (cluster only).
    #[arg(long)]
    pub no_aws: bool,
    /// Leave Kubernetes out (account only).
    #[arg(long)]
    pub no_kubernetes: bool,
}

/// Spawns the real tools (no pager, no colour, nothing read from the terminal).
struct ProcessRunner;

impl Runner for ProcessRunner {
    fn run(&mut self, program: &str, args: &[String]) -> Output {
        let result = Command::new(program)
            .args(args)
            .env("AWS_PAGER", "")
            .stdin(Stdio::null())
            .output();
        match result {
            Ok(o) => Output {
                success: o.status.success(),
                stdout: o.stdout,
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                spawn_error: None,
            },
            Err(e) => Output {
                spawn_error: Some(if e.kind() == std::io::ErrorKind::NotFound {
                    format!("`{program}` is not on PATH")
                } else {
                    e.to_string()
                }),
                ..Output::default()
            },
        }
    }
}

fn note(r: &Record) -> Option<String> {
    match &r.status {
        Status::Collected => None,
        Status::Skipped(why) => Some(format!("skipped: {}: {why}", r.command)),
        Status::NotPermitted(why) => {
            let needed = if r.command.starts_with("aws ") {
                "IAM read access (ec2:Describe*, elasticloadbalancing:Describe*)"
            } else {
                "RBAC get/list on this resource"
            };
            Some(format!(
                "not permitted: {}: {why}\n  expected: {needed}; {} is left out of the snapshot",
                r.command,
                r.file.display()
            ))
        }
        Status::Failed(why) => Some(format!("failed: {}: {why}", r.command)),
    }
}

/// Runs `collect`; returns the exit code (0 all collected, 3 some parts missing, 2 nothing).
pub fn run(a: &CollectArgs) -> i32 {
    if a.no_aws && a.no_kubernetes {
        eprintln!("error[usage]: --no-aws and --no-kubernetes leave nothing to collect");
        return super::EXIT_BAD_INPUT;
    }
    if let Err(e) = std::fs::create_dir_all(&a.output) {
        eprintln!(
            "error[collect]: {}: cannot create the directory: {e}",
            a.output.display()
        );
        return super::EXIT_BAD_INPUT;
    }
    let opts = Options {
        region: a.region.clone(),
        profile: a.profile.clone(),
        context: a.context.clone(),
        namespaces: a.namespaces.clone(),
        vpc_ids: a.vpc_ids.clone(),
        iptables_from: a.iptables_from.clone(),
        debug_image: a.debug_image.clone(),
        no_aws: a.no_aws,
        no_kubernetes: a.no_kubernetes,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
        {
            b.set_style(style);
        }
        b
    });
    let mut progress = |r: &Record, total: usize| {
        let line = note(r);
        match &bar {
            Some(b) => {
                b.set_length(total as u64);
                b.inc(1);
                b.set_message(r.file.display().to_string());
                if let Some(l) = line {
                    b.println(l);
                }
            }
            None => {
                if let Some(l) = line {
                    eprintln!("{l}");
                }
            }
        }
    };
    let report = collect::collect(&opts, &a.output, &mut ProcessRunner, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let skipped = report
        .records
        .iter()
        .filter(|r| matches!(r.status, Status::Skipped(_)))
        .count();
    eprintln!(
        "collected {} of {} into {} ({} not collected, {skipped} skipped)",
        report.collected(),
        report.records.len(),
        a.output.display(),
        report.problems()
    );
    if report.collected() > 0 {
        eprintln!(
            "next: netpath -s {} trace SRC DST --port P",
            a.output.display()
        );
    }
    report.exit_code()
}
