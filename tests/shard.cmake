# tests/shard.cmake - track lists, label maps, splits, folds (shard/), the work queue and the
# parallel HDF5 store (mpi/).
an_unit_test(test_shard ${CMAKE_CURRENT_SOURCE_DIR}/test_shard.c)
