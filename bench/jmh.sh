#!/usr/bin/env bash
# JMH microbenchmarks of the sgemm and convolution kernels, reference vs simd backend (module bench, profile -Pbench).
#   bench/jmh.sh                          # everything (several minutes)
#   bench/jmh.sh Gemm -p shape=512x512x512NN -p threads=1    # any JMH arguments: a regex of benchmarks, -p, -f, -wi, -i ...
#   bench/jmh.sh Conv -p layer=conv2 -wi 1 -i 2             # a short run
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/scripts/find-java.sh"
deepshape_find_java || exit 2
export JAVA_HOME
(cd "$root" && { mvn -o -q -B -ntp -Pbench package -DskipTests -pl bench -am >/dev/null 2>&1 || mvn -q -B -ntp -Pbench package -DskipTests -pl bench -am >&2; })
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")" \
  org.openjdk.jmh.Main "$@"
