//! A node's `iptables-save` dump, parsed into tables, chains and rules.
//!
//! Both forms are represented the same way: kube-proxy's own `iptables-restore` input (no
//! built-in chains, kube-proxy's option order, `--or-mark`) and what a node prints
//! (`iptables-save`, canonical order, `--set-xmark`, counters). Each rule keeps its line number,
//! its original text, the generic matches (`-s/-d/-i/-o/-p`, each with `!`), the `-m` modules in
//! order, and its target. Unknown modules and targets are kept raw, never dropped.

use crate::source::{FileId, Provenance};
use indexmap::IndexMap;
use ipnet::IpNet;
use std::sync::Arc;

/// One node's iptables rules.
#[derive(Debug, Clone)]
pub struct IptablesDump {
    /// The node, from a `# node: NAME` comment or the file name `<node>.iptables-save`.
    pub node: Option<String>,
    /// The file the dump came from.
    pub file: FileId,
    /// The tables, in file order.
    pub tables: Vec<Table>,
    /// True when the dump warns that iptables-legacy tables exist too (so it is incomplete).
    pub legacy_tables_present: bool,
}

impl IptablesDump {
    /// The table called `name` (`nat`, `filter`, `mangle`, `raw`, `security`).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    /// The provenance of a rule, for citing `file:line`.
    pub fn provenance(&self, rule: &Rule<'_>) -> Provenance {
        Provenance::at(self.file, rule.line, 1)
    }
    /// Total number of rules in all tables.
    pub fn rule_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.chains.values())
            .map(|c| c.entries.len())
            .sum()
    }
}

/// The hasher of [`Table::chains`]: fast and non-cryptographic (keys are the dump's own chain
/// names; iteration follows declaration order either way).
pub type ChainHasher = foldhash::fast::RandomState;

/// One table (`*nat` … `COMMIT`).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// `nat`, `filter`, `mangle`, `raw` or `security`.
    pub name: String,
    /// Line of the `*name` header.
    pub line: u32,
    /// Chains by name, in declaration order.
    pub chains: IndexMap<Arc<str>, Chain, ChainHasher>,
}

impl Table {
    /// A chain by name.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.get(name)
    }
}

/// A chain of one dump: where it stands in the file, and its content.
///
/// The content ([`ChainBody`], reached through `Deref`) is shared by every dump whose chain
/// reads the same (nodes repeat most of kube-proxy's chains word for word, often at other
/// lines); its rules are stored at lines relative to the chain's first rule, and `base` puts
/// them back at this dump's own lines, so citations remain exact per node.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Line of the `:NAME` declaration (0 for a built-in chain used without one).
    pub line: u32,
    /// The line the rules' offsets count from (the chain's first rule line in this dump).
    base: u32,
    /// Name, policy, counters and rules, shared between dumps.
    body: Arc<ChainBody>,
}

impl Chain {
    /// A chain declared on `line` whose rule offsets count from line `base`.
    pub fn new(line: u32, base: u32, body: Arc<ChainBody>) -> Self {
        Chain { line, base, body }
    }
    /// The rules, in order, each at its line in this dump.
    pub fn rules(&self) -> Rules<'_> {
        Rules {
            base: self.base,
            entries: &self.body.entries,
        }
    }
    /// The shared content.
    pub fn body(&self) -> &Arc<ChainBody> {
        &self.body
    }
}

impl std::ops::Deref for Chain {
    type Target = ChainBody;
    fn deref(&self) -> &ChainBody {
        &self.body
    }
}

/// What a chain says, independent of where it stands (see [`Chain`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChainBody {
    /// The chain name.
    pub name: Arc<str>,
    /// Policy of a built-in chain (`ACCEPT`/`DROP`); `None` for user chains (`-`).
    pub policy: Option<String>,
    /// Counters from the declaration, `[packets:bytes]`.
    pub counters: Option<Counters>,
    /// The rules, in order, at lines relative to the chain's base.
    pub entries: Vec<ChainEntry>,
}

/// One rule of a [`ChainBody`]: its line relative to the chain's base, and its parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainEntry {
    /// Line minus the chain's base.
    pub offset: u32,
    /// The parsed line, shared by every dump that has the same line.
    pub body: Arc<RuleBody>,
}

/// The rules of one chain of one dump, at that dump's lines.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    base: u32,
    entries: &'a [ChainEntry],
}

impl<'a> Rules<'a> {
    /// How many rules.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The rule at position `i`.
    pub fn get(&self, i: usize) -> Option<Rule<'a>> {
        self.entries.get(i).map(|e| self.at(e))
    }
    /// The last rule.
    pub fn last(&self) -> Option<Rule<'a>> {
        self.entries.last().map(|e| self.at(e))
    }
    /// The rules in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Rule<'a>> + ExactSizeIterator + 'a {
        let base = self.base;
        self.entries.iter().map(move |e| Rule {
            line: base + e.offset,
            body: &e.body,
        })
    }
    fn at(&self, e: &'a ChainEntry) -> Rule<'a> {
        Rule {
            line: self.base + e.offset,
            body: &e.body,
        }
    }
}

/// Packet and byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// An address match, `[!] -s/-d CIDR` (a bare address is a host prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrMatch {
    /// `!` given.
    pub negated: bool,
    /// The prefix.
    pub net: IpNet,
}

/// An interface match, `[!] -i/-o NAME` (`+` at the end is a prefix wildcard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceMatch {
    /// `!` given.
    pub negated: bool,
    /// The name as written (e.g. `eni+`).
    pub name: String,
}

impl IfaceMatch {
    /// Whether an interface name matches (ignoring negation).
    pub fn name_matches(&self, iface: &str) -> bool {
        match self.name.strip_suffix('+') {
            Some(prefix) => iface.starts_with(prefix),
            None => iface == self.name,
        }
    }
}

/// A protocol match, `[!] -p tcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoMatch {
    /// `!` given.
    pub negated: bool,
    /// The protocol as written, lower-cased (`tcp`, `udp`, `sctp`, `icmp`, `all`, a number).
    pub protocol: String,
}

/// A port or port range with negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMatch {
    /// `!` given.
    pub negated: bool,
    /// Inclusive ranges (one for `--dport`, several for `multiport`).
    pub ranges: Vec<(u16, u16)>,
}

/// An option given to a module or target that netpath keeps without interpreting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    /// `!` given before the option.
    pub negated: bool,
    /// The option, e.g. `--tcp-flags`.
    pub name: String,
    /// Its arguments.
    pub args: Vec<String>,
}

/// `-m recent` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecentAction {
    /// `--set`.
    Set,
    /// `--rcheck`.
    Rcheck,
    /// `--update`.
    Update,
    /// `--remove`.
    Remove,
}

/// A `-m MODULE` match with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// `-m comment --comment TEXT` (unquoted and unescaped).
    Comment(String),
    /// `-m tcp|udp|sctp [--dport] [--sport]` (also the implicit form after `-p`).
    Ports {
        /// `tcp`, `udp` or `sctp`.
        module: String,
        /// `--dport`/`--destination-port`.
        dport: Option<PortMatch>,
        /// `--sport`/`--source-port`.
        sport: Option<PortMatch>,
        /// Other options (`--tcp-flags`, `--syn`).
        other: Vec<RawOption>,
    },
    /// `-m multiport --dports/--sports/--ports`.
    Multiport {
        /// `--dports`.
        dports: Option<PortMatch>,
        /// `--sports`.
        sports: Option<PortMatch>,
        /// `--ports` (either side).
        ports: Option<PortMatch>,
    },
    /// `-m addrtype`.
    Addrtype {
        /// `[!] --src-type TYPE[,TYPE]`.
        src_type: Option<(bool, Vec<String>)>,
        /// `[!] --dst-type TYPE[,TYPE]`.
        dst_type: Option<(bool, Vec<String>)>,
        /// `--limit-iface-in`.
        limit_iface_in: bool,
        /// `--limit-iface-out`.
        limit_iface_out: bool,
    },
    /// `-m statistic`.
    Statistic {
        /// `--mode random|nth`.
        mode: String,
        /// `--probability`, parsed.
        probability: Option<f64>,
        /// `--probability` as written (`0.5000000000`, `0.33333333349`).
        probability_text: Option<String>,
        /// `--every N` (nth mode).
        every: Option<u64>,
        /// `--packet N` (nth mode).
        packet: Option<u64>,
        /// `!` before the mode/probability.
        negated: bool,
    },
    /// `-m recent`.
    Recent {
        /// `--name` (default `DEFAULT`).
        name: String,
        /// The action.
        action: Option<RecentAction>,
        /// `!` before the action.
        negated: bool,
        /// `--seconds`.
        seconds: Option<u64>,
        /// `--hitcount`.
        hitcount: Option<u64>,
        /// `--reap`.
        reap: bool,
        /// `--rsource` (default) or `--rdest`: true for destination.
        rdest: bool,
        /// `--mask`.
        mask: Option<String>,
    },
    /// `-m mark [!] --mark VALUE[/MASK]`.
    Mark {
        /// `!` given.
        negated: bool,
        /// The value.
        value: u32,
        /// The mask (all ones when absent).
        mask: u32,
    },
    /// `-m conntrack`.
    Conntrack {
        /// `[!] --ctstate S1,S2`.
        ctstate: Option<(bool, Vec<String>)>,
        /// Other options (`--ctstatus`, `--ctorigdst`...).
        other: Vec<RawOption>,
    },
    /// `-m state [!] --state S1,S2`.
    State {
        /// `!` given.
        negated: bool,
        /// The states.
        states: Vec<String>,
    },
    /// `-m set [!] --match-set NAME FLAGS`.
    Set {
        /// `!` given.
        negated: bool,
        /// The ipset name.
        name: String,
        /// `src`, `dst` flags.
        flags: Vec<String>,
        /// Other options.
        other: Vec<RawOption>,
    },
    /// `-m physdev` (options kept raw).
    Physdev(Vec<RawOption>),
    /// `-m nfacct --nfacct-name NAME` (always matches).
    Nfacct(String),
    /// Any other module, options kept raw.
    Other {
        /// The module name.
        module: String,
        /// Its options.
        options: Vec<RawOption>,
    },
}

/// How a `MARK`/`CONNMARK` target changes the mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkOp {
    /// `--set-xmark V/M`: `mark = (mark & !M) ^ V`.
    SetXmark {
        /// V.
        value: u32,
        /// M.
        mask: u32,
    },
    /// `--set-mark V[/M]`: `mark = (mark & !M) | V`.
    SetMark {
        /// V.
        value: u32,
        /// M.
        mask: u32,
    },
    /// `--or-mark V`.
    Or(u32),
    /// `--xor-mark V`.
    Xor(u32),
    /// `--and-mark V`.
    And(u32),
    /// Anything else (e.g. CONNMARK `--restore-mark`), kept raw.
    Other(Vec<RawOption>),
}

/// What a rule does when it matches (`-j`/`-g`).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `ACCEPT`.
    Accept,
    /// `DROP`.
    Drop,
    /// `RETURN`.
    Return,
    /// `REJECT [--reject-with TYPE]`.
    Reject {
        /// `--reject-with`.
        with: Option<String>,
    },
    /// `DNAT --to-destination ADDR[:PORT]`.
    Dnat {
        /// `--to-destination` as written.
        to_destination: Option<String>,
        /// Other options (`--random`, `--persistent`).
        other: Vec<RawOption>,
    },
    /// `SNAT --to-source ADDR[:PORT]`.
    Snat {
        /// `--to-source` as written.
        to_source: Option<String>,
        /// `--random-fully`.
        random_fully: bool,
        /// Other options.
        other: Vec<RawOption>,
    },
    /// `MASQUERADE`.
    Masquerade {
        /// `--random-fully`.
        random_fully: bool,
        /// Other options (`--to-ports`, `--random`).
        other: Vec<RawOption>,
    },
    /// `MARK`.
    Mark(MarkOp),
    /// `CONNMARK`.
    Connmark(MarkOp),
    /// A jump to (or, with `goto`, a goto to) a user chain of the same table.
    Chain(String),
    /// Any other target extension (`LOG`, `CT`, `NOTRACK`...), options kept raw.
    Other {
        /// The target name.
        name: String,
        /// Its options.
        options: Vec<RawOption>,
    },
}

/// One rule (`-A CHAIN ...`) at its own line of one dump.
///
/// The parsed content is shared: dumps of several nodes repeat most rule lines word for word,
/// and each distinct line is parsed and held once ([`RuleBody`], reached through `Deref`),
/// while `line` is this dump's own line, so citations remain exact per node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule<'a> {
    /// 1-based line in the dump.
    pub line: u32,
    /// The parsed line, shared by every dump that has the same line.
    pub body: &'a Arc<RuleBody>,
}

impl std::ops::Deref for Rule<'_> {
    type Target = RuleBody;
    fn deref(&self) -> &RuleBody {
        self.body
    }
}

/// What a rule line says, independent of where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleBody {
    /// The line as written.
    pub text: String,
    /// `[packets:bytes]` prefix (`iptables-save -c`).
    pub counters: Option<Counters>,
    /// `-s`.
    pub src: Option<AddrMatch>,
    /// `-d`.
    pub dst: Option<AddrMatch>,
    /// `-i`.
    pub in_iface: Option<IfaceMatch>,
    /// `-o`.
    pub out_iface: Option<IfaceMatch>,
    /// `-p`.
    pub protocol: Option<ProtoMatch>,
    /// `[!] -f` (fragments).
    pub fragment: Option<bool>,
    /// The `-m` modules, in order.
    pub matches: Vec<Match>,
    /// The target; `None` for a rule with no `-j` (it matches and does nothing).
    pub target: Option<Target>,
    /// True for `-g` (goto: no return to this chain).
    pub goto: bool,
}

impl RuleBody {
    /// The rule's comment, if any.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match m {
            Match::Comment(c) => Some(c.as_str()),
            _ => None,
        })
    }
    /// The user chain this rule jumps (or goes) to.
    pub fn jump_chain(&self) -> Option<&str> {
        match &self.target {
            Some(Target::Chain(c)) => Some(c),
            _ => None,
        }
    }
}
