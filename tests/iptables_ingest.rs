//! iptables-save ingest: the kube-proxy conformance dumps (both forms) and malformed input.

use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::iptables::read;
use netpath::model::iptables::{IptablesDump, MarkOp, Match, Rule, Target};
use netpath::source::{FileId, Locator};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/kube-proxy");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} absent; corpus tests skipped", p.display());
        None
    }
}

fn parse(path: &Path, text: &str) -> (IptablesDump, Diagnostics) {
    let mut diags = Diagnostics::default();
    let dump = read(FileId(0), path, text, &mut diags).expect("a dump");
    (dump, diags)
}

fn dumps(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iptables-save"))
        .collect();
    out.sort();
    out
}

fn error_lines(d: &Diagnostics) -> Vec<(u32, u32)> {
    d.errors()
        .map(|e| match e.at.as_ref().map(|p| &p.locator) {
            Some(Locator::At(lc)) => (lc.line, lc.col),
            other => panic!("unlocated error {e:?} {other:?}"),
        })
        .collect()
}

#[test]
fn every_conformance_dump_parses_in_both_forms() {
    let Some(root) = corpus() else { return };
    let mut files = dumps(&root);
    files.extend(dumps(&root.join("rendered/nft")));
    files.extend(dumps(&root.join("rendered/legacy")));
    assert_eq!(files.len(), 21);
    let mut total_rules = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (dump, diags) = parse(f, &text);
        assert!(!diags.has_errors(), "{}: {:?}", f.display(), diags.items);
        let stem = f
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".iptables-save");
        assert_eq!(dump.node.as_deref(), Some(stem));
        let rules_in_text = text.lines().filter(|l| l.starts_with("-A ")).count();
        assert_eq!(dump.rule_count(), rules_in_text, "{}", f.display());
        total_rules += rules_in_text;
        let nat = dump.table("nat").expect("nat table");
        assert!(dump.table("filter").is_some());
        if rules_in_text > 0 && !f.ends_with("k8s-v127-nodeport-no-endpoints-reject.iptables-save")
        {
            assert!(
                nat.chain("KUBE-SERVICES")
                    .is_some_and(|c| !c.rules().is_empty()),
                "{}",
                f.display()
            );
        }
        // Every rule keeps its line, and that line is the rule's text.
        let lines: Vec<&str> = text.lines().collect();
        for t in &dump.tables {
            for c in t.chains.values() {
                for r in c.rules().iter() {
                    assert_eq!(lines[r.line as usize - 1].trim_end(), r.text);
                }
            }
        }
    }
    eprintln!("{} dumps, {total_rules} rules parsed", files.len());
}

#[test]
fn overall_dump_in_detail() {
    let Some(root) = corpus() else { return };
    for (path, form_rendered) in [
        (root.join("k8s-latest-overall.iptables-save"), false),
        (
            root.join("rendered/nft/k8s-latest-overall.iptables-save"),
            true,
        ),
    ] {
        let text = std::fs::read_to_string(&path).unwrap();
        let (dump, diags) = parse(&path, &text);
        assert!(!diags.has_errors());
        let names: Vec<&str> = dump.tables.iter().map(|t| t.name.as_str()).collect();
        if form_rendered {
            assert_eq!(names, ["mangle", "filter", "nat"]);
        } else {
            assert_eq!(names, ["filter", "nat"]);
        }
        let nat = dump.table("nat").unwrap();
        let svc = nat.chain("KUBE-SERVICES").unwrap();
        assert_eq!(svc.rules().len(), 10);
        let last = svc.rules().last().unwrap();
        assert!(
            matches!(&last.matches[..], [Match::Comment(c), Match::Addrtype { dst_type: Some((false, t)), .. }]
            if c.starts_with("kubernetes service nodeports;") && t == &["LOCAL"])
        );
        assert_eq!(last.jump_chain(), Some("KUBE-NODEPORTS"));
        let first = &svc.rules().get(0).unwrap();
        assert_eq!(first.comment(), Some("ns1/svc1:p80 cluster IP"));
        assert_eq!(
            first.dst.as_ref().unwrap().net.to_string(),
            "172.30.0.41/32"
        );
        assert_eq!(first.protocol.as_ref().unwrap().protocol, "tcp");
        assert!(first
            .matches
            .iter()
            .any(|m| matches!(m, Match::Ports { dport: Some(p), .. } if p.ranges == [(80, 80)])));
        // Statistic probabilities.
        let sv4 = nat.chain("KUBE-SVC-4SW47YFZTEDKD3PK").unwrap();
        let prob = sv4.rules().iter().find_map(|r| {
            r.matches.iter().find_map(|m| match m {
                Match::Statistic {
                    probability,
                    probability_text,
                    mode,
                    ..
                } => {
                    assert_eq!(mode, "random");
                    Some((probability.unwrap(), probability_text.clone().unwrap()))
                }
                _ => None,
            })
        });
        let (p, txt) = prob.unwrap();
        assert!((p - 0.5).abs() < 1e-6);
        assert_eq!(
            txt,
            if form_rendered {
                "0.50000000000"
            } else {
                "0.5000000000"
            }
        );
        // Masquerade mark, both spellings.
        let masq = &nat.chain("KUBE-MARK-MASQ").unwrap().rules().get(0).unwrap();
        match &masq.target {
            Some(Target::Mark(MarkOp::Or(0x4000))) => assert!(!form_rendered),
            Some(Target::Mark(MarkOp::SetXmark {
                value: 0x4000,
                mask: 0x4000,
            })) => assert!(form_rendered),
            other => panic!("{other:?}"),
        }
        // DNAT, recent, negated source, no-target rule.
        let sep = nat.chain("KUBE-SEP-I77PXRDZVX7PMWMN").unwrap();
        assert!(
            matches!(&sep.rules().get(1).unwrap().target, Some(Target::Dnat { to_destination: Some(d), .. }) if d == "10.180.0.3:80")
        );
        assert!(sep.rules().get(1).unwrap().matches.iter().any(
            |m| matches!(m, Match::Recent { name, .. } if name == "KUBE-SEP-I77PXRDZVX7PMWMN")
        ));
        let svc5 = nat.chain("KUBE-SVC-NUKIZ6OKUXPJNT4C").unwrap();
        assert!(svc5.rules().get(0).unwrap().src.as_ref().unwrap().negated);
        assert!(svc5
            .rules()
            .get(1)
            .unwrap()
            .matches
            .iter()
            .any(|m| matches!(
                m,
                Match::Recent {
                    seconds: Some(10800),
                    reap: true,
                    ..
                }
            )));
        let fw = nat.chain("KUBE-FW-NUKIZ6OKUXPJNT4C").unwrap();
        assert!(fw.rules().last().unwrap().target.is_none());
        let filter = dump.table("filter").unwrap();
        let rej = &filter
            .chain("KUBE-SERVICES")
            .unwrap()
            .rules()
            .get(0)
            .unwrap();
        assert!(matches!(&rej.target, Some(Target::Reject { .. })));
        let post = nat.chain("KUBE-POSTROUTING").unwrap();
        assert!(matches!(
            &post.rules().get(0).unwrap().matches[..],
            [Match::Mark {
                negated: true,
                value: 0x4000,
                mask: 0x4000
            }]
        ));
        assert!(matches!(
            &post.rules().get(2).unwrap().target,
            Some(Target::Masquerade { .. })
        ));
        if form_rendered {
            let input = filter.chain("INPUT").unwrap();
            assert_eq!(input.policy.as_deref(), Some("ACCEPT"));
            assert_eq!(input.rules().len(), 4);
            assert!(
                matches!(&input.rules().get(0).unwrap().matches[0], Match::Conntrack { ctstate: Some((false, s)), .. } if s == &["NEW"])
            );
        }
    }
}

#[test]
fn node_comment_counters_and_aws_rules() {
    let text = "# node: ip-10-0-1-23.us-east-2.compute.internal\n\
# Generated by iptables-save v1.8.4 on Mon\n\
*nat\n\
:PREROUTING ACCEPT [10:600]\n\
:POSTROUTING ACCEPT [0:0]\n\
:AWS-SNAT-CHAIN-0 - [0:0]\n\
:AWS-CONNMARK-CHAIN-0 - [0:0]\n\
[5:300] -A PREROUTING -i eni+ -m comment --comment \"AWS, outbound connections\" -j AWS-CONNMARK-CHAIN-0\n\
-A PREROUTING -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\n\
-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0\n\
-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN\n\
-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment \"AWS, SNAT\" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.23 --random-fully\n\
-A AWS-CONNMARK-CHAIN-0 -m multiport --dports 80,443,8000:8080 -m set --match-set KUBE-CLUSTER-IP dst,dst -m frobnicate --zap 3 -j CONNMARK --set-xmark 0x80/0x80\n\
COMMIT\n";
    let (dump, diags) = parse(Path::new("dump.txt"), text);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    assert_eq!(
        dump.node.as_deref(),
        Some("ip-10-0-1-23.us-east-2.compute.internal")
    );
    let nat = dump.table("nat").unwrap();
    let pre = nat.chain("PREROUTING").unwrap();
    assert_eq!(pre.counters.unwrap().packets, 10);
    assert_eq!(pre.rules().get(0).unwrap().counters.unwrap().bytes, 300);
    assert!(pre
        .rules()
        .get(0)
        .unwrap()
        .in_iface
        .as_ref()
        .unwrap()
        .name_matches("eni3a"));
    assert!(
        matches!(&pre.rules().get(1).unwrap().target, Some(Target::Connmark(MarkOp::Other(o))) if o.len() == 3)
    );
    let snat = &nat
        .chain("AWS-SNAT-CHAIN-0")
        .unwrap()
        .rules()
        .get(1)
        .unwrap();
    assert!(snat.out_iface.as_ref().unwrap().negated);
    assert!(
        matches!(&snat.target, Some(Target::Snat { to_source: Some(s), random_fully: true, .. }) if s == "10.0.1.23")
    );
    assert!(snat.matches.iter().any(|m| matches!(
        m,
        Match::Addrtype {
            dst_type: Some((true, _)),
            ..
        }
    )));
    let cm = &nat
        .chain("AWS-CONNMARK-CHAIN-0")
        .unwrap()
        .rules()
        .get(0)
        .unwrap();
    assert!(
        matches!(&cm.matches[0], Match::Multiport { dports: Some(p), .. } if p.ranges == [(80, 80), (443, 443), (8000, 8080)])
    );
    assert!(
        matches!(&cm.matches[1], Match::Set { name, flags, .. } if name == "KUBE-CLUSTER-IP" && flags.len() == 2)
    );
    assert!(matches!(&cm.matches[2], Match::Other { module, .. } if module == "frobnicate"));
    assert!(matches!(
        &cm.target,
        Some(Target::Connmark(MarkOp::SetXmark {
            value: 0x80,
            mask: 0x80
        }))
    ));
}

#[test]
fn escaped_comment_and_old_style() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -m comment --comment \"say \\\"hi\\\"\" -j X\n-A X -m comment --comment unquoted -p udp --dport 53 -j ACCEPT\nCOMMIT\n";
    let (dump, diags) = parse(Path::new("n1.iptables-save"), text);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    assert_eq!(dump.node.as_deref(), Some("n1"));
    let f = dump.table("filter").unwrap();
    assert_eq!(
        f.chain("INPUT").unwrap().rules().get(0).unwrap().comment(),
        Some("say \"hi\"")
    );
    let r = &f.chain("X").unwrap().rules().get(0).unwrap();
    assert_eq!(r.comment(), Some("unquoted"));
    assert!(r
        .matches
        .iter()
        .any(|m| matches!(m, Match::Ports { module, dport: Some(_), .. } if module == "udp")));
}

#[test]
fn malformed_lines_are_located_errors() {
    let cases: &[(&str, (u32, u32))] = &[
        ("-A KUBE-SERVICES -j ACCEPT\n", (1, 1)),
        (
            "*nat\n:A - [0:0]\n-A A -m comment --comment \"open -j ACCEPT\nCOMMIT\n",
            (3, 27),
        ),
        ("*nat\n:A - [0:0]\n-A A -s 10.0.0.0/8 -j\nCOMMIT\n", (3, 20)),
        ("*nat\n:A - [0:0]\n-A B -j ACCEPT\nCOMMIT\n", (3, 4)),
        ("*nat\n:A - [0:0]\n-A A -j KUBE-MISSING\nCOMMIT\n", (3, 9)),
        (
            "*nat\n:A - [0:0]\n-A A -m statistic --mode random --probability\nCOMMIT\n",
            (3, 33),
        ),
        (
            "*nat\n:A - [0:0]\n-A A -s 10.0.0.300 -j ACCEPT\nCOMMIT\n",
            (3, 9),
        ),
        ("*nat\n:A - [0:0]\n-A A -j ACCEPT\n", (3, 1)),
    ];
    for (text, want) in cases {
        let (_, diags) = parse(Path::new("bad.iptables-save"), text);
        let errs = error_lines(&diags);
        assert_eq!(errs.first(), Some(want), "{text:?}: {:?}", diags.items);
    }
}

#[test]
fn legacy_warning_is_reported() {
    let text = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
    let (dump, diags) = parse(Path::new("n.iptables-save"), text);
    assert!(dump.legacy_tables_present);
    assert!(diags
        .items
        .iter()
        .any(|d| d.severity == Severity::Warning && d.code == "iptables-incomplete"));
}
/// Parses `texts` in order through one cache, as a snapshot's dumps are, and checks that each
/// dump and its diagnostics are what the dump gives when parsed alone.
fn parse_shared_as_alone(texts: &[String]) -> Vec<(IptablesDump, Diagnostics)> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let shared = parse_shared(&refs);
    for (i, (text, (dump, diags))) in texts.iter().zip(&shared).enumerate() {
        let path = PathBuf::from(format!("n{i}.iptables-save"));
        let mut alone_diags = Diagnostics::default();
        let alone = netpath::ingest::iptables::read_shared(
            FileId(i as u32),
            &path,
            text,
            &mut netpath::ingest::iptables::RuleCache::new(),
            &mut alone_diags,
        )
        .expect("a dump");
        assert_eq!(format!("{dump:?}"), format!("{alone:?}"), "dump {i}");
        assert_eq!(format!("{diags:?}"), format!("{alone_diags:?}"), "dump {i}");
    }
    shared
}

/// Reads `texts` as dumps of successive files through one shared rule cache.
fn parse_shared(texts: &[&str]) -> Vec<(IptablesDump, Diagnostics)> {
    let mut cache = netpath::ingest::iptables::RuleCache::new();
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut diags = Diagnostics::default();
            let path = PathBuf::from(format!("n{i}.iptables-save"));
            let dump = netpath::ingest::iptables::read_shared(
                FileId(i as u32),
                &path,
                text,
                &mut cache,
                &mut diags,
            )
            .expect("a dump");
            (dump, diags)
        })
        .collect()
}

#[test]
fn shared_rule_lines_keep_each_dumps_own_line_numbers() {
    let a = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X\nCOMMIT\n";
    let b = "# node: b\n\n*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n-A KUBE-SERVICES -p udp -j DROP\n-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X\nCOMMIT\n";
    let out = parse_shared(&[a, b]);
    fn rule(d: &IptablesDump, i: usize) -> Rule<'_> {
        d.table("nat")
            .unwrap()
            .chain("KUBE-SERVICES")
            .unwrap()
            .rules()
            .get(i)
            .unwrap()
    }
    let (ra, rb) = (rule(&out[0].0, 0), rule(&out[1].0, 1));
    assert_eq!((ra.line, rb.line), (4, 7));
    assert_eq!(out[1].0.provenance(&rb).file, FileId(1));
    assert!(std::sync::Arc::ptr_eq(ra.body, rb.body), "one parse shared");
    assert_eq!(rb.jump_chain(), Some("KUBE-SVC-X"));
    assert!(out.iter().all(|(_, d)| d.items.is_empty()));
}

#[test]
fn shared_rule_lines_are_checked_against_each_dumps_chains() {
    // The same line jumps to a declared chain in one dump and to nothing in the next, and a
    // chain named like a target extension turns `-j LOG` into a jump in only one dump.
    let a = "*filter\n:INPUT ACCEPT [0:0]\n:KUBE-X - [0:0]\n:LOG - [0:0]\n-A INPUT -j KUBE-X\n-A INPUT -j LOG\nCOMMIT\n";
    let b = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j LOG\n-A INPUT -j KUBE-X\nCOMMIT\n";
    let out = parse_shared(&[a, b, a]);
    assert!(out[0].1.items.is_empty() && out[2].1.items.is_empty());
    let alone = parse(Path::new("b.iptables-save"), b).1;
    assert_eq!(error_lines(&alone).len(), 1);
    assert_eq!(error_lines(&out[1].1), error_lines(&alone));
    fn input(d: &IptablesDump) -> Vec<Rule<'_>> {
        d.table("filter")
            .unwrap()
            .chain("INPUT")
            .unwrap()
            .rules()
            .iter()
            .collect()
    }
    assert_eq!(input(&out[0].0)[1].jump_chain(), Some("LOG"));
    assert!(
        matches!(input(&out[1].0)[0].target, Some(Target::Other { ref name, .. }) if name == "LOG")
    );
    assert_eq!(input(&out[2].0)[1].jump_chain(), Some("LOG"));
}

#[test]
fn repeated_runs_of_a_chain_parse_as_when_read_alone() {
    // Runs of `-A` lines for one chain are reused across dumps; each dump must still read as if
    // alone: its own line numbers, its own declarations deciding what a target means, CRLF
    // line ends, a run cut by a blank line or ending the file without a newline.
    let run = "-A KUBE-SVC-X -m statistic --mode random --probability 0.5 -j KUBE-SEP-A\n-A KUBE-SVC-X -j KUBE-SEP-B\n-A KUBE-SVC-X -j LOG\n";
    let decl = ":KUBE-SVC-X - [0:0]\n:KUBE-SEP-A - [0:0]\n:KUBE-SEP-B - [0:0]\n";
    let a = format!("*nat\n{decl}{run}COMMIT\n");
    let b =
        format!("# node: b\n*nat\n{decl}:LOG - [0:0]\n-A KUBE-SVC-X -j KUBE-SEP-A\n{run}COMMIT\n");
    let c = format!("*nat\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-A - [0:0]\n{run}COMMIT\n");
    let d = format!("*nat\n{decl}{}\n{}COMMIT", &run[..run.len() - 1], run).replace('\n', "\r\n");
    let e = format!("*nat\n{decl}{run}");
    let texts = [a.clone(), b, a.clone(), c, d.clone(), d, e, a];
    let shared = parse_shared_as_alone(&texts);
    // The run was taken whole from the cache where it means the same: one parse shared.
    fn first(d: &IptablesDump) -> Rule<'_> {
        d.table("nat")
            .unwrap()
            .chain("KUBE-SVC-X")
            .unwrap()
            .rules()
            .get(1)
            .unwrap()
    }
    assert!(std::sync::Arc::ptr_eq(
        first(&shared[0].0).body,
        first(&shared[7].0).body
    ));
    assert_eq!(
        error_lines(&shared[3].1).len(),
        1,
        "KUBE-SEP-B is not declared in dump 3"
    );
    assert_eq!(error_lines(&shared[6].1).len(), 1, "dump 6 has no COMMIT");
}

#[test]
fn a_chain_shared_between_dumps_cites_each_dumps_own_lines() {
    // The same service chains, two lines further down in the second dump: their content is
    // held once, and every rule (and every rule a walk cites) keeps its own file's line.
    let chains = "\
:KUBE-SERVICES - [0:0]
:KUBE-SVC-X - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
";
    let rules = "\
-A KUBE-SERVICES -d 172.20.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.0.1.1:8080
-A KUBE-SVC-X -j KUBE-SEP-B
-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.0.1.2:8080
COMMIT
";
    let a =
        format!("*nat\n:PREROUTING ACCEPT [0:0]\n{chains}-A PREROUTING -j KUBE-SERVICES\n{rules}");
    let b = format!(
        "# node: b\n*nat\n:PREROUTING ACCEPT [0:0]\n{chains}-A PREROUTING -p udp -j ACCEPT\n\
         -A PREROUTING -j KUBE-SERVICES\n{rules}"
    );
    let out = parse_shared(&[&a, &b]);
    assert!(out.iter().all(|(_, d)| d.items.is_empty()));
    let chain = |d: &IptablesDump, name: &str| d.table("nat").unwrap().chain(name).unwrap().clone();
    for name in ["KUBE-SVC-X", "KUBE-SEP-A", "KUBE-SEP-B"] {
        assert!(
            std::sync::Arc::ptr_eq(chain(&out[0].0, name).body(), chain(&out[1].0, name).body()),
            "{name} is held once"
        );
    }
    let lines_of = |d: &IptablesDump, name: &str| -> Vec<u32> {
        chain(d, name).rules().iter().map(|r| r.line).collect()
    };
    let declared_on = |d: &IptablesDump| chain(d, "KUBE-SVC-X").line;
    assert_eq!((declared_on(&out[0].0), declared_on(&out[1].0)), (4, 5));
    assert_eq!(lines_of(&out[0].0, "KUBE-SVC-X"), [9, 11]);
    assert_eq!(lines_of(&out[1].0, "KUBE-SVC-X"), [11, 13]);
    assert_eq!(lines_of(&out[1].0, "KUBE-SEP-B"), [14]);
    let ctx = netpath::kube::proxy::NodeContext::new(vec!["192.168.0.2".parse().unwrap()]);
    let packet = netpath::model::flow::Packet {
        src: "10.0.9.9".parse().unwrap(),
        dst: "172.20.0.10".parse().unwrap(),
        protocol: netpath::model::flow::Protocol::Tcp,
        src_port: 40000,
        dst_port: 80,
    };
    let mut cited = Vec::new();
    for ((dump, _), text) in out.iter().zip([&a, &b]) {
        let file_lines: Vec<&str> = text.lines().collect();
        for r in chain(dump, "KUBE-SVC-X").rules().iter() {
            assert_eq!(file_lines[r.line as usize - 1], r.text);
        }
        let walked = netpath::kube::proxy::evaluate(dump, &packet, &ctx);
        assert_eq!(walked.branches.len(), 2);
        let mut lines = Vec::new();
        for r in walked.branches.iter().flat_map(|b| &b.rules) {
            assert_eq!(file_lines[r.line as usize - 1], r.text, "{r:?}");
            let at = r.at.as_ref().expect("a cited rule is located");
            assert_eq!(at.file, dump.file);
            assert!(matches!(&at.locator, Locator::At(lc) if lc.line == r.line));
            lines.push(r.line);
        }
        cited.push(lines);
    }
    assert_eq!(cited[0], [7, 8, 9, 10, 7, 8, 11, 12]);
    assert_eq!(cited[1], [9, 10, 11, 12, 9, 10, 13, 14]);
}

#[test]
fn repeated_declaration_blocks_parse_as_when_read_alone() {
    // A table's opening declarations are taken whole when another dump opened with the same
    // block; each dump must still read as if alone: its own declaration lines, a chain declared
    // twice, chains declared or removed after the block, a rule in a chain the block lacks.
    let decl =
        ":PREROUTING ACCEPT [0:0]\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-A - [0:0]\n:KUBE-SVC-X - [1:2]\n";
    let rules = "-A PREROUTING -j KUBE-SVC-X\n-A KUBE-SVC-X -j KUBE-SEP-A\n-A KUBE-SEP-A -j DNAT --to-destination 10.0.0.1:80\n";
    let a = format!("*nat\n{decl}{rules}COMMIT\n");
    let b = format!(
        "# node: b\n\n*nat\n{decl}{rules}:KUBE-SEP-B - [0:0]\n-A KUBE-SEP-B -j DROP\nCOMMIT\n"
    );
    let c = format!("*nat\n{decl}-X KUBE-SEP-A\n{rules}COMMIT\n");
    let d =
        format!("*filter\n{decl}{rules}COMMIT\n*nat\n{decl}{rules}-A KUBE-SEP-C -j DROP\nCOMMIT\n");
    let texts = [a.clone(), b, a.clone(), c, d, a];
    let shared = parse_shared_as_alone(&texts);
    let svc = |d: &IptablesDump| {
        let c = d.table("nat").unwrap().chain("KUBE-SVC-X").unwrap().clone();
        (c.line, c.counters.map(|c| c.packets))
    };
    assert_eq!(svc(&shared[0].0), (5, Some(1)));
    assert_eq!(svc(&shared[1].0), (7, Some(1)));
    assert_eq!(
        error_lines(&shared[3].1).len(),
        2,
        "KUBE-SEP-A removed in dump 3"
    );
    assert_eq!(
        error_lines(&shared[4].1).len(),
        1,
        "KUBE-SEP-C is not declared in dump 4"
    );
}
