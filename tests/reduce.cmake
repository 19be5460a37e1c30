# reduce/ tests: LDA (issue 7) and SVM evaluation (issue 8).
an_unit_test(test_lda ${CMAKE_CURRENT_SOURCE_DIR}/test_lda.c)
an_mpi_test(test_lda_np2 2 $<TARGET_FILE:test_lda>)
an_mpi_test(test_lda_np3 3 $<TARGET_FILE:test_lda>)
an_unit_test(test_svm_folds ${CMAKE_CURRENT_SOURCE_DIR}/test_svm_folds.c)
an_mpi_test(test_svm_folds_np2 2 $<TARGET_FILE:test_svm_folds>)
an_mpi_test(test_svm_folds_np3 3 $<TARGET_FILE:test_svm_folds>)
an_script_test(test_evaluate e2e test_evaluate.sh)
an_script_test(test_lda_job e2e test_lda_job.sh)
