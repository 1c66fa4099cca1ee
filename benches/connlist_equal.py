#!/usr/bin/env python3
"""Compares two connectivity lists as sets: netpath's `matrix -o connlist --by workload` and
network-config-analyzer's `--connectivity -o txt_no_fw_rules --output_endpoints deployments`.

Pairs between workloads must carry the same connections; pairs with an external IP range are
compared as the merged address coverage per (workload, direction, connections), since the two
tools may cut the address space at different points. Prints a summary; exits 1 on a difference.
"""
import ipaddress
import re
import sys


def conns_netpath(s):
    s = s.strip()
    if s.lower() == "all connections":
        return "ALL"
    out, proto = set(), None
    for tok in s.replace(",", " ").split():
        if tok.isalpha():
            proto = tok.upper()
            out.add((proto, None))
        else:
            out.discard((proto, None))
            lo, _, hi = tok.partition("-")
            out.add((proto, (int(lo), int(hi or lo))))
    return frozenset(out)


def conns_nca(s):
    s = s.strip()
    if s.lower() == "all connections":
        return "ALL"
    out = set()
    for grp in re.findall(r"\{([^}]*)\}", s):
        m = re.match(r"protocols:([A-Z, ]+?)(?:,dst_ports:(.*))?$", grp)
        if not m:
            raise ValueError(f"unparsed connections {s!r}")
        protos = [p.strip() for p in m.group(1).split(",") if p.strip()]
        ports = m.group(2)
        for p in protos:
            if ports is None:
                out.add((p, None))
            else:
                for r in ports.split(","):
                    lo, _, hi = r.strip().partition("-")
                    out.add((p, (int(lo), int(hi or lo))))
    return frozenset(out)


def ends(name):
    name = name.strip().removesuffix("[External]")
    m = re.match(r"^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$", name)
    if m:
        return ("ip", int(ipaddress.IPv4Address(m.group(1))), int(ipaddress.IPv4Address(m.group(2))))
    return ("w", name)


def merge(rs):
    rs = sorted(rs)
    out = []
    for lo, hi in rs:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def load(path, conns):
    pairs, ext = {}, {}
    for line in open(path):
        if "=>" not in line or line.startswith("global:"):
            continue
        left, rest = line.split("=>", 1)
        right, _, c = rest.partition(" : ")
        a, b, c = ends(left), ends(right), conns(c)
        if a[0] == "w" and b[0] == "w":
            pairs[(a[1], b[1])] = c
        elif a[0] == "ip":
            ext.setdefault(("in", b[1], c), []).append((a[1], a[2]))
        else:
            ext.setdefault(("out", a[1], c), []).append((b[1], b[2]))
    return pairs, {k: merge(v) for k, v in ext.items()}


def main():
    np_pairs, np_ext = load(sys.argv[1], conns_netpath)
    nca_pairs, nca_ext = load(sys.argv[2], conns_nca)
    bad = 0
    for k in sorted(set(np_pairs) | set(nca_pairs)):
        if np_pairs.get(k) != nca_pairs.get(k):
            bad += 1
            if bad <= 10:
                print(f"differs: {k[0]} => {k[1]}: netpath {np_pairs.get(k)} nca {nca_pairs.get(k)}")
    for k in sorted(set(np_ext) | set(nca_ext), key=str):
        if np_ext.get(k) != nca_ext.get(k):
            bad += 1
            if bad <= 10:
                print(f"differs (external): {k}: netpath {np_ext.get(k)} nca {nca_ext.get(k)}")
    print(f"workload pairs: netpath {len(np_pairs)}, nca {len(nca_pairs)}; external groups: "
          f"netpath {len(np_ext)}, nca {len(nca_ext)}; differences: {bad}")
    sys.exit(1 if bad else 0)


main()
