#!/usr/bin/env bash
# deepshape's checks on a lent GPU machine, which has CUDA, PyTorch and python3 but no Java and no network.
#
#   bench/gpu.sh prepare           HERE (the CPU machine): build, fill .gpu/ (a jlink'd JRE, the jars, MNIST) and check
#                                  that the working tree plus .gpu/ fit the device tool's 64 MiB transfer.
#   bench/gpu.sh run [STEP...]     THERE (device tool: carry [".gpu"], command "bench/gpu.sh run"): the steps
#                                  tests, train, bench, torch (default: all), each time-limited and logged to $OUT/<step>.log.
#
# See bench/README.md, "bench/gpu.sh: the CUDA backend on a lent GPU".
set -uo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"
gpu=.gpu

die() { echo "gpu.sh: $*" >&2; exit 1; }
bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB (%d bytes)", b / 1048576, b}'; }

# ------------------------------------------------------------------------------------------------------------ prepare

# The device tool moves the tracked files, the untracked-not-ignored ones and the carried paths: 64 MiB in all.
# NOTE: we stop at 62 MiB, leaving room for what the lead adds between prepare and the device call.
LIMIT_BYTES=$((62 * 1024 * 1024))

# Modules the GPU machine never loads: java.desktop is only for report.html's plots (train's last act, see the train
# step) and jdk.httpserver only for core's MnistDownloaderTest; together they would add ~8.5 MB to jre.tar.xz.
DROP_MODULES="java.desktop jdk.httpserver"
# Modules jdeps cannot see: the JUnit console logs through java.util.logging and finds the tests of a package inside
# a jar through the zip file system (without jdk.zipfs it finds 0 tests and only warns).
JUNIT_MODULES="java.logging jdk.zipfs"
JUNIT_VERSION=1.14.1

# The one jar in $1 matching $2 that is not a tests/sources/shade-original jar.
main_jar() { find "$1" -maxdepth 1 -name "$2" ! -name '*-tests.jar' ! -name '*-sources.jar' ! -name 'original-*' 2>/dev/null | head -1; }

prepare() {
  . scripts/find-java.sh
  deepshape_find_java || exit 2
  export PATH="$JAVA_HOME/bin:$PATH"
  command -v xz >/dev/null || die "xz is needed to pack the JRE (apt-get install xz-utils)"

  echo "== build (mvn package, tests skipped)"
  mvn -B -ntp -o -q -DskipTests package || { echo "gpu.sh: the offline build failed; trying online"; mvn -B -ntp -q -DskipTests package; } \
    || die "the build failed; run 'mvn -DskipTests package' to see why"

  # .gpu/ travels only through the device tool's carry list: it must stay untracked and ignored.
  local exclude; exclude="$(git rev-parse --git-path info/exclude)"
  mkdir -p "$(dirname "$exclude")"
  grep -qxF '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
  git check-ignore -q "$gpu/" || die "$gpu/ is not ignored by git although $exclude lists /.gpu/"

  echo "== jars -> $gpu/lib"
  rm -rf "$gpu/lib" && mkdir -p "$gpu/lib/test"
  # Thin jars instead of cli's shaded deepshape.jar (4.9 MB): train needs core, simd, cli, report (picocli reflects on
  # 'report's types) and picocli; the shaded jar's protobuf (onnx) and JFreeChart are never loaded on the GPU machine.
  local j
  for j in "$(main_jar core/target 'deepshape-core-*.jar')" "$(main_jar simd/target 'deepshape-simd-*.jar')" \
           "$(main_jar report/target 'deepshape-report-*.jar')"; do
    [ -f "$j" ] || die "missing a built jar under core/, simd/ or report/target"
    cp "$j" "$gpu/lib/"
  done
  cp cli/target/original-deepshape.jar "$gpu/lib/deepshape-cli.jar" || die "missing cli/target/original-deepshape.jar"
  local picocli
  # picocli's version is the root pom's (dependencyManagement); the build has just put that jar into ~/.m2.
  local v; v="$(sed -n '/<artifactId>picocli<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p}' pom.xml)"
  picocli="$HOME/.m2/repository/info/picocli/picocli/$v/picocli-$v.jar"
  [ -f "$picocli" ] || die "cannot find picocli $v's jar ($picocli)"
  cp "$picocli" "$gpu/lib/"
  j="$(find core/target -maxdepth 1 -name 'deepshape-core-*-tests.jar' | head -1)"
  [ -f "$j" ] || die "missing core's test-jar (core/target/deepshape-core-*-tests.jar)"
  cp "$j" "$gpu/lib/test/"

  # The cuda module: its jar, and its test classes as a jar (its own test-jar if its pom makes one).
  local cuda_jar; cuda_jar="$(main_jar cuda/target 'deepshape-cuda-*.jar')"
  if [ -f "$cuda_jar" ]; then
    cp "$cuda_jar" "$gpu/lib/"
    j="$(find cuda/target -maxdepth 1 -name 'deepshape-cuda-*-tests.jar' | head -1)"
    if [ -f "$j" ]; then cp "$j" "$gpu/lib/test/"
    elif [ -d cuda/target/test-classes ]; then jar --create --file "$gpu/lib/test/deepshape-cuda-tests.jar" -C cuda/target/test-classes .
    else echo "gpu.sh: WARNING: no cuda/target/test-classes: the GPU machine will run no cuda tests"; fi
  else
    echo "gpu.sh: WARNING: no cuda/target/deepshape-cuda-*.jar (is the cuda module in the root pom and built?):"
    echo "gpu.sh:          the GPU machine can run only the PyTorch step; the deepshape steps will fail there"
  fi

  mkdir -p "$gpu/junit"
  j="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_VERSION/junit-platform-console-standalone-$JUNIT_VERSION.jar"
  if [ ! -f "$j" ]; then
    mvn -B -ntp -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION" \
      || die "cannot fetch junit-platform-console-standalone $JUNIT_VERSION from Maven Central"
  fi
  cp "$j" "$gpu/junit/junit-platform-console-standalone.jar"

  echo "== JRE -> $gpu/jre.tar.xz"
  # The modules: what jdeps finds in the jars that run there, less DROP_MODULES, plus JUNIT_MODULES.
  local mods
  mods="$( { for j in "$gpu"/lib/*.jar "$gpu"/lib/test/*.jar; do
               jdeps --multi-release 25 --ignore-missing-deps --print-module-deps "$j" 2>/dev/null | tail -1 | tr ',' '\n'
             done; printf '%s\n' $JUNIT_MODULES; } | grep -vxF -f <(printf '%s\n' $DROP_MODULES) | grep . | sort -u | paste -sd, )"
  echo "modules: $mods (left out: $DROP_MODULES)"
  # Packing takes about a minute: reuse the archive when the JDK and the modules are the same.
  local key="$("$JAVA_HOME/bin/java" -version 2>&1 | head -1) | $mods"
  if [ -f "$gpu/jre.tar.xz" ] && [ "$(cat "$gpu/jre.key" 2>/dev/null)" = "$key" ]; then
    echo "unchanged since the last prepare: kept"
  else
    local tmp; tmp="$(mktemp -d)"
    jlink --add-modules "$mods" --strip-debug --no-man-pages --no-header-files --output "$tmp/jre" 2>&1 | grep -v 'incubator modules'
    [ -x "$tmp/jre/bin/java" ] || die "jlink failed"
    # NOTE: no jlink --compress: xz packs the uncompressed modules file far better (java.base: 12.8 MB this way).
    # -9 keeps the 64 MB modules file in one xz block (-6 -T2 splits it): 0.2 MB smaller, same time.
    tar -C "$tmp" -cf - jre | xz -9 -T2 > "$gpu/jre.tar.xz.part" && mv "$gpu/jre.tar.xz.part" "$gpu/jre.tar.xz" || die "packing the JRE failed"
    echo "$key" > "$gpu/jre.key"
    rm -rf "$tmp"
  fi

  echo "== MNIST -> $gpu/mnist"
  local src=../shared/datasets/mnist f
  mkdir -p "$gpu/mnist"
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$src/$f" ] || die "missing $src/$f"
    cp -u "$src/$f" "$gpu/mnist/"
  done
  rm -rf "$gpu/out"  # a local test run's logs must not travel

  # What the device tool will move: tracked files + untracked-not-ignored files + the carried .gpu/.
  local tracked untracked carried total
  tracked="$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')"
  untracked="$(git ls-files -z -o --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')"
  carried="$(bytes "$gpu")"
  total=$((tracked + untracked + carried))
  echo "== sizes"
  printf '  %-28s %s\n' "jre.tar.xz" "$(mib "$(bytes "$gpu/jre.tar.xz")")" "lib/ + junit/" "$(mib "$(bytes "$gpu/lib" "$gpu/junit")")" \
    "mnist/" "$(mib "$(bytes "$gpu/mnist")")" ".gpu/ in all" "$(mib "$carried")" "tracked files" "$(mib "$tracked")" \
    "untracked, not ignored" "$(mib "$untracked")" "TOTAL that travels" "$(mib "$total")" "limit here (62 MiB)" "$(mib "$LIMIT_BYTES")"
  find "$gpu/lib" "$gpu/junit" -type f -printf '    %10s  %p\n' | sort -k2
  if [ "$total" -gt "$LIMIT_BYTES" ]; then
    echo "gpu.sh: OVER BUDGET by $(mib $((total - LIMIT_BYTES))): the device tool takes 64 MiB in all (tracked + untracked + carry)." >&2
    echo "gpu.sh: remove untracked files, or leave jdk.incubator.vector out of the JRE (add it to DROP_MODULES)." >&2
    exit 1
  fi
  echo "ready: run on the device with carry [\".gpu\"] and command \"bench/gpu.sh run\" (or e.g. \"bench/gpu.sh run train torch\")"
}

# ------------------------------------------------------------------------------------------------------------- run

# Time limits per step in seconds (override from the environment): the device tool gives one command at most 600 s,
# and a whole session 15 minutes of device time.
T_TESTS=${T_TESTS:-150} T_TRAIN=${T_TRAIN:-240} T_BENCH=${T_BENCH:-120} T_TORCH=${T_TORCH:-150}
results=()

# step NAME LIMIT [--quiet] CMD...: runs CMD under timeout, its output to $OUT/NAME.log (and the screen unless --quiet).
step() {
  local name="$1" limit="$2" quiet=no; shift 2
  [ "${1:-}" = --quiet ] && { quiet=yes; shift; }
  echo; echo "===== $name (limit ${limit}s): $*" | cut -c1-300
  local t0=$SECONDS rc
  if [ $quiet = yes ]; then timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1; rc=$?
  else timeout -k 10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"; rc=${PIPESTATUS[0]}; fi
  last_rc=$rc last_secs=$((SECONDS - t0))
}

# record NAME VERDICT: one line of the final summary.
record() { results+=("$(printf '%-12s %-60s %4ds' "$1" "$2" "$last_secs")"); echo "----- $1: $2 (${last_secs}s)"; }

verdict() {  # the usual PASS/FAIL from the last step's exit status
  case $last_rc in
    0) echo PASS ;; 124|137) echo "FAIL (timed out)" ;; *) echo "FAIL (exit $last_rc)" ;;
  esac
}

unpack_jre() {
  # Unpacked once per machine; the archive's size tells a new one apart.
  local dir=/tmp/deepshape-jre stamp; stamp="$(stat -c %s "$gpu/jre.tar.xz")"
  if [ "$(cat $dir/.stamp 2>/dev/null)" != "$stamp" ]; then
    rm -rf $dir && mkdir -p $dir
    if command -v xz >/dev/null; then tar -C $dir -xJf "$gpu/jre.tar.xz"
    else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$gpu/jre.tar.xz" $dir; fi
    echo "$stamp" > $dir/.stamp
  fi
  java=$dir/jre/bin/java
  "$java" -version 2>&1 | head -1
}

gpu_info() {
  echo "== GPU"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L 2>&1
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -3
  else echo "nvidia-smi: not found (no NVIDIA driver here?)"; fi
  command -v nvcc >/dev/null && nvcc --version | tail -2

  echo "== CUDA libraries (libcuda.so.1, libnvrtc.so*, libcublas.so*)"
  local pat='libcuda\.so\.1$|libnvrtc\.so|libcublas\.so'
  ldconfig -p 2>/dev/null | grep -E "$pat" | sed 's/^/  ldconfig: /'
  local sp; sp="$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)"
  local found; found="$( { ldconfig -p 2>/dev/null | grep -E "$pat" | sed 's/.* => //'
      for d in /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
        ls "$d"/libcuda.so.1 "$d"/libnvrtc.so* "$d"/libcublas.so* 2>/dev/null; done
      for s in $sp; do ls "$s"/nvidia/*/lib/libnvrtc.so* "$s"/nvidia/*/lib/libcublas.so* 2>/dev/null; done
      timeout 30 find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
        \( -name 'libcublas.so*' -o -name 'libnvrtc.so*' -o -name 'libcuda.so.1' \) -print 2>/dev/null
    } | sort -u)"
  [ -n "$found" ] && echo "$found" | sed 's/^/  /' || echo "  none found"
  # Extra folders for the cuda module's own search (it also looks by itself).
  DEEPSHAPE_CUDA_LIBS="$(echo "$found" | grep . | xargs -r -n1 dirname | awk '!seen[$0]++' | paste -sd:)"
  export DEEPSHAPE_CUDA_LIBS
  echo "DEEPSHAPE_CUDA_LIBS=$DEEPSHAPE_CUDA_LIBS"
}

# The console launcher's summary box, the first failures with their messages, and how often each message came
# (one broken kernel fails dozens of tests with the same words). The whole run is in the log.
junit_digest() {
  local log="$OUT/$1.log"
  awk '/^Failures \([0-9]+\):/ {f = 1; print; next} /^Test run finished/ {f = 0}
       f && /^  JUnit / && ++n <= 8 {print}
       f && /^ +=> / && n <= 8 {print}
       f && /^ +=> / {sub(/^ +=> /, ""); count[substr($0, 1, 160)]++}
       END {if (n > 8) {print "  ... " n - 8 " more; the messages by count:"
                         for (m in count) printf "  %5d x %s\n", count[m], m}}' "$log"
  grep -E '^Test run finished|^\[ +[0-9]+ (tests|containers) (found|successful|failed|aborted|skipped)' "$log"
  # No summary box: the JVM or the launcher died first; its last words say why.
  grep -q '^Test run finished' "$log" || tail -15 "$log"
}

junit() {  # junit NAME PACKAGE...: the JUnit console on the given packages, with all jars on one class path
  local name="$1"; shift
  local sel=() p; for p in "$@"; do sel+=(--select-package "$p"); done
  step "$name" $T_TESTS --quiet "$java" "${jvm[@]}" -cp "$gpu/junit/junit-platform-console-standalone.jar:$cp:$testcp" \
    org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors --details=tree \
    --fail-if-no-tests --exclude-classname '.*UnitsUseTheirShapeRulesTest' "${sel[@]}"
  junit_digest "$name"
  case $last_rc in 2) record "$name" "FAIL (no tests found)" ;; *) record "$name" "$(verdict)" ;; esac
}

run() {
  local steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(tests train bench torch)
  local s; for s in "${steps[@]}"; do case $s in tests|train|bench|torch) ;; *) die "unknown step '$s' (steps: tests train bench torch)" ;; esac; done
  [ -d "$gpu/lib" ] && [ -f "$gpu/jre.tar.xz" ] || die "no $gpu/lib or $gpu/jre.tar.xz: run 'bench/gpu.sh prepare' on the CPU machine and carry [\".gpu\"]"
  if [ -z "${OUT:-}" ]; then OUT=/tmp/deepshape-gpu-out; echo "gpu.sh: \$OUT is not set; logs go to $OUT"; fi
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu.log") 2>&1  # the whole session too, in case the device tool's tail cuts it
  local tee_pid=$!

  echo "== bench/gpu.sh run ${steps[*]} on $(hostname), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  unpack_jre
  gpu_info
  cp=$(ls "$gpu"/lib/*.jar | paste -sd:) testcp=$(ls "$gpu"/lib/test/*.jar 2>/dev/null | paste -sd:)
  jvm=(--enable-native-access=ALL-UNNAMED)
  "$java" --list-modules | grep -q '^jdk.incubator.vector' && jvm+=(--add-modules jdk.incubator.vector)
  local have_cuda=yes; ls "$gpu"/lib/deepshape-cuda-*.jar >/dev/null 2>&1 || {
    have_cuda=no; echo "gpu.sh: WARNING: no deepshape-cuda jar in $gpu/lib (prepare ran before the cuda module was built): the deepshape steps will fail"; }
  export DEEPSHAPE_DATA="$root/$gpu/mnist"

  for s in "${steps[@]}"; do case $s in
    tests)
      if ls "$gpu"/lib/test/deepshape-cuda-*.jar >/dev/null 2>&1; then junit tests-cuda dev.deepshape.cuda
      else last_secs=0; record tests-cuda "FAIL (no cuda test jar in $gpu/lib/test)"; fi
      # The golden parity tests with every op on the cuda backend.
      DEEPSHAPE_BACKEND=cuda junit tests-golden dev.deepshape.golden dev.deepshape.nn dev.deepshape.autograd dev.deepshape.optim ;;
    train)
      # the run folder stays there (the device tool brings back at most 8 files); train.log holds the epochs
      step train $T_TRAIN "$java" "${jvm[@]}" -Xmx4g -cp "$cp" dev.deepshape.cli.Main train --device cuda --no-download \
        --data "$gpu/mnist" --out /tmp/deepshape-gpu-run
      # NOTE: the JRE has no java.desktop: train ends with a note instead of report.html, and exits 0
      record train "$(verdict)"
      # eval of the trained model (the inference-only device path)
      step eval 60 "$java" "${jvm[@]}" -Xmx4g -cp "$cp" dev.deepshape.cli.Main eval --device cuda --data "$gpu/mnist" \
        --checkpoint /tmp/deepshape-gpu-run/model.safetensors
      record eval "$(verdict)"
      # a model the GPU would run op by op (a spec's Sequential): --device auto trains it on the CPU and says so
      step train-spec 60 "$java" "${jvm[@]}" -Xmx4g -cp "$cp" dev.deepshape.cli.Main train --no-download --data "$gpu/mnist" \
        --spec core/src/main/resources/dev/deepshape/shape/combined.spec --epochs 1 --limit-train 6400 --out /tmp/deepshape-gpu-spec
      if [ $last_rc -eq 0 ] && grep -q 'runs on the CPU' "$OUT/train-spec.log"; then record train-spec PASS
      else record train-spec "FAIL (exit $last_rc, or no note that auto took the CPU)"; fi ;;
    bench)
      step bench $T_BENCH "$java" "${jvm[@]}" -Xmx4g -cp "$cp" dev.deepshape.cuda.CudaBench --data "$gpu/mnist"
      record bench "$(verdict)"
      # the command line's epoch benchmark on the GPU (what bench/compare.sh runs on the CPU)
      step bench-epoch 90 "$java" "${jvm[@]}" -Xmx4g -cp "$cp" dev.deepshape.cli.Main bench --epoch --device cuda --data "$gpu/mnist"
      record bench-epoch "$(verdict)" ;;
    torch)
      PYTHONUNBUFFERED=1 step torch $T_TORCH "${PYTHON:-python3}" bench/torch_gpu.py "$gpu/mnist"
      record torch "$(verdict)" ;;
  esac; done

  echo; echo "===== summary (cuda jar: $have_cuda; logs in $OUT)"
  printf '%s\n' "${results[@]}" | tee "$OUT/summary.txt"
  local rc=0; grep -q ' FAIL' "$OUT/summary.txt" && rc=1
  # Let tee write the last lines before the device tool takes the output.
  exec >&- 2>&-; wait $tee_pid
  return $rc
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: bench/gpu.sh prepare | bench/gpu.sh run [tests|train|bench|torch]..." >&2; exit 2 ;;
esac
