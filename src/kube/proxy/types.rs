//! The outcome types shared by the interpreter and the synthesizer.

use crate::source::{FileId, Provenance};
use std::fmt;
use std::net::IpAddr;

/// Where a branch's behaviour comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from a node's rules (`iptables-save` or kube-proxy's restore input).
    Observed {
        /// The dump the rules came from.
        file: FileId,
    },
    /// Derived from Services and EndpointSlices; nothing on the node was read.
    Derived {
        /// The node the behaviour was derived for.
        node: String,
    },
}

/// One rule that matched on a branch, for citing `file:line` and chain names.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRef {
    /// The table (`nat`, `filter`).
    pub table: String,
    /// The chain holding the rule.
    pub chain: String,
    /// 1-based line in the dump (0 for a derived rule).
    pub line: u32,
    /// The rule as written (or, when derived, the rule kube-proxy would write).
    pub text: String,
    /// The rule's `-m comment` (it names the service, `ns/name:port`).
    pub comment: Option<String>,
    /// Where the rule is; `None` for a derived rule.
    pub at: Option<Provenance>,
}

/// What happened to the packet on one branch.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Destination rewritten to an endpoint.
    Dnat {
        /// New destination address.
        ip: IpAddr,
        /// New destination port.
        port: u16,
    },
    /// No translation and not dropped.
    Accept {
        /// True when an `ACCEPT` rule in a non-built-in filter chain acted (e.g. a health-check
        /// nodePort); false when no rule acted and the packet went on (chain policy / fall-through).
        explicit: bool,
    },
    /// `REJECT` (ICMP port unreachable; a TCP client sees "connection refused").
    Reject,
    /// `DROP` (the client times out).
    Drop,
    /// A match or target could not be decided from the inputs; the reason names it.
    Undecidable(String),
    /// The chain walk looped (a jump cycle) or exceeded the depth bound.
    Loop(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Dnat {
                ip: IpAddr::V6(ip),
                port,
            } => write!(f, "DNAT [{ip}]:{port}"),
            Verdict::Dnat { ip, port } => write!(f, "DNAT {ip}:{port}"),
            Verdict::Accept { explicit: true } => f.write_str("ACCEPT"),
            Verdict::Accept { explicit: false } => f.write_str("no translation"),
            Verdict::Reject => f.write_str("REJECT"),
            Verdict::Drop => f.write_str("DROP"),
            Verdict::Undecidable(r) => write!(f, "undecidable: {r}"),
            Verdict::Loop(r) => write!(f, "loop: {r}"),
        }
    }
}

/// One possible path of the packet through the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyBranch {
    /// Exact probability of this branch (product of the `statistic` choices on it).
    pub probability: f64,
    /// The outcome.
    pub verdict: Verdict,
    /// True when the packet is masqueraded (KUBE-MARK-MASQ hit and MASQUERADE/SNAT applied in
    /// nat POSTROUTING, or, without POSTROUTING rules, the masquerade mark set).
    pub masquerade: bool,
    /// The service port (`ns/name:port`) named by the comments on the rules, if any.
    pub service: Option<String>,
    /// The rules that matched, in order.
    pub rules: Vec<RuleRef>,
    /// Assumptions made on this branch (session affinity assumed not hit, ...).
    pub notes: Vec<String>,
    /// Observed from a dump or derived from the API objects.
    pub origin: Origin,
}

/// All possible outcomes for one packet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProxyOutcome {
    /// The branches, in rule order; their probabilities sum to 1.
    pub branches: Vec<ProxyBranch>,
    /// Notes about the whole evaluation (walk mode, missing tables, ...).
    pub notes: Vec<String>,
}

impl ProxyOutcome {
    /// Distinct (verdict, masquerade) outcomes with their summed probability, in first-seen order.
    pub fn distribution(&self) -> Vec<(Verdict, bool, f64)> {
        let mut out: Vec<(Verdict, bool, f64)> = Vec::new();
        for b in &self.branches {
            match out
                .iter_mut()
                .find(|(v, m, _)| *v == b.verdict && *m == b.masquerade)
            {
                Some(slot) => slot.2 += b.probability,
                None => out.push((b.verdict.clone(), b.masquerade, b.probability)),
            }
        }
        out
    }
    /// The distinct DNAT destinations, in first-seen (rule) order.
    pub fn dnat_destinations(&self) -> Vec<(IpAddr, u16)> {
        let mut out = Vec::new();
        for b in &self.branches {
            if let Verdict::Dnat { ip, port } = b.verdict {
                if !out.contains(&(ip, port)) {
                    out.push((ip, port));
                }
            }
        }
        out
    }
    /// Sum of the branch probabilities (1 up to rounding).
    pub fn total_probability(&self) -> f64 {
        self.branches.iter().map(|b| b.probability).sum()
    }
}

/// How to enter the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalkMode {
    /// [`WalkMode::Hooks`] when the dump has rules in the built-in nat chains, else
    /// [`WalkMode::KubeChains`].
    #[default]
    Auto,
    /// Hook by hook from the built-in chains, in kernel order (needs `iptables-save` output).
    Hooks,
    /// Start at kube-proxy's chains directly, as upstream's test tracer does: nat KUBE-SERVICES,
    /// then filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL,
    /// then nat KUBE-POSTROUTING (for kube-proxy's restore input, which has no hook rules).
    KubeChains,
}

/// What the interpreter knows about the node and how the packet meets it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeContext {
    /// The node's addresses (`addrtype LOCAL`); loopback (127/8, ::1) is always LOCAL too.
    pub local_addresses: Vec<IpAddr>,
    /// The interface the packet arrived on (`-i`); `None` = unknown (rules testing it are undecidable).
    pub in_interface: Option<String>,
    /// The interface routing sends the packet out of (`-o`); `None` = unknown.
    pub out_interface: Option<String>,
    /// True for a packet generated on the node (nat OUTPUT instead of PREROUTING).
    pub locally_originated: bool,
    /// How to enter the rules.
    pub walk: WalkMode,
    /// `-m recent` lists (kube-proxy names them after the KUBE-SEP chain) that already hold this
    /// client: `--rcheck` on them matches (session affinity hit). Empty = first connection, every
    /// `--rcheck` misses and the branch says so in its notes.
    pub recent_hits: Vec<String>,
    /// Maximum chain nesting before the walk is reported as a loop.
    pub max_depth: usize,
    /// Maximum number of branches (forks at `statistic` rules); forks beyond it end as
    /// [`Verdict::Undecidable`] instead of growing the outcome without bound.
    pub max_branches: usize,
}

impl NodeContext {
    /// A context for a packet arriving at a node with these addresses, interfaces unknown.
    pub fn new(local_addresses: Vec<IpAddr>) -> Self {
        NodeContext {
            local_addresses,
            in_interface: None,
            out_interface: None,
            locally_originated: false,
            walk: WalkMode::Auto,
            recent_hits: Vec::new(),
            max_depth: 32,
            max_branches: 4096,
        }
    }
    /// True when `ip` is a LOCAL address of the node (loopback included).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || self.local_addresses.contains(&ip)
    }
}

/// The service port named by a kube-proxy comment (`ns/name:port ...`, `... for ns/name:port ...`).
pub(crate) fn service_in_comment(comment: &str) -> Option<String> {
    comment
        .split_whitespace()
        .find(|w| {
            w.contains('/') && !w.contains("->") && w.parse::<ipnet::IpNet>().is_err() && {
                let first = w.split('/').next().unwrap_or("");
                !first.is_empty() && !first.chars().all(|c| c.is_ascii_digit() || c == '.')
            }
        })
        .map(str::to_string)
}
