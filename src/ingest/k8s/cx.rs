//! The lowering context: typed accessors over [`Node`] that report every shape problem as a
//! located [`Diagnostic`] and go on, plus the shared Kubernetes pieces (metadata, selectors,
//! ports, protocols, CIDRs).

use super::tree::{Node, Val};
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::cluster::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, ObjectRef, OwnerReference, PortRef,
    SelectorOperator, StringMap,
};
use crate::model::Protocol;
use crate::source::{FileId, LineCol, Provenance};
use ipnet::IpNet;
use std::net::IpAddr;

/// Lowering state for one file.
pub(crate) struct Cx<'a> {
    /// The file being read.
    pub file: FileId,
    /// Where problems go.
    pub diags: &'a mut Diagnostics,
    /// Start of the current document, the fallback position.
    pub doc_at: LineCol,
}

impl Cx<'_> {
    /// The provenance of a node (the document start when the node's position is unknown).
    pub fn prov(&self, n: &Node) -> Provenance {
        let at = if n.at.line > 0 { n.at } else { self.doc_at };
        Provenance::at(self.file, at.line.max(1), at.col.max(1))
    }

    /// An error at a node.
    pub fn error(
        &mut self,
        code: &'static str,
        n: &Node,
        message: impl Into<String>,
        expected: impl Into<String>,
    ) {
        let d = Diagnostic::error(code, self.prov(n), message).expected(expected);
        self.diags.push(d);
    }

    /// A `k8s-shape` error: the field has the wrong type.
    pub fn shape(&mut self, n: &Node, field: &str, expected: &str) {
        let msg = format!("`{field}` is {}", n.type_name());
        self.error("k8s-shape", n, msg, format!("{field}: {expected}"));
    }

    /// A string field; numbers and booleans are accepted as their text.
    pub fn str(&mut self, n: &Node, key: &str) -> Option<String> {
        let v = n.get(key)?;
        self.as_str(v, key)
    }

    /// A node as a string (numbers and booleans as their text).
    pub fn as_str(&mut self, v: &Node, field: &str) -> Option<String> {
        match &v.v {
            Val::Str(s) => Some(s.to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Null => None,
            _ => {
                self.shape(v, field, "a string");
                None
            }
        }
    }

    /// A boolean field (`"true"`/`"false"` strings accepted).
    pub fn bool(&mut self, n: &Node, key: &str) -> Option<bool> {
        let v = n.get(key)?;
        match &v.v {
            Val::Bool(b) => Some(*b),
            Val::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Val::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.shape(v, key, "true or false");
                None
            }
        }
    }

    /// An integer field.
    pub fn int(&mut self, n: &Node, key: &str) -> Option<i64> {
        let v = n.get(key)?;
        match &v.v {
            Val::Int(i) => Some(*i),
            Val::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Some(*f as i64),
            _ => {
                self.shape(v, key, "an integer");
                None
            }
        }
    }

    /// A mapping field (`None` when absent, null, or not a mapping — the last reported).
    pub fn obj<'n, 't>(&mut self, n: &'n Node<'t>, key: &str) -> Option<&'n Node<'t>> {
        let v = n.get(key)?;
        if v.is_map() {
            Some(v)
        } else {
            self.shape(v, key, "a mapping");
            None
        }
    }

    /// A list field (empty when absent; reported when not a list).
    pub fn seq<'n, 't>(&mut self, n: &'n Node<'t>, key: &str) -> &'n [Node<'t>] {
        match n.get(key) {
            None => &[],
            Some(Node { v: Val::Seq(s), .. }) => s,
            Some(v) => {
                self.shape(v, key, "a list");
                &[]
            }
        }
    }

    /// A list field, keeping absent (`None`) apart from empty (`Some([])`).
    pub fn opt_seq<'n, 't>(&mut self, n: &'n Node<'t>, key: &str) -> Option<&'n [Node<'t>]> {
        match n.get(key) {
            None => None,
            Some(Node { v: Val::Seq(s), .. }) => Some(s),
            Some(v) => {
                self.shape(v, key, "a list");
                Some(&[])
            }
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, n: &Node, key: &str) -> Vec<String> {
        let items = self.seq(n, key);
        items.iter().filter_map(|i| self.as_str(i, key)).collect()
    }

    /// A string-to-string mapping (labels, annotations, selectors).
    pub fn str_map(&mut self, n: &Node, key: &str) -> StringMap {
        self.opt_str_map(n, key).unwrap_or_default()
    }

    /// A string-to-string mapping, keeping absent apart from empty.
    pub fn opt_str_map(&mut self, n: &Node, key: &str) -> Option<StringMap> {
        let v = n.get(key)?;
        match &v.v {
            Val::Map(m) => {
                let mut out = StringMap::default();
                for (k, x) in m {
                    let s = match &x.v {
                        Val::Null => String::new(),
                        _ => self.as_str(x, &format!("{key}.{k}")).unwrap_or_default(),
                    };
                    out.insert(k.to_string(), s);
                }
                Some(out)
            }
            _ => {
                self.shape(v, key, "a mapping of strings to strings");
                None
            }
        }
    }

    /// A port number field, 1-65535.
    pub fn port(&mut self, n: &Node, key: &str) -> Option<u16> {
        let v = n.get(key)?;
        self.port_value(v, key)
    }

    /// A node as a port number 1-65535.
    pub fn port_value(&mut self, v: &Node, field: &str) -> Option<u16> {
        let num = match &v.v {
            Val::Int(i) => Some(*i),
            Val::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match num {
            Some(p) if (1..=65535).contains(&p) => Some(p as u16),
            Some(p) => {
                self.error(
                    "bad-port",
                    v,
                    format!("`{field}` {p} is out of range"),
                    format!("{field}: an integer 1-65535"),
                );
                None
            }
            None => {
                self.shape(v, field, "an integer 1-65535");
                None
            }
        }
    }

    /// An int-or-string port (`port`, `targetPort`).
    pub fn port_ref(&mut self, n: &Node, key: &str) -> Option<PortRef> {
        let v = n.get(key)?;
        match &v.v {
            Val::Int(i) if (1..=65535).contains(i) => Some(PortRef::Number(*i as u16)),
            Val::Int(i) => {
                self.error(
                    "bad-port",
                    v,
                    format!("`{key}` {i} is out of range"),
                    format!("{key}: an integer 1-65535 or a port name"),
                );
                None
            }
            Val::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                match s.parse::<u32>() {
                    Ok(p) if (1..=65535).contains(&p) => Some(PortRef::Number(p as u16)),
                    _ => {
                        self.error(
                            "bad-port",
                            v,
                            format!("`{key}` {s} is out of range"),
                            format!("{key}: an integer 1-65535 or a port name"),
                        );
                        None
                    }
                }
            }
            Val::Str(s) if is_port_name(s) => Some(PortRef::Name(s.to_string())),
            Val::Str(s) => {
                self.error(
                    "bad-port",
                    v,
                    format!("`{key}` {s:?} is not a valid port name"),
                    format!("{key}: an integer 1-65535 or a port name (at most 15 lower-case letters, digits and '-')"),
                );
                None
            }
            _ => {
                self.shape(v, key, "an integer 1-65535 or a port name");
                None
            }
        }
    }

    /// A Kubernetes protocol (default TCP).
    pub fn protocol(&mut self, n: &Node, key: &str) -> Protocol {
        let Some(v) = n.get(key) else {
            return Protocol::Tcp;
        };
        match &v.v {
            Val::Str(s) => match s.to_ascii_uppercase().as_str() {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                _ => {
                    self.error(
                        "bad-protocol",
                        v,
                        format!("unknown protocol {s:?}"),
                        format!("{key}: TCP, UDP or SCTP"),
                    );
                    Protocol::Tcp
                }
            },
            _ => {
                self.shape(v, key, "TCP, UDP or SCTP");
                Protocol::Tcp
            }
        }
    }

    /// A node as a CIDR (a bare address is a host prefix when `allow_ip`).
    pub fn cidr_value(&mut self, v: &Node, field: &str, allow_ip: bool) -> Option<IpNet> {
        let s = self.as_str(v, field)?;
        let t = s.trim();
        if let Ok(n) = t.parse::<IpNet>() {
            return Some(n.trunc());
        }
        if allow_ip {
            if let Ok(ip) = t.parse::<IpAddr>() {
                return Some(IpNet::from(ip));
            }
        }
        let expected = if allow_ip {
            "an IP address or CIDR, e.g. 10.0.0.0/16"
        } else {
            "a CIDR, e.g. 10.0.0.0/16"
        };
        self.error(
            "bad-cidr",
            v,
            format!("`{field}` {s:?} is not a valid CIDR"),
            format!("{field}: {expected}"),
        );
        None
    }

    /// A list of CIDRs.
    pub fn cidrs(&mut self, n: &Node, key: &str, allow_ip: bool) -> Vec<IpNet> {
        let items = self.seq(n, key);
        items
            .iter()
            .filter_map(|i| self.cidr_value(i, key, allow_ip))
            .collect()
    }

    /// A node as an IP address.
    pub fn ip_value(&mut self, v: &Node, field: &str) -> Option<IpAddr> {
        let s = self.as_str(v, field)?;
        if s.is_empty() {
            return None;
        }
        match s.trim().parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(
                    "bad-ip",
                    v,
                    format!("`{field}` {s:?} is not a valid IP address"),
                    format!("{field}: an IPv4 or IPv6 address"),
                );
                None
            }
        }
    }

    /// An IP address field.
    pub fn ip(&mut self, n: &Node, key: &str) -> Option<IpAddr> {
        let v = n.get(key)?;
        self.ip_value(v, key)
    }

    /// A label selector (validating keys, values and operators).
    pub fn selector(&mut self, n: &Node, key: &str) -> Option<LabelSelector> {
        let v = self.obj(n, key)?;
        Some(self.selector_value(v, key))
    }

    /// A node as a label selector.
    pub fn selector_value(&mut self, v: &Node, field: &str) -> LabelSelector {
        let mut sel = LabelSelector {
            match_labels: self.str_map(v, "matchLabels"),
            ..Default::default()
        };
        if let Some(ml) = v.get("matchLabels") {
            for (k, val) in &sel.match_labels {
                if !is_label_key(k) {
                    self.error(
                        "bad-label",
                        ml,
                        format!("{field}.matchLabels: invalid label key {k:?}"),
                        LABEL_KEY,
                    );
                }
                if !is_label_value(val) {
                    self.error(
                        "bad-label",
                        ml,
                        format!("{field}.matchLabels: invalid label value {val:?}"),
                        LABEL_VALUE,
                    );
                }
            }
        }
        for e in self.seq(v, "matchExpressions") {
            let key = self.str(e, "key").unwrap_or_default();
            if !is_label_key(&key) {
                self.error(
                    "bad-label",
                    e,
                    format!("{field}.matchExpressions: invalid label key {key:?}"),
                    LABEL_KEY,
                );
            }
            let values = self.strings(e, "values");
            let op_node = e.get("operator");
            let op = match self.str(e, "operator").as_deref() {
                Some("In") => Some(SelectorOperator::In),
                Some("NotIn") => Some(SelectorOperator::NotIn),
                Some("Exists") => Some(SelectorOperator::Exists),
                Some("DoesNotExist") => Some(SelectorOperator::DoesNotExist),
                other => {
                    let msg = match other {
                        Some(o) => format!("unknown matchExpressions operator {o:?}"),
                        None => "matchExpressions entry without operator".to_string(),
                    };
                    self.error(
                        "bad-selector",
                        op_node.unwrap_or(e),
                        msg,
                        "operator: In, NotIn, Exists or DoesNotExist",
                    );
                    None
                }
            };
            let Some(op) = op else { continue };
            match op {
                SelectorOperator::In | SelectorOperator::NotIn if values.is_empty() => self.error(
                    "bad-selector",
                    e,
                    format!("operator {op:?} needs values"),
                    "values: a non-empty list",
                ),
                SelectorOperator::Exists | SelectorOperator::DoesNotExist if !values.is_empty() => {
                    self.error(
                        "bad-selector",
                        e,
                        format!("operator {op:?} takes no values"),
                        "no values",
                    )
                }
                _ => {}
            }
            for val in &values {
                if !is_label_value(val) {
                    self.error(
                        "bad-label",
                        e,
                        format!("{field}.matchExpressions: invalid label value {val:?}"),
                        LABEL_VALUE,
                    );
                }
            }
            sel.match_expressions.push(LabelSelectorRequirement {
                key,
                operator: op,
                values,
            });
        }
        sel
    }

    /// A `targetRef`-style reference.
    pub fn object_ref(&mut self, n: &Node, key: &str) -> Option<ObjectRef> {
        let v = self.obj(n, key)?;
        Some(ObjectRef {
            kind: self.str(v, "kind"),
            namespace: self.str(v, "namespace"),
            name: self.str(v, "name"),
            uid: self.str(v, "uid"),
        })
    }

    /// `metadata` of an object.
    pub fn meta(&mut self, doc: &Node, api_version: &str, kind: &str) -> ObjectMeta {
        let at = self.prov(doc);
        let empty = Node::new(Val::Map(Vec::new()));
        let m = self.obj(doc, "metadata").unwrap_or(&empty);
        let name = self
            .str(m, "name")
            .or_else(|| self.str(m, "generateName"))
            .unwrap_or_default();
        if name.is_empty() {
            self.error(
                "k8s-shape",
                doc,
                format!("{kind} without metadata.name"),
                "metadata.name: the object's name",
            );
        }
        let mut owner_references = Vec::new();
        for o in self.seq(m, "ownerReferences") {
            owner_references.push(OwnerReference {
                api_version: self.str(o, "apiVersion"),
                kind: self.str(o, "kind"),
                name: self.str(o, "name").unwrap_or_default(),
                uid: self.str(o, "uid"),
                controller: self.bool(o, "controller").unwrap_or(false),
            });
        }
        ObjectMeta {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name,
            namespace: self.str(m, "namespace").filter(|s| !s.is_empty()),
            labels: self.str_map(m, "labels"),
            annotations: self.str_map(m, "annotations"),
            uid: self.str(m, "uid"),
            owner_references,
            at,
        }
    }
}

const LABEL_KEY: &str = "a label key: an optional DNS-subdomain prefix and '/', then 1-63 characters [A-Za-z0-9._-] starting and ending alphanumeric";
const LABEL_VALUE: &str = "a label value: empty, or at most 63 characters [A-Za-z0-9._-] starting and ending alphanumeric";

/// Kubernetes label-name syntax (the part after an optional prefix), also label values.
fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A valid label key (`[prefix/]name`).
pub(crate) fn is_label_key(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|p| {
                    let b = p.as_bytes();
                    !b.is_empty()
                        && b.len() <= 63
                        && b[0].is_ascii_alphanumeric()
                        && b[b.len() - 1].is_ascii_alphanumeric()
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                })
                && is_label_name(name)
        }
        None => is_label_name(s),
    }
}

/// A valid label value.
pub(crate) fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_label_name(s)
}

/// A valid port name (IANA_SVC_NAME: 1-15 chars, lower-case alphanumerics and '-', a letter).
pub(crate) fn is_port_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(|c| c.is_ascii_lowercase())
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}
