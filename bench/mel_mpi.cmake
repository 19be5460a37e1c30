# bench/mel_mpi.cmake - the distributed mel job: 2 ranks vs 1 rank on 30-s clips (speed-up), and
# parallel HDF5 row writes vs a plain fwrite of the same bytes (bench_store).
set(_mel_env env ARTISTNET=$<TARGET_FILE:artistnet> MPIEXEC=${MPIEXEC_EXECUTABLE}
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1)
an_bench_program(bench_store ${CMAKE_CURRENT_SOURCE_DIR}/bench_store.c)
an_bench(bench_store_2ranks ${_mel_env} ${MPIEXEC_EXECUTABLE} --oversubscribe -n 2 $<TARGET_FILE:bench_store> /tmp 256 64)
an_bench(bench_mel_mpi ${_mel_env} TRACKS=96 REPEAT=5 bash ${CMAKE_CURRENT_SOURCE_DIR}/mel_mpi.sh)
