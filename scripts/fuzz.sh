#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with Jazzer (JUnit integration, Maven Central, runs on Java 25).
#
#   scripts/fuzz.sh            # CI: 8 s per target (5 targets, about 1.5 min with Maven's start-up)
#   scripts/fuzz.sh 3m         # longer local runs
#   scripts/fuzz.sh 3m json    # one target
#   MVN_FLAGS= scripts/fuzz.sh # let Maven go online (default: -o, as after a build)
#
# A normal `mvn test` already replays every seed and every past finding (regression mode). Here each target is
# fuzzed for the given time; a crash fails the run and Jazzer stores the input beside the seeds
# (src/test/resources/.../<Class>Inputs/<target>/crash-*), so from then on the regression run repeats it.
# Each run prints "fuzz inputs: <target> N", the number of inputs it executed.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-8s}"
only="${2:-}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAZZER_FUZZ=1 JAZZER_MAX_DURATION="$duration" JAZZER_INSTRUMENT='dev.deepshape.**'
status=0
for target in core:ParserFuzzTest#idx core:ParserFuzzTest#safetensors core:ParserFuzzTest#json core:ParserFuzzTest#spec cli:ImageInputFuzzTest#image; do
  module="${target%%:*}"; test="${target#*:}"
  [[ -n "$only" && "$test" != *"#$only" ]] && continue
  echo "== fuzzing $test for $duration"
  # -Xmx512m: an input that makes a parser allocate without bound shows up as an OutOfMemoryError finding.
  log="$(mktemp)"
  if ! mvn ${MVN_FLAGS--o} -q -B -pl "$module" -am test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false -DargLine="-Xmx512m" >"$log" 2>&1; then
    status=1
    grep -E "FuzzTestFinding|Tests run:.*Fail|^\[ERROR\]   " "$log" | head -20 || true
  fi
  grep -E "^fuzz inputs" "$log" || true
  rm -f "$log"
done
exit $status
