# mel.cmake - front-end benchmark: log-mel ms per 30-s clip vs the numpy peer (ratio), decode+resample x realtime.
an_bench_program(bench_mel ${CMAKE_CURRENT_SOURCE_DIR}/bench_mel.c)
an_bench(bench_mel $<TARGET_FILE:bench_mel> ${CMAKE_CURRENT_SOURCE_DIR}/mel_numpy.py 20)
