//! Which of a list of prefixes holds an address, answered with one hash lookup per prefix
//! length in the list instead of a scan of the list.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// A list of prefixes indexed by network: [`PrefixTable::first_holding`] gives the position of
/// the first prefix in list order that contains an address, as a scan of the list would.
#[derive(Debug, Default, Clone)]
pub struct PrefixTable {
    /// The distinct (is IPv4, prefix length) pairs present, so lookups try only those.
    lengths: Vec<(bool, u8)>,
    /// Network (host bits cleared) → position of its first occurrence in the list.
    first: HashMap<IpNet, usize, foldhash::fast::RandomState>,
    /// How many prefixes the table was built from.
    len: usize,
}

impl PrefixTable {
    /// Indexes `prefixes` in list order.
    pub fn build<'a>(prefixes: impl IntoIterator<Item = &'a IpNet>) -> Self {
        let mut t = PrefixTable::default();
        for (i, p) in prefixes.into_iter().enumerate() {
            let key = (matches!(p, IpNet::V4(_)), p.prefix_len());
            if !t.lengths.contains(&key) {
                t.lengths.push(key);
            }
            t.first.entry(p.trunc()).or_insert(i);
            t.len = i + 1;
        }
        t
    }

    /// How many prefixes the table was built from.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when built from no prefix.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The position of the first prefix in list order that contains `ip`.
    pub fn first_holding(&self, ip: IpAddr) -> Option<usize> {
        let v4 = ip.is_ipv4();
        self.lengths
            .iter()
            .filter(|(is_v4, _)| *is_v4 == v4)
            .filter_map(|&(_, len)| IpNet::new(ip, len).ok())
            .filter_map(|net| self.first.get(&net.trunc()).copied())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(list: &[IpNet], ip: IpAddr) -> Option<usize> {
        list.iter().position(|p| p.contains(&ip))
    }

    #[test]
    fn agrees_with_a_scan_in_list_order() {
        let list: Vec<IpNet> = [
            "10.0.1.16/28",
            "10.0.0.0/16",
            "10.0.1.16/28",
            "10.0.1.0/24",
            "10.0.1.17/28",
            "fd00::/64",
            "fd00::10/124",
            "0.0.0.0/0",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let t = PrefixTable::build(&list);
        assert_eq!(t.len(), list.len());
        for ip in [
            "10.0.1.20",
            "10.0.1.40",
            "10.0.2.1",
            "10.1.0.1",
            "192.0.2.1",
            "fd00::11",
            "fd00::1:0:0:1",
            "fd01::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(t.first_holding(ip), scan(&list, ip), "{ip}");
        }
        assert_eq!(
            PrefixTable::build(&[]).first_holding("10.0.0.1".parse().unwrap()),
            None
        );
    }
}
