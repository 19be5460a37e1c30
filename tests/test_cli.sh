#!/usr/bin/env bash
# test_cli.sh - the binary's top-level CLI: --help, --version, unknown subcommand -> exit 2.
set -u
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=$((fail+1)); fi; }
out=$("$ARTISTNET" --help); rc=$?
check "--help exits 0" "[ $rc = 0 ]"
check "--help lists subcommands" "grep -q 'subcommands:' <<<\"\$out\""
out=$("$ARTISTNET" --version); rc=$?
check "--version exits 0" "[ $rc = 0 ]"
check "--version names the BLAS kernels" "grep -q 'OpenBLAS kernels: ' <<<\"\$out\""
"$ARTISTNET" frobnicate 2>/tmp/cli_err.$$; rc=$?
check "unknown subcommand exits 2" "[ $rc = 2 ]"
check "unknown subcommand is named" "grep -q \"unknown subcommand 'frobnicate'\" /tmp/cli_err.$$"
rm -f /tmp/cli_err.$$
# the process keeps its name when it re-executes itself for OpenBLAS's kernels (nn_blas_setup, on CPUs
# OpenBLAS does not know): ps, top, pgrep and the multinode test find it as artistnet, not "exe"
T=$(mktemp -d)
"$ARTISTNET" synth --out "$T/c" --artists 200 --songs 10 --seconds 30 --quiet 2>/dev/null & p=$!
sleep 0.5
comm=$(cat /proc/$p/comm 2>/dev/null); reexec=$(tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -c ARTISTNET_BLAS_REEXEC)
kill $p 2>/dev/null; wait $p 2>/dev/null; rm -rf "$T"
echo "running process: name '$comm', re-executed for OpenBLAS: $reexec"
check "a running artistnet is named artistnet" "[ '$comm' = artistnet ]"
echo "test_cli: $((7-fail)) passed, $fail failed"
[ $fail = 0 ]
