#!/usr/bin/env bash
# Reproducible side-by-side timing on generated snapshots:
#   1. netpath end to end (load + compile + one pod-to-pod trace; load + the full matrix, printed
#      as the workload connection list: every pod pair is computed, the output stays readable
#      where `-o json` on *large* would be 205 M cells),
#   2. the load floor (examples/floor.rs: deserialize the same files into plain typed structs),
#   3. the peer network-config-analyzer (`nca`, PyPI network-config-analyzer) on the
#      NetworkPolicy part at a few pod counts, after checking that its connectivity equals
#      netpath's (benches/connlist_equal.py).
# Every figure is the median of RUNS fresh processes (interleaved, page cache warm), with the
# peak resident set from GNU time.
#
# Usage: benches/compare.sh [SIZES]          SIZES: comma-separated, default "small"
# Environment: RUNS (5), NCA (nca on PATH), NCA_PODS ("150 300 1000"; "" to skip the peer),
#              NCA_RUNS (3), NCA_TIMEOUT (600 s), WORK (a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZES=${1:-small}
NCA=${NCA:-nca}
NCA_PODS=${NCA_PODS-150 300 1000}
NCA_RUNS=${NCA_RUNS:-3}
NCA_TIMEOUT=${NCA_TIMEOUT:-600}
WORK=${WORK:-$(mktemp -d /tmp/netpath-compare.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bins --example floor
BIN=$TARGET/release
mkdir -p "$WORK"

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# run NAME CMD...: one timed run; appends "seconds kilobytes" to $WORK/NAME.times
run() {
    local name=$1
    shift
    local start=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o "$WORK/$name.one" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
    local end=$EPOCHREALTIME
    # wall seconds to the microsecond (GNU time's %e rounds to 10 ms), then peak RSS in KB
    echo "$(echo "$end - $start" | bc -l) $(tail -n 1 "$WORK/$name.one")" >>"$WORK/$name.times"
}
col() { awk -v c="$2" '{print $c}' "$WORK/$1.times" | median; }
ratio() { paste "$WORK/$1.times" "$WORK/$2.times" | awk '{ if ($3 > 0) print $1 / $3 }' | median; }
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
first_pod() { # DIR APP-PREFIX -> NS/NAME of the first pod whose name starts with the prefix
    python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1] + "/k8s/pods.json"))
for p in d["items"]:
    m = p["metadata"]
    if m["name"].startswith(sys.argv[2] + "-") and not p["spec"].get("hostNetwork"):
        print(m["namespace"] + "/" + m["name"]); break
EOF
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS"
for size in ${SIZES//,/ }; do
    dir=$WORK/$size
    [ -d "$dir" ] || "$BIN/netpath-gen" --size "$size" --out "$dir"
    warm "$dir"
    src=$(first_pod "$dir" api-0)
    dst=$(first_pod "$dir" web-0)
    rm -f "$WORK"/{floor,trace,matrix}-"$size".times
    for _ in $(seq "$RUNS"); do
        run "floor-$size" "$BIN/examples/floor" "$dir"
        run "trace-$size" "$BIN/netpath" -s "$dir" -q trace "$src" "$dst" -p 8080
        run "matrix-$size" "$BIN/netpath" -s "$dir" -q matrix -o connlist --by workload
    done
    echo
    echo "== $size: $(du -sh "$dir/" | cut -f1) on disk; $(cat "$WORK/floor-$size.out")"
    printf "%-44s %10s %12s\n" "command (median of $RUNS)" "seconds" "max RSS MB"
    for n in floor trace matrix; do
        printf "%-44s %10.3f %12.0f\n" "$n" "$(col "$n-$size" 1)" "$(echo "$(col "$n-$size" 2)/1024" | bc -l)"
    done
    echo "ratio load+compile+trace / floor (median of pairs): $(ratio "trace-$size" "floor-$size")"
    echo "ratio load+matrix / floor (median of pairs):        $(ratio "matrix-$size" "floor-$size")"
done

for pods in $NCA_PODS; do
    command -v "$NCA" >/dev/null || { echo "nca not found (pip install network-config-analyzer); peer skipped"; break; }
    dir=$WORK/np-$pods
    [ -d "$dir" ] || "$BIN/netpath-gen" --size "pods-$pods" --netpol-only --out "$dir"
    warm "$dir"
    rm -f "$WORK"/{np,nca}-"$pods".times
    for _ in $(seq "$RUNS"); do
        run "np-$pods" "$BIN/netpath" -s "$dir" -q matrix -o connlist --by workload --layers netpol
    done
    cp "$WORK/np-$pods.out" "$WORK/np-$pods.connlist"
    finished=yes
    for _ in $(seq "$NCA_RUNS"); do
        run "nca-$pods" timeout "$NCA_TIMEOUT" "$NCA" --connectivity "$dir/k8s/networkpolicies.json" \
            --pod_list "$dir/k8s/pods.json" --ns_list "$dir/k8s/namespaces.json" \
            -o txt_no_fw_rules --output_endpoints deployments
        if ! grep -q "=>" "$WORK/nca-$pods.out"; then finished=no; break; fi
    done
    echo
    echo "== NetworkPolicy connectivity, $pods pods ($(grep -c . "$WORK/np-$pods.connlist") netpath lines)"
    if [ $finished = no ]; then
        echo "nca did not finish within $NCA_TIMEOUT s"
        continue
    fi
    echo "same connectivity: $(python3 benches/connlist_equal.py "$WORK/np-$pods.connlist" "$WORK/nca-$pods.out" || true)"
    echo "netpath matrix: median $(printf %.4f "$(col "np-$pods" 1)") s, max RSS $(echo "$(col "np-$pods" 2)/1024" | bc -l | cut -d. -f1) MB"
    echo "nca:            median $(printf %.2f "$(col "nca-$pods" 1)") s ($NCA_RUNS runs), max RSS $(echo "$(col "nca-$pods" 2)/1024" | bc -l | cut -d. -f1) MB"
    echo "peer / netpath: $(echo "$(col "nca-$pods" 1) / $(col "np-$pods" 1)" | bc -l | cut -c1-8)"
done
echo
echo "work directory: $WORK"
