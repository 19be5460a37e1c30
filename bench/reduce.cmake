# reduce/ benchmarks: LDA fit vs scikit-learn, SVM grid search vs scikit-learn GridSearchCV, one SVM fit on
# the precomputed kernel vs LIBSVM's own kernel vs scikit-learn SVC.
an_bench_program(bench_lda ${CMAKE_CURRENT_SOURCE_DIR}/bench_lda.c)
an_bench(bench_lda bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_lda.sh $<TARGET_FILE:bench_lda>)
an_bench_program(bench_svm_fit ${CMAKE_CURRENT_SOURCE_DIR}/bench_svm_fit.c)
an_bench(bench_svm bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_svm.sh $<TARGET_FILE:artistnet> $<TARGET_FILE:bench_svm_fit>)
