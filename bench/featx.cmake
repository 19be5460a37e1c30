# featx.cmake - extract benchmark (issue 6): end-to-end tracks/s of `artistnet extract` on 30-s MP3
# clips vs decode-only throughput of the same files in the same run (target >= 0.8x), and 2 ranks vs
# 1 rank (target >= 1.85x); the job's per-stage timers are printed too.
an_bench_program(bench_featx_decode ${CMAKE_CURRENT_SOURCE_DIR}/bench_featx_decode.c)
an_bench(bench_featx bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_featx.sh $<TARGET_FILE:bench_featx_decode>
         $<TARGET_FILE:artistnet> $<TARGET_FILE:test_featx_check> ${CMAKE_SOURCE_DIR}/../shared 32)
