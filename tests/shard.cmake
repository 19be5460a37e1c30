# tests/shard.cmake - track lists, label maps, splits, folds (shard/), the work queue and the
# parallel HDF5 store (mpi/).
an_unit_test(test_shard ${CMAKE_CURRENT_SOURCE_DIR}/test_shard.c)
# the queue and store test binary, run under mpiexec at 1, 2 and 3 ranks
an_test_program(test_store ${CMAKE_CURRENT_SOURCE_DIR}/test_store.c)
foreach(np 1 2 3)
  an_mpi_test(store_np${np} ${np} $<TARGET_FILE:test_store>)
endforeach()
set_tests_properties(store_np1 store_np2 store_np3 PROPERTIES TIMEOUT 120)
an_script_test(lists_msd unit lists_msd.sh)
set_tests_properties(lists_msd PROPERTIES TIMEOUT 120)
