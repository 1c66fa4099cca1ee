//! Port matching and interval sets of ports.

use crate::model::{PortMatch, PortRange, Protocol, ProtocolMatch};

/// True when a rule's protocol and port selectors match a packet's protocol and destination
/// port (ICMP: the type is carried in `src_port`, the code in `dst_port` of a [`Packet`]).
///
/// [`Packet`]: crate::model::Packet
pub fn rule_matches(
    proto: ProtocolMatch,
    ports: PortMatch,
    p: Protocol,
    icmp_type: u16,
    dst_port: u16,
) -> bool {
    if !proto.matches(p) {
        return false;
    }
    match (proto, ports) {
        (ProtocolMatch::Any, _) => true,
        (_, PortMatch::Any) => true,
        (_, PortMatch::Range(r)) => !p.has_ports() || r.contains(dst_port),
        (_, PortMatch::Icmp { icmp_type: t, code }) => {
            t.is_none_or(|t| u16::from(t) == icmp_type)
                && code.is_none_or(|c| u16::from(c) == dst_port)
        }
    }
}

/// The ranges of a [`PortSet`], held inline up to four (most sets have one or two), so that
/// set algebra on the trace path does not allocate.
type Ranges = smallvec::SmallVec<[PortRange; 4]>;

/// A set of ports as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Ranges,
}

impl PortSet {
    /// The empty set.
    pub fn empty() -> Self {
        PortSet {
            ranges: Ranges::new(),
        }
    }
    /// Every port.
    pub fn all() -> Self {
        PortSet::from_range(PortRange::ALL)
    }
    /// The set holding one range.
    pub fn from_range(r: PortRange) -> Self {
        PortSet {
            ranges: smallvec::smallvec![r],
        }
    }
    /// The ranges, ascending.
    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// Adds a range, keeping the set canonical.
    pub fn insert(&mut self, r: PortRange) {
        self.ranges.push(r);
        self.ranges.sort();
        // Merge overlapping or adjacent ranges in place.
        let mut kept = 0;
        for i in 0..self.ranges.len() {
            let r = self.ranges[i];
            if kept > 0 && u32::from(r.lo) <= u32::from(self.ranges[kept - 1].hi) + 1 {
                let last = &mut self.ranges[kept - 1];
                last.hi = last.hi.max(r.hi);
            } else {
                self.ranges[kept] = r;
                kept += 1;
            }
        }
        self.ranges.truncate(kept);
    }
    /// The ports of `self` not in `other`.
    pub fn minus(&self, other: &PortSet) -> PortSet {
        let mut out = Ranges::new();
        for r in &self.ranges {
            let mut lo = u32::from(r.lo);
            let hi = u32::from(r.hi);
            for o in &other.ranges {
                let (olo, ohi) = (u32::from(o.lo), u32::from(o.hi));
                if ohi < lo || olo > hi {
                    continue;
                }
                if olo > lo {
                    out.push(PortRange::new(lo as u16, (olo - 1) as u16));
                }
                lo = ohi + 1;
                if lo > hi {
                    break;
                }
            }
            if lo <= hi {
                out.push(PortRange::new(lo as u16, hi as u16));
            }
        }
        PortSet { ranges: out }
    }
    /// The ports in both sets.
    pub fn intersect(&self, other: &PortSet) -> PortSet {
        self.minus(&self.minus(other))
    }
    /// True when `p` is in the set.
    pub fn contains(&self, p: u16) -> bool {
        self.ranges.iter().any(|r| r.contains(p))
    }
}

impl std::fmt::Display for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.ranges.iter().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(ranges: &[(u16, u16)]) -> Vec<bool> {
        let mut v = vec![false; 65536];
        for &(a, b) in ranges {
            for p in a.min(b)..=a.max(b) {
                v[p as usize] = true;
            }
        }
        v
    }

    proptest! {
        #[test]
        fn set_algebra_matches_bitmaps(a in prop::collection::vec((0u16..2000, 0u16..2000), 0..6),
                                       b in prop::collection::vec((0u16..2000, 0u16..2000), 0..6)) {
            let mk = |rs: &[(u16, u16)]| {
                let mut s = PortSet::empty();
                for &(x, y) in rs { s.insert(PortRange::new(x.min(y), x.max(y))); }
                s
            };
            let (sa, sb) = (mk(&a), mk(&b));
            let (na, nb) = (naive(&a), naive(&b));
            let diff = sa.minus(&sb);
            let inter = sa.intersect(&sb);
            for set in [&sa, &diff, &inter] {
                for pair in set.ranges().windows(2) {
                    // Sorted, disjoint and not adjacent: the one canonical form.
                    prop_assert!(u32::from(pair[0].hi) + 1 < u32::from(pair[1].lo));
                }
            }
            for p in 0..2001u16 {
                prop_assert_eq!(sa.contains(p), na[p as usize]);
                prop_assert_eq!(diff.contains(p), na[p as usize] && !nb[p as usize]);
                prop_assert_eq!(inter.contains(p), na[p as usize] && nb[p as usize]);
            }
        }
    }
}
