//! `netpath collect`: gathers a snapshot from a live account and cluster with the user's own
//! `aws` and `kubectl`, writing the layout netpath reads (`aws/`, `k8s/`, `iptables/`).
//!
//! The commands are planned here ([`aws_plan`], [`kube_plan`] and the commands that depend on
//! earlier answers: listeners and attributes per load balancer, target health and attributes
//! per target group, routes per transit gateway route table, entries per prefix list); a
//! [`Runner`] executes them, so tests drive it with stand-in executables. Every command gets a
//! [`Record`]: collected, skipped (an optional CRD that is not installed), not permitted, or
//! failed, with the reason.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// What to collect and how to call the tools.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `aws --region`.
    pub region: Option<String>,
    /// `aws --profile`.
    pub profile: Option<String>,
    /// `kubectl --context`.
    pub context: Option<String>,
    /// Namespaces to read (empty: all).
    pub namespaces: Vec<String>,
    /// VPCs to keep (empty: all), as `--filters Name=vpc-id,…`.
    pub vpc_ids: Vec<String>,
    /// Nodes whose `iptables-save` to read through `kubectl debug node/NAME`.
    pub iptables_from: Vec<String>,
    /// Image for the `kubectl debug` pod.
    pub debug_image: String,
    /// Leave AWS out.
    pub no_aws: bool,
    /// Leave Kubernetes out.
    pub no_kubernetes: bool,
}

/// What one run of a tool gave.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Exit status 0.
    pub success: bool,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    /// The program could not be started (`Some(reason)`), e.g. not on PATH.
    pub spawn_error: Option<String>,
}

/// Runs a program with arguments (the real one spawns processes; tests may stand in).
pub trait Runner {
    /// Runs `program args…` to completion.
    fn run(&mut self, program: &str, args: &[String]) -> Output;
}

/// How one command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Written to its file.
    Collected,
    /// Not applicable (an optional CRD not installed); not a failure.
    Skipped(String),
    /// The account or cluster refused (AccessDenied, UnauthorizedOperation, Forbidden).
    NotPermitted(String),
    /// Anything else (tool missing, error, unreadable output).
    Failed(String),
}

/// One command and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The command line as run (`aws ec2 describe-vpcs --output json …`).
    pub command: String,
    /// The file written, relative to the output directory.
    pub file: PathBuf,
    /// What happened.
    pub status: Status,
}

/// Everything that was run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In the order run.
    pub records: Vec<Record>,
}

impl Report {
    /// Commands written to files.
    pub fn collected(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.status == Status::Collected)
            .count()
    }
    /// Commands refused or failed.
    pub fn problems(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r.status, Status::NotPermitted(_) | Status::Failed(_)))
            .count()
    }
    /// 0 all collected (skips are fine), 3 some parts missing, 2 nothing collected.
    pub fn exit_code(&self) -> i32 {
        if self.collected() == 0 {
            2
        } else if self.problems() > 0 {
            3
        } else {
            0
        }
    }
}

/// One planned command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// `aws` or `kubectl`.
    pub program: &'static str,
    /// Arguments.
    pub args: Vec<String>,
    /// File to write, relative to the output directory.
    pub file: PathBuf,
    /// A key and value to put first in the JSON written (the CONTRACT's wrapper, e.g.
    /// `TargetGroupArn`), for outputs that do not name what they describe.
    pub wrap: Option<(&'static str, String)>,
    /// An optional resource: "not installed" answers are skips.
    pub optional: bool,
    /// The output is JSON (checked before writing).
    pub json: bool,
}

fn s(v: &str) -> String {
    v.to_string()
}

/// The ec2/elbv2 calls that need no earlier answer: `(service, command, filter name)`;
/// `--filters Name=<filter>,Values=<vpc ids>` is added with `--vpc-id`.
pub const AWS_CALLS: &[(&str, &str, Option<&str>)] = &[
    ("ec2", "describe-vpcs", Some("vpc-id")),
    ("ec2", "describe-subnets", Some("vpc-id")),
    ("ec2", "describe-route-tables", Some("vpc-id")),
    ("ec2", "describe-security-groups", Some("vpc-id")),
    ("ec2", "describe-network-acls", Some("vpc-id")),
    ("ec2", "describe-network-interfaces", Some("vpc-id")),
    ("ec2", "describe-instances", Some("vpc-id")),
    (
        "ec2",
        "describe-internet-gateways",
        Some("attachment.vpc-id"),
    ),
    ("ec2", "describe-nat-gateways", Some("vpc-id")),
    ("ec2", "describe-vpc-endpoints", Some("vpc-id")),
    ("ec2", "describe-vpc-peering-connections", None),
    ("ec2", "describe-vpn-gateways", Some("attachment.vpc-id")),
    (
        "ec2",
        "describe-transit-gateway-attachments",
        Some("resource-id"),
    ),
    ("ec2", "describe-transit-gateway-route-tables", None),
    ("ec2", "describe-managed-prefix-lists", None),
    ("elbv2", "describe-load-balancers", None),
    ("elbv2", "describe-target-groups", None),
];

fn aws_common(o: &Options) -> Vec<String> {
    let mut a = vec![s("--output"), s("json")];
    if let Some(r) = &o.region {
        a.extend([s("--region"), r.clone()]);
    }
    if let Some(p) = &o.profile {
        a.extend([s("--profile"), p.clone()]);
    }
    a
}

fn aws(o: &Options, service: &str, command: &str, extra: &[String], file: String) -> Planned {
    let mut args = vec![s(service), s(command)];
    args.extend(extra.iter().cloned());
    args.extend(aws_common(o));
    Planned {
        program: "aws",
        args,
        file: PathBuf::from("aws").join(file),
        wrap: None,
        optional: false,
        json: true,
    }
}

/// The first round of AWS calls.
pub fn aws_plan(o: &Options) -> Vec<Planned> {
    AWS_CALLS
        .iter()
        .map(|(service, command, filter)| {
            let mut extra = Vec::new();
            if let (Some(f), false) = (filter, o.vpc_ids.is_empty()) {
                // describe-nat-gateways spells it --filter.
                let flag = if *command == "describe-nat-gateways" {
                    "--filter"
                } else {
                    "--filters"
                };
                extra.extend([s(flag), format!("Name={f},Values={}", o.vpc_ids.join(","))]);
            }
            aws(
                o,
                service,
                command,
                &extra,
                format!("{service}-{command}.json"),
            )
        })
        .collect()
}

/// A file-name-safe form of an id or ARN tail.
pub fn file_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The name part of an ELB ARN (`…:loadbalancer/net/NAME/ID` → `NAME-ID`,
/// `…:targetgroup/NAME/ID` → `NAME-ID`).
pub fn arn_name(arn: &str) -> String {
    let tail = arn.rsplit(':').next().unwrap_or(arn);
    let parts: Vec<&str> = tail.split('/').collect();
    let keep = if parts.first() == Some(&"loadbalancer") && parts.len() > 2 {
        &parts[2..]
    } else if parts.len() > 1 {
        &parts[1..]
    } else {
        &parts[..]
    };
    file_part(&keep.join("-"))
}

fn strings_at(v: &Value, list: &str, key: &str) -> Vec<String> {
    v.get(list)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get(key).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The calls that depend on a first-round answer (`command` is the first-round command).
pub fn aws_followups(o: &Options, command: &str, answer: &Value) -> Vec<Planned> {
    let mut out = Vec::new();
    match command {
        "describe-load-balancers" => {
            for arn in strings_at(answer, "LoadBalancers", "LoadBalancerArn") {
                let name = arn_name(&arn);
                let flag = [s("--load-balancer-arn"), arn.clone()];
                out.push(aws(
                    o,
                    "elbv2",
                    "describe-listeners",
                    &flag,
                    format!("elbv2-describe-listeners-{name}.json"),
                ));
                let mut p = aws(
                    o,
                    "elbv2",
                    "describe-load-balancer-attributes",
                    &flag,
                    format!("elbv2-describe-load-balancer-attributes-{name}.json"),
                );
                p.wrap = Some(("LoadBalancerArn", arn));
                out.push(p);
            }
        }
        "describe-target-groups" => {
            for arn in strings_at(answer, "TargetGroups", "TargetGroupArn") {
                let name = arn_name(&arn);
                let flag = [s("--target-group-arn"), arn.clone()];
                for cmd in ["describe-target-health", "describe-target-group-attributes"] {
                    let mut p = aws(o, "elbv2", cmd, &flag, format!("elbv2-{cmd}-{name}.json"));
                    p.wrap = Some(("TargetGroupArn", arn.clone()));
                    out.push(p);
                }
            }
        }
        "describe-transit-gateway-route-tables" => {
            for id in strings_at(
                answer,
                "TransitGatewayRouteTables",
                "TransitGatewayRouteTableId",
            ) {
                let extra = [
                    s("--transit-gateway-route-table-id"),
                    id.clone(),
                    s("--filters"),
                    s("Name=state,Values=active,blackhole"),
                ];
                let mut p = aws(
                    o,
                    "ec2",
                    "search-transit-gateway-routes",
                    &extra,
                    format!("ec2-search-transit-gateway-routes-{}.json", file_part(&id)),
                );
                p.wrap = Some(("TransitGatewayRouteTableId", id));
                out.push(p);
            }
        }
        "describe-managed-prefix-lists" => {
            for id in strings_at(answer, "PrefixLists", "PrefixListId") {
                let mut p = aws(
                    o,
                    "ec2",
                    "get-managed-prefix-list-entries",
                    &[s("--prefix-list-id"), id.clone()],
                    format!(
                        "ec2-get-managed-prefix-list-entries-{}.json",
                        file_part(&id)
                    ),
                );
                p.wrap = Some(("PrefixListId", id));
                out.push(p);
            }
        }
        _ => {}
    }
    out
}

/// Namespaced kinds every snapshot needs.
pub const KUBE_NAMESPACED: &[&str] = &[
    "pods",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "services",
    "endpointslices",
    "networkpolicies",
    "ingresses",
];

/// Cluster-scoped kinds every snapshot needs.
pub const KUBE_CLUSTER: &[&str] = &["namespaces", "nodes"];

/// Custom resources read when installed: `(resource, namespaced)`.
pub const KUBE_OPTIONAL: &[(&str, bool)] = &[
    ("adminnetworkpolicies.policy.networking.k8s.io", false),
    (
        "baselineadminnetworkpolicies.policy.networking.k8s.io",
        false,
    ),
    ("authorizationpolicies.security.istio.io", true),
    ("peerauthentications.security.istio.io", true),
    ("serviceentries.networking.istio.io", true),
    ("gateways.networking.istio.io", true),
    ("virtualservices.networking.istio.io", true),
    ("destinationrules.networking.istio.io", true),
    ("ippools.crd.projectcalico.org", false),
    ("eniconfigs.crd.k8s.amazonaws.com", false),
    ("securitygrouppolicies.vpcresources.k8s.aws", true),
];

fn kubectl(o: &Options, mut args: Vec<String>, file: String, optional: bool) -> Planned {
    if let Some(c) = &o.context {
        args.splice(0..0, [s("--context"), c.clone()]);
    }
    Planned {
        program: "kubectl",
        args,
        file: PathBuf::from("k8s").join(file),
        wrap: None,
        optional,
        json: false,
    }
}

fn kube_get(o: &Options, kind: &str, namespaced: bool, optional: bool) -> Vec<Planned> {
    let base = kind.split('.').next().unwrap_or(kind);
    if !namespaced {
        return vec![kubectl(
            o,
            vec![s("get"), s(kind), s("-o"), s("yaml")],
            format!("{base}.yaml"),
            optional,
        )];
    }
    if o.namespaces.is_empty() {
        return vec![kubectl(
            o,
            vec![s("get"), s(kind), s("-A"), s("-o"), s("yaml")],
            format!("{base}.yaml"),
            optional,
        )];
    }
    o.namespaces
        .iter()
        .map(|ns| {
            kubectl(
                o,
                vec![s("get"), s(kind), s("-n"), ns.clone(), s("-o"), s("yaml")],
                format!("{base}-{}.yaml", file_part(ns)),
                optional,
            )
        })
        .collect()
}

/// The Kubernetes reads: cluster-scoped kinds, namespaced kinds (all namespaces or each given
/// one), optional CRDs, and each `--iptables-from` node's `iptables-save`.
pub fn kube_plan(o: &Options) -> Vec<Planned> {
    let mut out = Vec::new();
    for k in KUBE_CLUSTER {
        out.extend(kube_get(o, k, false, false));
    }
    for k in KUBE_NAMESPACED {
        out.extend(kube_get(o, k, true, false));
    }
    for (k, namespaced) in KUBE_OPTIONAL {
        out.extend(kube_get(o, k, *namespaced, true));
    }
    for node in &o.iptables_from {
        let mut p = kubectl(
            o,
            vec![
                s("debug"),
                format!("node/{node}"),
                format!("--image={}", o.debug_image),
                s("--profile=sysadmin"),
                s("--quiet"),
                s("--attach=true"),
                s("--"),
                s("chroot"),
                s("/host"),
                s("iptables-save"),
            ],
            String::new(),
            false,
        );
        p.file = PathBuf::from("iptables").join(format!("{}.iptables-save", file_part(node)));
        out.push(p);
    }
    out
}

/// Classifies a failed run from its error text.
pub fn classify_failure(p: &Planned, out: &Output) -> Status {
    if let Some(e) = &out.spawn_error {
        return Status::Failed(format!("cannot run {}: {e}", p.program));
    }
    let err = out.stderr.trim();
    let first = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("exited with an error and said nothing")
        .trim()
        .to_string();
    let lower = err.to_ascii_lowercase();
    let not_installed = lower.contains("doesn't have a resource type")
        || lower.contains("could not find the requested resource")
        || lower.contains("no matches for kind");
    if p.optional && not_installed {
        return Status::Skipped(format!("not installed in the cluster ({first})"));
    }
    if lower.contains("accessdenied")
        || lower.contains("unauthorizedoperation")
        || lower.contains("not authorized")
        || lower.contains("forbidden")
    {
        return Status::NotPermitted(first);
    }
    Status::Failed(first)
}

/// Puts `key: value` first in a JSON object answer.
pub fn wrap(answer: Value, key: &str, value: &str) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), Value::String(value.to_string()));
    if let Value::Object(o) = answer {
        for (k, v) in o {
            if k != key {
                m.insert(k, v);
            }
        }
    }
    Value::Object(m)
}

/// The command line of a planned command, for messages.
pub fn command_line(p: &Planned) -> String {
    let mut s = p.program.to_string();
    for a in &p.args {
        s.push(' ');
        if a.contains(' ') || a.is_empty() {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(a);
        }
    }
    s
}

/// Runs one planned command and writes its file; returns the record and, for JSON answers,
/// the parsed answer (for follow-up calls).
fn run_one(runner: &mut dyn Runner, dir: &Path, p: &Planned) -> (Record, Option<Value>) {
    let out = runner.run(p.program, &p.args);
    let mut record = Record {
        command: command_line(p),
        file: p.file.clone(),
        status: Status::Collected,
    };
    if !out.success || out.spawn_error.is_some() {
        record.status = classify_failure(p, &out);
        return (record, None);
    }
    let (bytes, answer) = if p.json {
        let v: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                record.status = Status::Failed(format!("the output is not JSON: {e}"));
                return (record, None);
            }
        };
        let v = match &p.wrap {
            Some((k, val)) => wrap(v, k, val),
            None => v,
        };
        let mut text = serde_json::to_vec_pretty(&v).unwrap_or_default();
        text.push(b'\n');
        (text, Some(v))
    } else if out.stdout.iter().all(u8::is_ascii_whitespace) {
        record.status = Status::Failed("the output is empty".into());
        return (record, None);
    } else {
        (out.stdout, None)
    };
    let path = dir.join(&p.file);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, bytes));
    if let Err(e) = written {
        record.status = Status::Failed(format!("cannot write {}: {e}", path.display()));
    }
    (record, answer)
}

/// Runs every planned command (follow-ups as their parents answer), writing under `dir`;
/// `progress` hears each record as it completes, with the number of commands known so far.
pub fn collect(
    o: &Options,
    dir: &Path,
    runner: &mut dyn Runner,
    progress: &mut dyn FnMut(&Record, usize),
) -> Report {
    let mut queue: std::collections::VecDeque<Planned> = std::collections::VecDeque::new();
    if !o.no_aws {
        queue.extend(aws_plan(o));
    }
    if !o.no_kubernetes {
        queue.extend(kube_plan(o));
    }
    let mut total = queue.len();
    let mut report = Report::default();
    while let Some(p) = queue.pop_front() {
        let (record, answer) = run_one(runner, dir, &p);
        if let (Some(v), Some(cmd)) = (answer, p.args.get(1)) {
            if p.program == "aws" {
                let more = aws_followups(o, cmd, &v);
                total += more.len();
                queue.extend(more);
            }
        }
        progress(&record, total);
        report.records.push(record);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_names_are_the_name_and_id() {
        assert_eq!(
            arn_name("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/prod-ingress/3f9e"),
            "prod-ingress-3f9e"
        );
        assert_eq!(
            arn_name("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg-a/b71d"),
            "tg-a-b71d"
        );
    }

    #[test]
    fn failures_are_classified() {
        let p = kube_get(
            &Options::default(),
            "ippools.crd.projectcalico.org",
            false,
            true,
        )
        .remove(0);
        let out = |e: &str| Output {
            success: false,
            stderr: e.into(),
            ..Output::default()
        };
        assert!(matches!(
            classify_failure(
                &p,
                &out("error: the server doesn't have a resource type \"ippools\"")
            ),
            Status::Skipped(_)
        ));
        assert!(matches!(
            classify_failure(
                &p,
                &out("Error from server (Forbidden): ippools is forbidden")
            ),
            Status::NotPermitted(_)
        ));
        let a = aws_plan(&Options::default()).remove(0);
        assert!(matches!(
            classify_failure(&a, &out("\nAn error occurred (UnauthorizedOperation) when calling the DescribeVpcs operation")),
            Status::NotPermitted(m) if m.starts_with("An error occurred (UnauthorizedOperation)")
        ));
        assert!(matches!(
            classify_failure(&a, &out("Could not connect to the endpoint URL")),
            Status::Failed(_)
        ));
    }

    #[test]
    fn vpc_filters_and_wrappers() {
        let o = Options {
            vpc_ids: vec!["vpc-1".into(), "vpc-2".into()],
            region: Some("eu-west-1".into()),
            ..Options::default()
        };
        let plan = aws_plan(&o);
        let nat = plan
            .iter()
            .find(|p| p.args[1] == "describe-nat-gateways")
            .map(command_line);
        assert_eq!(
            nat.as_deref(),
            Some("aws ec2 describe-nat-gateways --filter Name=vpc-id,Values=vpc-1,vpc-2 --output json --region eu-west-1")
        );
        let v = wrap(
            serde_json::json!({"TargetHealthDescriptions": []}),
            "TargetGroupArn",
            "arn:x",
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"TargetGroupArn":"arn:x","TargetHealthDescriptions":[]}"#
        );
    }
}
