# bench_lib.sh - sourced by the bench scripts. BENCH_AWK_MEDIAN: an awk function med(a, n), the
# median of a[1..n] (sorts a in place), for the ratios of paired runs.
# shellcheck shell=bash
BENCH_AWK_MEDIAN='function med(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'
