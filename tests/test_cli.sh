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
echo "test_cli: $((6-fail)) passed, $fail failed"
[ $fail = 0 ]
