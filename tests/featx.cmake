# featx.cmake - tests of the `extract` and `export` jobs (issue 6), the log-mel baseline (issue 8) and
# `extract --model authors.h5` end to end (issue 12). One checker program, driven by three scripts.
add_executable(test_featx_check ${CMAKE_CURRENT_SOURCE_DIR}/test_featx_check.c ${CMAKE_CURRENT_SOURCE_DIR}/testutil.c)
target_link_libraries(test_featx_check PRIVATE artistnet_core)
target_include_directories(test_featx_check PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
# golden features (PyTorch/numpy reference) of generated clips, DCNN (authors' model) and baseline
an_script_test(test_featx_reference e2e test_featx_reference.sh $<TARGET_FILE:test_featx_check>)
# issue 21: the authors' front end (resampy kaiser_best) on stereo 44.1/48 kHz clips, --resampler,
# the resampler recorded in model.h5 / mels.h5 / features.h5, --from-mels mismatches
an_script_test(test_frontend_reference e2e test_frontend_reference.sh $<TARGET_FILE:test_featx_check>)

# 1/2/3 ranks bitwise on a mixed good/bad list, module-API identity, --from-mels, export, h5py schema
an_script_test(test_featx_mpi mpi test_featx_mpi.sh $<TARGET_FILE:test_featx_check>)
# SIGKILL part-way + --resume, SIGTERM -> exit 3 + --resume: identical to an uninterrupted run
an_script_test(test_featx_resume mpi test_featx_resume.sh $<TARGET_FILE:test_featx_check>)
