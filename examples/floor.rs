//! The load floor (F_load): read every file of a snapshot directory and deserialize it into
//! minimal typed structs (only the fields netpath consumes, unknown fields skipped, strings
//! borrowed where possible); tokenize every distinct iptables chain block. No lowering, no
//! indexing. Two threads, as on the benchmark machine. Prints what it read and exits.
//!
//! `cargo run --release --example floor -- DIR`

use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The allocator the `netpath` binary uses, so that the figures compare like with like.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

type Str<'a> = Cow<'a, str>;
type Labels<'a> = BTreeMap<Str<'a>, Str<'a>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Meta<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    namespace: Option<Str<'a>>,
    #[serde(borrow, default)]
    labels: Labels<'a>,
    #[serde(borrow, default)]
    annotations: Labels<'a>,
    #[serde(borrow, default)]
    owner_references: Vec<Owner<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Owner<'a> {
    #[serde(borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    name: Str<'a>,
    controller: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum IntOrStr<'a> {
    Int(i64),
    Str(#[serde(borrow)] Str<'a>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Port<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    protocol: Option<Str<'a>>,
    container_port: Option<u16>,
    #[serde(borrow)]
    port: Option<IntOrStr<'a>>,
    #[serde(borrow)]
    target_port: Option<IntOrStr<'a>>,
    end_port: Option<u16>,
    node_port: Option<u16>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Container<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    ports: Vec<Port<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Expr<'a> {
    #[serde(borrow)]
    key: Str<'a>,
    #[serde(borrow)]
    operator: Str<'a>,
    #[serde(borrow, default)]
    values: Vec<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Selector<'a> {
    #[serde(borrow, default)]
    match_labels: Labels<'a>,
    #[serde(borrow, default)]
    match_expressions: Vec<Expr<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct IpBlock<'a> {
    #[serde(borrow)]
    cidr: Str<'a>,
    #[serde(borrow, default)]
    except: Vec<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Peer<'a> {
    #[serde(borrow)]
    pod_selector: Option<Selector<'a>>,
    #[serde(borrow)]
    namespace_selector: Option<Selector<'a>>,
    #[serde(borrow)]
    ip_block: Option<IpBlock<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Rule<'a> {
    #[serde(borrow, default)]
    from: Vec<Peer<'a>>,
    #[serde(borrow, default)]
    to: Vec<Peer<'a>>,
    #[serde(borrow, default)]
    ports: Vec<Port<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Endpoint<'a> {
    #[serde(borrow, default)]
    addresses: Vec<Str<'a>>,
    node_name: Option<Str<'a>>,
    conditions: Option<Conditions>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Conditions {
    ready: Option<bool>,
}

/// The union of the spec fields netpath reads from the kinds it knows.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Spec<'a> {
    #[serde(borrow, default)]
    containers: Vec<Container<'a>>,
    #[serde(borrow)]
    node_name: Option<Str<'a>>,
    host_network: Option<bool>,
    #[serde(borrow)]
    service_account_name: Option<Str<'a>>,
    #[serde(borrow)]
    provider_id: Option<Str<'a>>,
    #[serde(borrow)]
    cluster_ip: Option<Str<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    ports: Vec<Port<'a>>,
    #[serde(borrow)]
    pod_selector: Option<Selector<'a>>,
    selector: Option<serde_json::Value>,
    #[serde(borrow, default)]
    ingress: Vec<Rule<'a>>,
    #[serde(borrow, default)]
    egress: Vec<Rule<'a>>,
    #[serde(borrow, default)]
    policy_types: Vec<Str<'a>>,
    #[serde(borrow)]
    template: Option<Box<Object<'a>>>,
    action: Option<Str<'a>>,
    rules: Option<serde_json::Value>,
    mtls: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Address<'a> {
    #[serde(borrow)]
    address: Option<Str<'a>>,
    #[serde(borrow)]
    ip: Option<Str<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Status<'a> {
    #[serde(borrow)]
    pod_ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    pod_i_ps: Vec<Address<'a>>,
    #[serde(borrow)]
    host_ip: Option<Str<'a>>,
    #[serde(borrow)]
    phase: Option<Str<'a>>,
    #[serde(borrow, default)]
    addresses: Vec<Address<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Object<'a> {
    #[serde(borrow)]
    api_version: Option<Str<'a>>,
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow)]
    spec: Option<Spec<'a>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
    #[serde(borrow, default)]
    endpoints: Vec<Endpoint<'a>>,
    #[serde(borrow, default)]
    ports: Vec<Port<'a>>,
    #[serde(borrow, default)]
    items: Vec<Object<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct AwsPerm<'a> {
    #[serde(borrow)]
    ip_protocol: Option<Str<'a>>,
    from_port: Option<i64>,
    to_port: Option<i64>,
    #[serde(default)]
    ip_ranges: Vec<BTreeMap<Str<'a>, Str<'a>>>,
    #[serde(default)]
    user_id_group_pairs: Vec<BTreeMap<Str<'a>, Str<'a>>>,
}

/// The fields netpath reads from every `aws ec2 describe-*` output (one struct of optional
/// keys; the nested objects as the generic maps netpath walks through).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct AwsDoc<'a> {
    #[serde(borrow, default)]
    vpcs: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    subnets: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    route_tables: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    security_groups: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    network_acls: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    reservations: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    network_interfaces: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    nat_gateways: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    internet_gateways: Vec<AwsObj<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct AwsObj<'a> {
    #[serde(borrow)]
    vpc_id: Option<Str<'a>>,
    #[serde(borrow)]
    subnet_id: Option<Str<'a>>,
    #[serde(borrow)]
    cidr_block: Option<Str<'a>>,
    #[serde(borrow)]
    availability_zone: Option<Str<'a>>,
    #[serde(borrow)]
    group_id: Option<Str<'a>>,
    #[serde(borrow)]
    private_ip_address: Option<Str<'a>>,
    #[serde(borrow)]
    network_interface_id: Option<Str<'a>>,
    #[serde(borrow)]
    instance_id: Option<Str<'a>>,
    #[serde(borrow)]
    interface_type: Option<Str<'a>>,
    #[serde(borrow, default)]
    ip_permissions: Vec<AwsPerm<'a>>,
    #[serde(borrow, default)]
    ip_permissions_egress: Vec<AwsPerm<'a>>,
    #[serde(borrow, default)]
    groups: Vec<BTreeMap<Str<'a>, Str<'a>>>,
    #[serde(borrow, default)]
    ipv4_prefixes: Vec<BTreeMap<Str<'a>, Str<'a>>>,
    #[serde(borrow, default)]
    private_ip_addresses: Vec<AwsAddr<'a>>,
    #[serde(borrow, default)]
    instances: Vec<AwsObj<'a>>,
    #[serde(borrow, default)]
    network_interfaces: Vec<AwsObj<'a>>,
    #[serde(default)]
    routes: Vec<serde_json::Value>,
    #[serde(default)]
    associations: Vec<serde_json::Value>,
    #[serde(default)]
    entries: Vec<serde_json::Value>,
    #[serde(default)]
    attachment: Option<serde_json::Value>,
    #[serde(default)]
    cidr_block_association_set: Vec<serde_json::Value>,
    #[serde(default)]
    nat_gateway_addresses: Vec<serde_json::Value>,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct AwsAddr<'a> {
    #[serde(borrow)]
    private_ip_address: Option<Str<'a>>,
    primary: Option<bool>,
}

/// What one file gave: objects, and for iptables dumps the chain blocks' hashes and texts.
#[derive(Default)]
struct Tally {
    objects: usize,
    bytes: usize,
    blocks: Vec<(u64, String)>,
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Splits a dump into chain blocks (the rules of one chain in one table) and hashes each.
fn chain_blocks(text: &str, out: &mut Vec<(u64, String)>) {
    let mut table = "";
    let mut chain = "";
    let mut start = 0usize;
    let mut pos = 0usize;
    for line in text.split_inclusive('\n') {
        let here = pos;
        pos += line.len();
        if let Some(t) = line.strip_prefix('*') {
            table = t.trim_end();
            continue;
        }
        let Some(rest) = line.strip_prefix("-A ") else {
            continue;
        };
        let c = rest.split(' ').next().unwrap_or("");
        if c != chain {
            if !chain.is_empty() {
                let block = &text[start..here];
                out.push((hash(block) ^ hash(table), block.to_string()));
            }
            chain = c;
            start = here;
        }
        let _ = table;
    }
    if !chain.is_empty() {
        let block = &text[start..pos];
        out.push((hash(block), block.to_string()));
    }
}

fn read_one(path: &Path) -> Tally {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Tally::default();
    };
    let mut t = Tally {
        bytes: text.len(),
        ..Tally::default()
    };
    if text.starts_with('#') || text.starts_with('*') {
        chain_blocks(&text, &mut t.blocks);
    } else if text.contains("\"apiVersion\"") || text.contains("\"kind\"") {
        if let Ok(o) = serde_json::from_str::<Object>(&text) {
            t.objects = o.items.len().max(1);
        }
    } else if text.trim_start().starts_with('{') {
        if let Ok(d) = serde_json::from_str::<AwsDoc>(&text) {
            t.objects = d.vpcs.len()
                + d.subnets.len()
                + d.route_tables.len()
                + d.security_groups.len()
                + d.network_acls.len()
                + d.reservations.len()
                + d.network_interfaces.len()
                + d.nat_gateways.len()
                + d.internet_gateways.len();
        }
    } else if let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(&text) {
        t.objects = docs.len();
    }
    t
}

fn collect(dir: &Path, out: &mut Vec<(u64, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.metadata() {
            Ok(m) if m.is_dir() => collect(&p, out),
            Ok(m) if m.is_file() && p.extension().is_none_or(|x| x != "md") => {
                out.push((m.len(), p))
            }
            _ => {}
        }
    }
}

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: floor DIR");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    collect(Path::new(&dir), &mut files);
    // Largest first, dealt to two threads by running total.
    files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut shares: [Vec<PathBuf>; 2] = [Vec::new(), Vec::new()];
    let mut load = [0u64; 2];
    for (len, p) in files {
        let k = usize::from(load[1] < load[0]);
        load[k] += len;
        shares[k].push(p);
    }
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let hs: Vec<_> = shares
            .iter()
            .map(|share| s.spawn(move || share.iter().map(|p| read_one(p)).collect::<Vec<_>>()))
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    // Tokenize each distinct chain block once.
    let mut seen = HashSet::new();
    let (mut tokens, mut distinct_bytes) = (0usize, 0usize);
    for t in &tallies {
        for (h, block) in &t.blocks {
            if seen.insert(*h) {
                distinct_bytes += block.len();
                tokens += block.split_ascii_whitespace().count();
            }
        }
    }
    let objects: usize = tallies.iter().map(|t| t.objects).sum();
    let bytes: usize = tallies.iter().map(|t| t.bytes).sum();
    let json_bytes: usize = tallies
        .iter()
        .filter(|t| t.blocks.is_empty())
        .map(|t| t.bytes)
        .sum();
    println!(
        "floor: {} files, {:.1} MB read, {objects} objects, {} distinct chain blocks ({:.1} MB, {tokens} tokens); distinct input {:.1} MB",
        tallies.len(),
        bytes as f64 / 1e6,
        seen.len(),
        distinct_bytes as f64 / 1e6,
        (json_bytes + distinct_bytes) as f64 / 1e6
    );
}
