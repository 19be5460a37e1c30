# bench/nn.cmake - DCNN throughput vs PyTorch (one thread), issue 4.
an_bench_program(bench_nn ${CMAKE_CURRENT_SOURCE_DIR}/bench_nn.c)
an_bench(bench_nn $<TARGET_FILE:bench_nn> 2 ${CMAKE_CURRENT_SOURCE_DIR}/nn_torch.py)
