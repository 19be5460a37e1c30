# tests/scaling.cmake - bench/scaling.sh (the scaling benchmark users run) checked at its tiny size.
an_script_test(scaling_bench_tiny e2e test_scaling_bench.sh)
