# bench/nn.cmake - DCNN throughput vs PyTorch (one thread), issue 4.
an_bench_program(bench_nn ${CMAKE_CURRENT_SOURCE_DIR}/bench_nn.c)
an_bench(bench_nn $<TARGET_FILE:bench_nn> 2 ${CMAKE_CURRENT_SOURCE_DIR}/nn_torch.py)
# issue 22: the five convolutions, OpenBLAS path vs oneDNN (when the build has oneDNN)
if(AN_DNNL_LIBS)
  an_bench_program(bench_conv_dnnl ${CMAKE_CURRENT_SOURCE_DIR}/bench_conv_dnnl.c)
  target_include_directories(bench_conv_dnnl PRIVATE ${DNNL_INCLUDE_DIR})
  an_bench(bench_conv_dnnl $<TARGET_FILE:bench_conv_dnnl> 1)
endif()
