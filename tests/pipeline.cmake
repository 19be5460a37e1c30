an_script_test(pipeline_e2e e2e test_pipeline.sh)
