# bench/train.cmake - `artistnet train` segments/s on 1 and 2 ranks (speed-up) and per core vs bench_nn (issue 5).
# (tests/'s AN_TEST_ENV is not visible here, so the environment is passed through `env`.)
an_bench(bench_train env ARTISTNET=$<TARGET_FILE:artistnet> ARTISTNET_SRC=${CMAKE_SOURCE_DIR} PYTHON3=/usr/bin/python3
         MPIEXEC=${MPIEXEC_EXECUTABLE} OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
         bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_train.sh $<TARGET_FILE:bench_nn> 3)
set_tests_properties(bench_train PROPERTIES PROCESSORS 2)
