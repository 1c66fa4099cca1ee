//! Longest-prefix match with AWS route priority.
//!
//! Among routes whose destination contains the address, the longest prefix wins; among equal
//! prefixes, the local route beats static routes, which beat prefix-list routes, which beat
//! propagated routes; a propagated route never overrides a local route, even when more
//! specific. Blackhole routes take part in the match and drop what they win.

use ipnet::IpNet;
use std::net::IpAddr;

/// One candidate for the lookup: its prefix and its priority class (lower wins ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The destination prefix.
    pub prefix: IpNet,
    /// Priority among equal prefixes: 0 local, 1 static, 2 prefix list, 3 propagated.
    pub class: u8,
    /// True for a propagated route (it cannot override a local route).
    pub propagated: bool,
}

/// Picks the winning candidate for `addr`; returns its index.
pub fn lookup(candidates: &[Candidate], addr: IpAddr) -> Option<usize> {
    let local_hit = candidates
        .iter()
        .any(|c| c.class == 0 && c.prefix.contains(&addr));
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        if !c.prefix.contains(&addr) || (c.propagated && local_hit) {
            continue;
        }
        best = match best {
            None => Some(i),
            Some(b) => {
                let cb = &candidates[b];
                let better = c.prefix.prefix_len() > cb.prefix.prefix_len()
                    || (c.prefix.prefix_len() == cb.prefix.prefix_len() && c.class < cb.class);
                if better {
                    Some(i)
                } else {
                    Some(b)
                }
            }
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn propagated_never_beats_local() {
        let c = [
            Candidate {
                prefix: "10.0.0.0/16".parse().unwrap(),
                class: 0,
                propagated: false,
            },
            Candidate {
                prefix: "10.0.1.0/24".parse().unwrap(),
                class: 3,
                propagated: true,
            },
            Candidate {
                prefix: "0.0.0.0/0".parse().unwrap(),
                class: 1,
                propagated: false,
            },
        ];
        assert_eq!(lookup(&c, "10.0.1.5".parse().unwrap()), Some(0));
        assert_eq!(lookup(&c, "8.8.8.8".parse().unwrap()), Some(2));
    }

    proptest! {
        /// The winner is the longest matching prefix with the best class, as a brute-force scan
        /// over all candidates says.
        #[test]
        fn equals_bruteforce(routes in prop::collection::vec((any::<u32>(), 0u8..=32, 1u8..4), 1..12), addr in any::<u32>()) {
            let cands: Vec<Candidate> = routes.iter().map(|&(a, len, class)| Candidate {
                prefix: IpNet::V4(ipnet::Ipv4Net::new(a.into(), len).unwrap().trunc()),
                class,
                propagated: class == 3,
            }).collect();
            let addr = IpAddr::V4(addr.into());
            let got = lookup(&cands, addr);
            let best = cands.iter().filter(|c| c.prefix.contains(&addr))
                .map(|c| (c.prefix.prefix_len(), std::cmp::Reverse(c.class))).max();
            match (got, best) {
                (None, None) => {}
                (Some(i), Some((len, std::cmp::Reverse(class)))) => {
                    prop_assert_eq!(cands[i].prefix.prefix_len(), len);
                    prop_assert_eq!(cands[i].class, class);
                }
                _ => prop_assert!(false, "mismatch"),
            }
        }
    }
}
