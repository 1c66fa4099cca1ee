//! AWS CLI JSON (`aws ec2 describe-*`, `aws elbv2 describe-*`): raw serde structs, lowered
//! into [`crate::model::Cloud`].
//!
//! [`AwsCollector::read`] deserialises each file with one typed struct ([`raw::RawFile`]), so
//! type errors carry serde's line and column; [`AwsCollector::lower`] runs once all files are
//! read, because objects refer to each other across files (and accounts).

mod lower;
pub mod raw;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::Snapshot;
use crate::source::{locate_json_path, top_level_keys, FileId, Provenance};
use std::collections::BTreeMap;

/// Top-level keys this module lowers (plus wrapper keys naming the object a call was about).
const LOWERED_KEYS: &[&str] = &[
    "Vpcs",
    "Subnets",
    "RouteTables",
    "SecurityGroups",
    "NetworkAcls",
    "NetworkInterfaces",
    "Reservations",
    "InternetGateways",
    "EgressOnlyInternetGateways",
    "NatGateways",
    "VpcPeeringConnections",
    "TransitGateways",
    "TransitGatewayAttachments",
    "TransitGatewayVpcAttachments",
    "TransitGatewayRouteTables",
    "TransitGatewayPropagations",
    "TransitGatewayRouteTablePropagations",
    "TransitGatewayStaticRoutes",
    "Routes",
    "TransitGatewayRouteTableId",
    "PrefixLists",
    "Entries",
    "PrefixListId",
    "VpcEndpoints",
    "VpnGateways",
    "VpnConnections",
    "LoadBalancers",
    "TargetGroups",
    "Listeners",
    "LoadBalancerListeners",
    "TargetHealthDescriptions",
    "LoadBalancerTargetHealth",
    "TargetGroupArn",
    "LoadBalancerAttributes",
    "TargetGroupAttributes",
    "Attributes",
    "LoadBalancerArn",
];

/// Keys accepted without comment: pagination, or data netpath gets elsewhere (Elastic IPs are on
/// the ENIs, customer gateways on the VPN connections).
const SILENT_KEYS: &[&str] = &[
    "NextToken",
    "AdditionalRoutesAvailable",
    "Addresses",
    "AvailabilityZones",
    "CustomerGateways",
    "Tags",
    "ServiceNames",
    "ServiceDetails",
    "ResponseMetadata",
];

/// One deserialised AWS file.
#[derive(Debug)]
pub(crate) struct Doc {
    /// The file.
    pub file: FileId,
    /// Its content.
    pub raw: raw::RawFile,
}

/// Collects the AWS documents of a snapshot; lowering happens once all files are read, because
/// objects refer to each other across files.
#[derive(Debug, Default)]
pub struct AwsCollector {
    docs: Vec<Doc>,
    unmodelled: BTreeMap<String, Vec<FileId>>,
}

impl AwsCollector {
    /// Deserialises one AWS JSON file.
    pub fn read(&mut self, file: FileId, text: &str, diags: &mut Diagnostics) {
        let text = text.trim_start_matches('\u{feff}');
        for key in top_level_keys(text).unwrap_or_default() {
            if !LOWERED_KEYS.contains(&key.as_str()) && !SILENT_KEYS.contains(&key.as_str()) {
                self.unmodelled.entry(key).or_default().push(file);
            }
        }
        match serde_json::from_str::<raw::RawFile>(text) {
            Ok(raw) => self.docs.push(Doc { file, raw }),
            Err(e) => diags.push(shape_error(file, text, &e)),
        }
    }

    /// Lowers everything read into the snapshot's cloud model and validates references.
    pub fn lower(self, snap: &mut Snapshot, diags: &mut Diagnostics) {
        if !self.unmodelled.is_empty() {
            let list: Vec<String> = self
                .unmodelled
                .iter()
                .map(|(k, files)| format!("{k} ({} file(s))", files.len()))
                .collect();
            diags.push(Diagnostic {
                severity: Severity::Unsupported,
                code: "unsupported-aws",
                message: format!(
                    "AWS inputs netpath does not model were ignored: {}",
                    list.join(", ")
                ),
                at: None,
                expected: None,
            });
        }
        lower::lower(&self.docs, snap, diags);
    }
}

/// What a top-level key should hold, for `json-shape` messages.
fn expected_for(key: &str) -> String {
    let call = match key {
        "Vpcs" => "aws ec2 describe-vpcs",
        "Subnets" => "aws ec2 describe-subnets",
        "RouteTables" => "aws ec2 describe-route-tables",
        "SecurityGroups" => "aws ec2 describe-security-groups",
        "NetworkAcls" => "aws ec2 describe-network-acls",
        "NetworkInterfaces" => "aws ec2 describe-network-interfaces",
        "Reservations" => "aws ec2 describe-instances",
        "InternetGateways" => "aws ec2 describe-internet-gateways",
        "EgressOnlyInternetGateways" => "aws ec2 describe-egress-only-internet-gateways",
        "NatGateways" => "aws ec2 describe-nat-gateways",
        "VpcPeeringConnections" => "aws ec2 describe-vpc-peering-connections",
        "TransitGateways" => "aws ec2 describe-transit-gateways",
        "TransitGatewayAttachments" => "aws ec2 describe-transit-gateway-attachments",
        "TransitGatewayVpcAttachments" => "aws ec2 describe-transit-gateway-vpc-attachments",
        "TransitGatewayRouteTables" => "aws ec2 describe-transit-gateway-route-tables",
        "TransitGatewayRouteTablePropagations" => {
            "aws ec2 get-transit-gateway-route-table-propagations"
        }
        "Routes" => "aws ec2 search-transit-gateway-routes",
        "PrefixLists" => "aws ec2 describe-managed-prefix-lists",
        "Entries" => "aws ec2 get-managed-prefix-list-entries",
        "VpcEndpoints" => "aws ec2 describe-vpc-endpoints",
        "VpnGateways" => "aws ec2 describe-vpn-gateways",
        "VpnConnections" => "aws ec2 describe-vpn-connections",
        "LoadBalancers" => "aws elbv2 describe-load-balancers",
        "TargetGroups" => "aws elbv2 describe-target-groups",
        "Listeners" => "aws elbv2 describe-listeners",
        "TargetHealthDescriptions" => "aws elbv2 describe-target-health",
        "Attributes" => "aws elbv2 describe-load-balancer-attributes",
        _ => "",
    };
    if call.is_empty() {
        format!("\"{key}\" as written by the AWS CLI (--output json) or netpath collect")
    } else {
        format!("\"{key}\": a list of objects, the unmodified output of `{call} --output json`")
    }
}

/// A `json-shape` diagnostic for a serde type error, naming the top-level key it happened under.
fn shape_error(file: FileId, text: &str, e: &serde_json::Error) -> Diagnostic {
    let line = e.line() as u32;
    let col = e.column() as u32;
    // The top-level key whose value starts last before the error position holds the error
    // (serde reports the column of the last character read, which may precede the value).
    let key = top_level_keys(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|k| locate_json_path(text, &k).map(|lc| (lc, k)))
        .filter(|(lc, _)| (lc.line, lc.col) <= (line, col + 1))
        .max_by_key(|(lc, _)| (lc.line, lc.col))
        .map(|(_, k)| k);
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let expected = match &key {
        Some(k) => expected_for(k),
        None => "the unmodified JSON output of one aws CLI call".to_string(),
    };
    let under = key.map(|k| format!(" under \"{k}\"")).unwrap_or_default();
    Diagnostic::error(
        "json-shape",
        Provenance::at(file, line, col),
        format!("unexpected JSON shape{under}: {msg}"),
    )
    .expected(expected)
}
