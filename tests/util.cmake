an_unit_test(test_util ${CMAKE_CURRENT_SOURCE_DIR}/test_util.c)
an_script_test(cli_basics unit test_cli.sh)
