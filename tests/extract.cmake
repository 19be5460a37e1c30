# extract.cmake - tests of the audio front end (extract/) and the synthetic corpus (synth/synth.c).
an_unit_test(test_extract_mel ${CMAKE_CURRENT_SOURCE_DIR}/test_extract_mel.c)
an_unit_test(test_extract_audio ${CMAKE_CURRENT_SOURCE_DIR}/test_extract_audio.c)
an_unit_test(test_extract_synth ${CMAKE_CURRENT_SOURCE_DIR}/test_extract_synth.c LABELS mpi)
