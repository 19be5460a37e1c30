#!/usr/bin/env bash
# test_reliability_inputs.sh - the job-level bad-input corpus (tests/reliability_inputs.py makes
# it): good clips of every format, 1 and 8 channels, 192 and 768 kHz, silence, spaces and UTF-8 in
# the path, wrong extensions, a 1-hour clip; and bad ones: over an hour, 1 MHz and 800 Hz rates,
# bit flips, halves and empty files of every format, text named .wav, a symlink loop, a dangling
# symlink, a directory, a missing file, an unreadable file (run as nobody).
#   * `mel` and `extract` on 2 ranks exit 0; every row has the expected status (ok / failed /
#     either for bit flips), a failed row's message names its file, ok rows are finite, the 1-hour
#     clip gets its K segments; peak RSS per rank (the 1-hour clip decoded: 317 MB) < 512 MB;
#   * damaged HDF5 inputs (mels.h5 cut in half, a mels.h5 given as the model, a features file with
#     the wrong schema) -> exit 2 with a message naming the file.
set -uo pipefail
: "${ARTISTNET:?}" "${MPIEXEC:?}" "${PYTHON3:?}" "${ARTISTNET_SRC:?}"
T=$(mktemp -d /tmp/an_inputs_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
PY="$ARTISTNET_SRC/tests/reliability_inputs.py"
RSS_MB=${RSS_MB:-512} # (a sanitizer build sets more)

"$ARTISTNET" synth --out "$T/c" --artists 1 --songs 1 --seconds 5 --quiet || { echo "synth failed"; exit 1; }
for f in flac ogg mp3; do "$ARTISTNET" synth --out "$T/c/$f" --artists 1 --songs 1 --seconds 5 --format $f --quiet || exit 1; done
"$PYTHON3" "$PY" make "$T" || { echo "corpus failed"; exit 1; }

peak_mb() { awk -F': ' '/Maximum resident set size/ {m = $2 > m ? $2 : m} END {printf "%d", m / 1024}' "$@"; }
for job in mel extract; do
  case $job in
    mel) args=(mel --list "$T/list.tsv" --out "$T/m.h5" --quiet) ;;
    extract) args=(extract --model "$T/m_model.h5" --list "$T/list.tsv" --out "$T/f.h5" --quiet) ;;
  esac
  [ $job = extract ] && { "$ARTISTNET" import-keras --weights "$ARTISTNET_AUTHORS_MODEL" --out "$T/m_model.h5" >/dev/null || bad "import-keras"; }
  timeout 300 $MPIEXEC --oversubscribe -n 2 bash -c '/usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$T/time.$job" \
    "$ARTISTNET" "${args[@]}" 2>"$T/$job.log"
  rc=$?; expect "$job on the corpus exits 0 (got $rc)" test $rc = 0
  [ $rc = 0 ] || tail -5 "$T/$job.log"
  out=$([ $job = mel ] && echo "$T/m.h5" || echo "$T/f.h5")
  echo "$job, 2 ranks:"
  "$PYTHON3" "$PY" check "$T/list.tsv" "$out"; expect "$job: every input as expected" test $? = 0
  mb=$(peak_mb "$T/time.$job".*)
  echo "$job: peak RSS $mb MB per rank (bound $RSS_MB MB; the 1-hour clip decodes to 317 MB)"
  expect "$job: peak RSS $mb MB < $RSS_MB MB" test "${mb:-0}" -gt 0 -a "${mb:-0}" -lt $RSS_MB
done

# an unreadable file: root reads everything, so this one runs as nobody (one rank, no mpirun)
U="$T/nobody"; mkdir -p "$U"; cp "$T/mono.wav" "$U/open.wav"; cp "$T/mono.wav" "$U/secret.wav"
chmod 000 "$U/secret.wav"; chmod 777 "$U"
printf 'path\tid\nopen.wav\ta\nsecret.wav\tb\n' >"$U/l.tsv"
timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$U" \
  "$ARTISTNET" mel --list "$U/l.tsv" --out "$U/m.h5" --segments 1 >"$U/log" 2>&1
rc=$?; expect "unreadable file (as nobody): exit 0 (got $rc)" test $rc = 0
expect "unreadable file: a per-track error naming it" grep -q "secret.wav: .*Permission denied" "$U/log"
expect "unreadable file: the other row done" grep -q "1 ok, 1 failed" "$U/log"
grep -m1 "secret.wav" "$U/log"

# damaged HDF5 inputs -> exit 2, message naming the file
head -c $(($(stat -c %s "$T/m.h5") / 2)) "$T/m.h5" >"$T/cut.h5"
h5bad() { # WHAT FILE ARGS...
  local what=$1 file=$2; shift 2
  timeout 120 "$ARTISTNET" "$@" >"$T/h5.log" 2>&1; local rc=$?
  expect "$what: exit 2 (got $rc)" test $rc = 2
  expect "$what: message names $file" grep -q "$file" "$T/h5.log"
  echo "$what: $(grep -m1 "$file" "$T/h5.log")"
}
h5bad "mels.h5 cut in half -> extract --from-mels" cut.h5 extract --model "$T/m_model.h5" --list "$T/list.tsv" --from-mels "$T/cut.h5" --out "$T/x.h5" --quiet
h5bad "mels.h5 cut in half -> train" cut.h5 train --mels "$T/cut.h5" --out "$T/x.h5" --epochs 1 --quiet
h5bad "a mels.h5 as the model" m.h5 extract --model "$T/m.h5" --list "$T/list.tsv" --out "$T/x.h5" --quiet
h5bad "features without labels -> lda" f.h5 lda --features "$T/f.h5" --label-column artist --out "$T/x.h5"

echo "test_reliability_inputs: $pass passed, $fail failed"
[ $fail = 0 ]
