# tests/nn.cmake - the DCNN (nn/) and `import-keras` (issues 4 and 12).
an_unit_test(test_nn_reference ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_reference.c)
an_unit_test(test_nn_grad ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_grad.c)
an_unit_test(test_nn_learn ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_learn.c)
an_unit_test(test_nn_io ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_io.c)
an_script_test(nn_h5py unit test_nn_h5py.sh $<TARGET_FILE:test_nn_io>)
an_script_test(nn_import_keras unit test_nn_import.sh)
