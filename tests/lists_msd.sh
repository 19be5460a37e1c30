#!/usr/bin/env bash
# lists_msd.sh - `artistnet lists msd-split` on small generated split and path files: 20 songs per
# artist -> 15/3/2 train/valid/test, first N artists in file order, songs without audio left out,
# relative map paths resolved, 0-based song indices, malformed lines -> exit 2 with file:line;
# `lists folds` writes a fold column with no artist in two folds.
set -uo pipefail
: "${ARTISTNET:?}"
T=$(mktemp -d /tmp/an_lists.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
expect() { local what=$1; shift; if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi; }
mkdir -p "$T/audio"
: >"$T/split.txt"; : >"$T/audio/map.tsv"
for a in 7 3 11; do            # artist indices, in this file order
  for s in $(seq 1 20); do
    id="$((a * 100 + s))"
    echo "$id/$a/$s" >>"$T/split.txt"
    [ "$a$s" = "320" ] && continue   # artist 3's song 20 has no audio
    printf '%s\tsongs/%s.mp3\n' "$id" "$id" >>"$T/audio/map.tsv"
  done
done
"$ARTISTNET" lists msd-split --split "$T/split.txt" --paths "$T/audio/map.tsv" --artists 2 --out "$T/l.tsv" 2>"$T/log"
expect "msd-split exits 0" test $? = 0
expect "header" test "$(head -1 "$T/l.tsv")" = "$(printf 'path\tid\tartist\tsplit')"
expect "39 tracks of the first 2 artists" test "$(tail -n +2 "$T/l.tsv" | wc -l)" = 39
expect "artist 7: 15 train" test "$(awk -F'\t' '$3==7 && $4=="train"' "$T/l.tsv" | wc -l)" = 15
expect "artist 7: 3 valid" test "$(awk -F'\t' '$3==7 && $4=="valid"' "$T/l.tsv" | wc -l)" = 3
expect "artist 7: 2 test" test "$(awk -F'\t' '$3==7 && $4=="test"' "$T/l.tsv" | wc -l)" = 2
expect "artist 3: 1 test (song 20 has no audio)" test "$(awk -F'\t' '$3==3 && $4=="test"' "$T/l.tsv" | wc -l)" = 1
expect "artist 11 left out" test "$(awk -F'\t' '$3==11' "$T/l.tsv" | wc -l)" = 0
expect "song 16 is valid" grep -qP "^$T/audio/songs/716.mp3\t716\t7\tvalid$" "$T/l.tsv"
expect "summary counts missing" grep -q "1 songs without audio" "$T/log"
# the list loads as a track list
"$ARTISTNET" lists folds --list "$T/l.tsv" --label split --artist artist --folds 2 --out "$T/f.tsv"
expect "folds exits 0" test $? = 0
expect "fold column" test "$(head -1 "$T/f.tsv")" = "$(printf 'path\tid\tartist\tsplit\tfold')"
expect "no artist in two folds" test "$(awk -F'\t' 'NR>1{print $3, $5}' "$T/f.tsv" | sort -u | wc -l)" = 2
# 0-based song indices: 0-14 train, 15-17 valid, 18-19 test
for s in $(seq 0 19); do echo "9$s/5/$s"; printf '9%s\t/x/%s.mp3\n' "$s" "$s" >>"$T/map0.tsv"; done >"$T/split0.txt"
"$ARTISTNET" lists msd-split --split "$T/split0.txt" --paths "$T/map0.tsv" --out "$T/l0.tsv" --quiet
expect "0-based: 15/3/2" test "$(cut -f4 "$T/l0.tsv" | sort | uniq -c | tr -s ' ' | tr '\n' ';')" = " 1 split; 2 test; 15 train; 3 valid;"
# malformed input
printf '1/2/3\nbroken line\n' >"$T/bad.txt"
"$ARTISTNET" lists msd-split --split "$T/bad.txt" --paths "$T/map0.tsv" --out "$T/x.tsv" 2>"$T/err"; rc=$?
expect "bad split line exits 2" test $rc = 2
expect "bad split message" grep -q "bad.txt:2: expected 7digital_id/artist_index/song_index" "$T/err"
printf '1/2/3\n1/2/4\n' >"$T/dup.txt"
"$ARTISTNET" lists msd-split --split "$T/dup.txt" --paths "$T/map0.tsv" --out "$T/x.tsv" 2>"$T/err"; rc=$?
expect "duplicate id exits 2" test $rc = 2
expect "duplicate id message" grep -q "dup.txt:2: 7digital id '1' listed twice (also on line 1)" "$T/err"
printf '90\t/a.mp3\nnotab\n' >"$T/badmap.tsv"
"$ARTISTNET" lists msd-split --split "$T/split0.txt" --paths "$T/badmap.tsv" --out "$T/x.tsv" 2>"$T/err"; rc=$?
expect "bad map exits 2" test $rc = 2
expect "bad map message" grep -q "badmap.tsv:2: expected 7digital_id<TAB>audio path" "$T/err"
"$ARTISTNET" lists bogus 2>"$T/err"; expect "unknown sub-verb exits 2" test $? = 2
"$ARTISTNET" lists msd-split --help >"$T/help"; expect "--help" grep -q -- "--artists N" "$T/help"
echo "lists_msd: $pass passed, $fail failed"
test $fail = 0
