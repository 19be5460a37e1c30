# tests/slurm_lib.sh - checks shared by the Slurm tests (test_slurm.sh, test_multinode.sh); sourced.
# The callers count with pass/fail and hand these functions to their inner shell with `declare -f`.
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAIL: $1"; fail=$((fail+1)); }
# what may differ between two runs of the same computation: timing, command lines, paths, and the
# input files' whole-file checksums (the files hold their command lines); the inputs' data are
# compared with h5diff instead
norm() { grep -v -e '"timing"' -e '"command_line"' "$1" | sed -e 's/"path": "[^"]*"//g' -e 's/"fnv1a64": "[^"]*"//g'; }
checksum() { h5dump -a /checksum "$1" 2>/dev/null | grep -o 'fnv1a64:[0-9a-f]*'; }
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# same_results REF OUT WHAT: every REF/eval/*/*/results.json has an equal OUT twin (at least 6)
same_results() {
  local f g n=0
  for f in "$1"/eval/*/*/results.json; do
    g=$2/${f#"$1"/}
    if [ -f "$g" ] && diff <(norm "$f") <(norm "$g") >/dev/null; then n=$((n+1)); else bad "results differ: $g"; diff <(norm "$f") <(norm "$g") | head -5; fi
  done
  [ $n -ge 6 ] && ok "$3 results.json ($n files)" || bad "only $n identical results files"
}
# same_data REF OUT WHAT FILE:/DATASET...: each dataset bitwise equal in REF and OUT
same_data() {
  local ref=$1 out=$2 what=$3 f; shift 3
  for f in "$@"; do
    h5diff -d 0 "$ref/${f%%:*}" "$out/${f%%:*}" "${f#*:}" >/dev/null \
      && ok "${f%%:*} ${f#*:} identical" || bad "${f%%:*} ${f#*:} differs: $what"
  done
}
