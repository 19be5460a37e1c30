# tests/reliability.cmake - the reliability suite's fuzzing and sanitizer checks (issue 11), label
# `reliability`. Not registered inside a sanitizer build (the ASan check builds and runs one: it
# must not recurse).
#   reliability_fuzz  scripts/fuzz: the libFuzzer targets of tests/fuzz, 40 s each (clang only)
#   reliability_asan  scripts/setup --sanitize, then the unit tests under ASan+UBSan+LSan
#                     (ASAN_CTEST_ARGS="-LE bench|reliability" for the whole suite)
if(NOT SANITIZE)
  find_program(AN_CLANG clang)
  if(AN_CLANG)
    an_script_test(reliability_fuzz reliability test_reliability_fuzz.sh)
    set_tests_properties(reliability_fuzz PROPERTIES TIMEOUT 900)
  else()
    message(STATUS "reliability_fuzz not registered: no clang (scripts/setup installs it)")
  endif()
  an_script_test(reliability_asan reliability test_reliability_asan.sh)
  set_tests_properties(reliability_asan PROPERTIES TIMEOUT 2400)
endif()
