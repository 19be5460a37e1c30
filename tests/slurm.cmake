an_script_test(slurm_pipeline slurm test_slurm.sh)
set_tests_properties(slurm_pipeline PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 1500)
an_script_test(multinode multinode test_multinode.sh)
set_tests_properties(multinode PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 900)
