# mirex.cmake - tests of the MIREX calling convention (jobs/mirex.c, mirex/*.sh)
an_script_test(mirex_e2e e2e test_mirex.sh)
