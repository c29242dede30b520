#!/usr/bin/env bash
# Side-by-side comparison on this machine, in one run: deepshape, libtorch 2.7.1 through DJL 0.36, and PyTorch
# (Debian's python3-torch) train the reference model one full epoch on the same preloaded MNIST, in the same batch
# order, batch 64, Adam 1e-3, on the same number of threads, then run the 10,000 test images; the table shows epoch
# time, median training step, inference time, peak RSS and each ratio deepshape / peer.
#
#   bench/compare.sh [--threads N] [--rounds N] [--limit N] [--skip-djl] [--skip-pytorch]
#
#   --threads N   threads for every contestant (default 2): deepshape --threads N; libtorch num_threads N (interop 1);
#                 PyTorch torch.set_num_threads(N) with OPENBLAS_NUM_THREADS=1 (PERF_NOTES: its best setting here)
#   --rounds N    run every contestant N times (default 1), one after another within a round, the first contestant
#                 rotating from round to round; the table shows each figure's median over the rounds, each ratio as
#                 the median of the rounds' own ratios, and every round's epoch ratios (on a shared machine whose
#                 speed drifts by tens of percent from minute to minute, one round can flatter or wrong anyone)
#   --limit N     train on the first N examples of the order only (a quick check of the script; not a comparison)
#
# Environment: DEEPSHAPE_DATA (the MNIST folder; default ../shared/datasets/mnist), DEEPSHAPE_BACKEND (default: best),
# PEER_OMP_WAIT_POLICY (default PASSIVE, see below). Needs ./deepshape's Java 25, Maven (downloads libtorch's CPU jar
# once, about 200 MB, into ~/.m2) and /usr/bin/python3 with torch and numpy. Results go to bench/target/compare/.
#
# NOTE: two settings for the torch contestants, both chosen to give them their best time here:
#  - BLAS: Debian's python3-torch calls whatever libblas.so.3 the system selects; with only the reference BLAS
#    installed its matrix products run at ~4 GFLOP/s. When that is the case this script fetches Debian's OpenBLAS
#    package with `apt-get download` (no installation, nothing system-wide changes), unpacks it under
#    bench/target/openblas and points only the PyTorch process at it (LD_LIBRARY_PATH), with
#    OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (OpenBLAS 0.3.21 mis-detects them, PERF_NOTES).
#  - OMP_WAIT_POLICY=PASSIVE: on a machine shared with other jobs, GNU OpenMP's spin-waiting threads fight the other
#    processes; measured here with a load of ~6 on 2 cores: 600-1300 ms per PyTorch step with the default, 70 ms with
#    PASSIVE. On a quiet machine the difference is small. deepshape's own pool always blocks (never spins).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
threads=2 rounds=1 limit=0 djl=yes pytorch=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --skip-djl) djl=no; shift ;;
    --skip-pytorch) pytorch=no; shift ;;
    -h|--help) sed -n '2,/^# NOTE:/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; # the header, up to its NOTE
    *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --threads must be a positive integer, got '$threads'" >&2; exit 2; }
[[ "$limit" =~ ^[0-9]+$ ]] || { echo "compare.sh: --limit must be a number, got '$limit'" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds must be a positive integer, got '$rounds'" >&2; exit 2; }
data="${DEEPSHAPE_DATA:-$root/../shared/datasets/mnist}"
[ -e "$data/train-images-idx3-ubyte.gz" ] || [ -e "$data/train-images-idx3-ubyte" ] || { echo "compare.sh: no MNIST in $data (set DEEPSHAPE_DATA)" >&2; exit 2; }
data="$(cd "$data" && pwd)"
py=/usr/bin/python3
out="$root/bench/target/compare"
mkdir -p "$out"
. "$root/scripts/find-java.sh"
deepshape_find_java || exit 2
export JAVA_HOME

# The one batch order every contestant follows: numpy's permutation of the 60,000 training examples, seed 0.
"$py" -c "import numpy as np, sys; p = np.random.default_rng(0).permutation(60000); p = p[:int(sys.argv[2])] if int(sys.argv[2]) > 0 else p; p.astype('<i4').tofile(sys.argv[1])" "$out/order.bin" "$limit"

echo "compare.sh: building deepshape and the libtorch contestant..." >&2
"$root/deepshape" --version >/dev/null
if [ "$djl" = yes ]; then
  (cd "$root" && { mvn -o -q -B -ntp -Pbench package -DskipTests -pl bench -am >/dev/null 2>&1 || mvn -q -B -ntp -Pbench package -DskipTests -pl bench -am >&2; })
fi

# OpenBLAS for the PyTorch contestant when the system's libblas.so.3 is the reference BLAS (see the NOTE above).
blas_env=()
if [ "$pytorch" = yes ]; then
  sysblas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
  if [[ "$sysblas" == */blas/libblas.so.3* ]]; then
    ob="$root/bench/target/openblas"
    if [ ! -e "$ob/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
      mkdir -p "$ob" && (cd "$ob" && apt-get download libopenblas0-pthread >/dev/null 2>&1 && dpkg -x libopenblas0-pthread_*.deb .) \
        || echo "compare.sh: warning: could not fetch OpenBLAS; PyTorch runs on the reference BLAS (much slower)" >&2
    fi
    if [ -e "$ob/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
      blas_env+=("LD_LIBRARY_PATH=$ob/usr/lib/x86_64-linux-gnu/openblas-pthread")
      blas="OpenBLAS 0.3.21 (Debian package, unpacked locally)"
    else blas="reference BLAS"; fi
  else blas="system BLAS: $sysblas"; fi
  grep -q avx512f /proc/cpuinfo && blas_env+=("OPENBLAS_CORETYPE=SkylakeX")
fi

omp="${PEER_OMP_WAIT_POLICY:-PASSIVE}"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "compare.sh: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $threads threads each; load average $(load)" >&2

run_deepshape() { # $1: the round's suffix
  echo "compare.sh: deepshape$2 (load $(load))..." >&2
  "$root/deepshape" bench --epoch --json --threads "$threads" --data "$data" --order "$out/order.bin" 2>"$out/deepshape$1.err" >"$out/deepshape$1.json" \
    || { cat "$out/deepshape$1.err" >&2; exit 1; }
}
run_djl() {
  [ "$djl" = yes ] || return 0
  echo "compare.sh: libtorch 2.7.1 via DJL$2 (load $(load))..." >&2
  OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY="$omp" "$JAVA_HOME/bin/java" -Xmx2g -Dai.djl.offline=true --enable-native-access=ALL-UNNAMED \
    --add-modules jdk.incubator.vector -cp "$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")" \
    dev.deepshape.bench.DjlPeer "$data" "$out/order.bin" "$threads" 2>"$out/djl$1.err" >"$out/djl$1.json" || { cat "$out/djl$1.err" >&2; exit 1; }
}
run_pytorch() {
  [ "$pytorch" = yes ] || return 0
  echo "compare.sh: PyTorch, $blas$2 (load $(load))..." >&2
  env "${blas_env[@]}" PEER_BLAS="$blas" OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY="$omp" "$py" "$root/bench/peer_pytorch.py" "$data" "$out/order.bin" "$threads" \
    2>"$out/pytorch$1.err" >"$out/pytorch$1.json" || { cat "$out/pytorch$1.err" >&2; exit 1; }
}
rm -f "$out"/deepshape*.json "$out"/djl*.json "$out"/pytorch*.json
contestants=(run_deepshape run_djl run_pytorch)
for ((r = 1; r <= rounds; r++)); do
  suffix="" label=""
  [ "$rounds" -gt 1 ] && suffix=".$r" label=", round $r of $rounds"
  for ((i = 0; i < 3; i++)); do "${contestants[$(( (i + r - 1) % 3 ))]}" "$suffix" "$label"; done
done
echo "compare.sh: done (load $(load))" >&2

"$py" - "$out" "$threads" "$(load)" "$rounds" <<'PY'
import json, os, statistics, sys
out, threads, load, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def read(name, r):
    f = os.path.join(out, name + ("" if rounds == 1 else ".%d" % r) + ".json")
    return json.load(open(f)) if os.path.exists(f) and os.path.getsize(f) > 0 else None
names = [n for n in ("deepshape", "djl", "pytorch") if read(n, 1) is not None]
runs = {n: [read(n, r) for r in range(1, rounds + 1)] for n in names}
med = lambda xs: statistics.median(xs)
ds, peers = runs["deepshape"], names[1:]
title = {n: runs[n][0]["name"] for n in names}
rows = [("epoch (s)", "epoch_s", 1.0, "%.2f"), ("training step, median (ms)", "step_ms", 1.0, "%.2f"),
        ("inference, %d test images (s)" % ds[0]["test_count"], "inference_s", 1.0, "%.3f"), ("peak RSS (MB)", "peak_rss_bytes", 1e-6, "%.0f")]
head = "%-34s" % ("%d threads, batch 64, %d steps" % (int(threads), ds[0]["steps"])) + "".join("%18s" % title[n] for n in names) \
    + "".join("%20s" % ("deepshape/" + title[p].split("-")[0]) for p in peers)
if rounds > 1:
    print("medians of %d rounds; a ratio is the median of the rounds' ratios (deepshape and the peer of the same round)" % rounds)
print(head)
print("-" * len(head))
for label, key, scale, fmt in rows:
    print("%-34s" % label + "".join("%18s" % (fmt % (med([r[key] for r in runs[n]]) * scale)) for n in names)
          + "".join("%20s" % ("%.2f×" % med([d[key] / q[key] for d, q in zip(ds, runs[p])])) for p in peers))
print("%-34s" % "batching (% of epoch)" + "".join("%18s" % ("%.1f %%" % med([100 * r["batching_s"] / r["epoch_s"] for r in runs[n]])) for n in names))
print("%-34s" % "loss / train acc. (1 epoch)" + "".join("%18s" % ("%.4f / %.2f%%" % (runs[n][0]["loss"], runs[n][0]["train_accuracy"])) for n in names))
print("%-34s" % "test accuracy" + "".join("%18s" % ("%.2f %%" % runs[n][0]["test_accuracy"]) for n in names))
print("%-34s" % "load average at its end" + "".join("%18s" % " ".join("%.2f" % r["load_average"] for r in runs[n]) for n in names))
if rounds > 1:
    print()
    for i in range(rounds):
        print("round %d: epoch (s) %s;  deepshape/peer %s" % (i + 1, " / ".join("%.2f" % runs[n][i]["epoch_s"] for n in names),
              " / ".join("%.2f×" % (ds[i]["epoch_s"] / runs[p][i]["epoch_s"]) for p in peers)))
print()
for n in names:
    print("%s: %s" % (title[n], runs[n][0]["backend"]))
print("load average after the run: %s (1, 5, 15 min)" % load)
PY
