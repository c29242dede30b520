# Sourced by ./deepshape and ./run-tests: sets JAVA_HOME to a Java 25 (or newer) JDK, or explains what is missing.
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
deepshape_find_java() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/jdk-25*
               /usr/lib/jvm/*25* /opt/java/openjdk /Library/Java/JavaVirtualMachines/*/Contents/Home)
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  local c v
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] || continue
    v=$(java_major "$c")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$c"; return 0; fi
  done
  echo "deepshape: needs Java 25 or newer; looked in JAVA_HOME (${JAVA_HOME:-unset}), /usr/lib/jvm and the java on PATH." >&2
  echo "deepshape: install a Java 25 JDK (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}
