//! Cutting the IPv4 space into disjoint ranges at the boundaries policies name.

use crate::model::cluster::IpBlock;
use ipnet::{IpNet, Ipv4Net};
use std::net::Ipv4Addr;

/// An inclusive IPv4 interval.
pub type V4Range = (u32, u32);

/// The intervals of `cidr` minus `except` (IPv4 only; IPv6 gives nothing).
pub fn block_intervals(b: &IpBlock) -> Vec<V4Range> {
    let Some((lo, hi)) = v4_range(&b.cidr) else {
        return Vec::new();
    };
    let mut holes: Vec<V4Range> = b.except.iter().filter_map(v4_range).collect();
    holes.sort();
    let mut out = Vec::new();
    let mut cur = u64::from(lo);
    for (hlo, hhi) in holes {
        if u64::from(hhi) < cur {
            continue;
        }
        if u64::from(hlo) > cur {
            out.push((cur as u32, hlo - 1));
        }
        cur = u64::from(hhi) + 1;
    }
    if cur <= u64::from(hi) {
        out.push((cur as u32, hi));
    }
    out
}

/// The interval of an IPv4 network.
pub fn v4_range(n: &IpNet) -> Option<V4Range> {
    match n {
        IpNet::V4(v) => Some((u32::from(v.network()), u32::from(v.broadcast()))),
        IpNet::V6(_) => None,
    }
}

/// The disjoint ranges covering the whole IPv4 space, cut at the start and after the end of
/// every interval given. With no interval, the single range `0.0.0.0-255.255.255.255`.
pub fn partition(intervals: &[V4Range]) -> Vec<V4Range> {
    let mut cuts: Vec<u64> = vec![0, 1 << 32];
    for (lo, hi) in intervals {
        cuts.push(u64::from(*lo));
        cuts.push(u64::from(*hi) + 1);
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| (w[0] as u32, (w[1] - 1) as u32))
        .collect()
}

/// The minimal list of CIDRs covering an interval exactly.
pub fn to_cidrs((lo, hi): V4Range) -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    let mut cur = u64::from(lo);
    let end = u64::from(hi);
    while cur <= end {
        let mut len = 32u8;
        // grow the block while aligned and inside the interval
        while len > 0 {
            let size = 1u64 << (32 - (len - 1));
            if cur % size != 0 || cur + size - 1 > end {
                break;
            }
            len -= 1;
        }
        if let Ok(n) = Ipv4Net::new(Ipv4Addr::from(cur as u32), len) {
            out.push(n);
        }
        cur += 1u64 << (32 - len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_and_cidrs() {
        let b = IpBlock {
            cidr: "0.0.0.0/0".parse().unwrap(),
            except: vec![
                "10.0.0.0/9".parse().unwrap(),
                "10.128.0.0/9".parse().unwrap(),
            ],
        };
        let iv = block_intervals(&b);
        assert_eq!(iv.len(), 2);
        let p = partition(&iv);
        assert_eq!(p.len(), 3);
        assert_eq!(
            to_cidrs(p[1]),
            vec!["10.0.0.0/8".parse::<Ipv4Net>().unwrap()]
        );
        assert_eq!(
            to_cidrs((0, u32::MAX)),
            vec!["0.0.0.0/0".parse::<Ipv4Net>().unwrap()]
        );
        assert_eq!(to_cidrs(p[0]).len(), 2); // 0.0.0.0/5, 8.0.0.0/7
        assert_eq!(partition(&[]), vec![(0, u32::MAX)]);
    }
}
