# bench/scaling.cmake - bench/scaling.sh (issue 18) at 1 and 2 ranks, small size: mel, train (batch
# 256 and 1024), extract, evaluate against the machine's own 2-core ceiling, with the bitwise checks
# (2-3 minutes on 2 cores). Output folder: Testing/scaling in the build tree.
# (tests/'s AN_TEST_ENV is not visible here, so the environment is passed through `env`.)
an_bench(bench_scaling env ARTISTNET=$<TARGET_FILE:artistnet> MPIRUN=${MPIEXEC_EXECUTABLE} PYTHON3=/usr/bin/python3
         OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
         bash ${CMAKE_CURRENT_SOURCE_DIR}/scaling.sh --ranks 1,2 --batch2 1024 --out ${CMAKE_BINARY_DIR}/Testing/scaling)
set_tests_properties(bench_scaling PROPERTIES PROCESSORS 2)
