# tests/reliability.cmake - the reliability suite (issue 11), label `reliability`:
#   reliability_rank    one rank of a 3-rank mel / extract SIGKILLed mid-job: fails fast (< 30 s),
#                       Open MPI names the rank, nothing left running; --resume == uninterrupted
#   reliability_disk    full disk (small tmpfs mounts): clear error naming the file, exit 1, done
#                       rows intact, --resume after freeing space == uninterrupted
#   reliability_inputs  the job-level bad-input corpus (tests/reliability_inputs.py) through mel and
#                       extract on 2 ranks: per-row status and messages, 1-hour clip RSS < 512 MB;
#                       an unreadable file (as nobody); damaged HDF5 inputs -> exit 2
#   reliability_memory  extract's peak RSS per rank on 1,000 tracks < 64 MB and not above 100 tracks'
#   reliability_fuzz    scripts/fuzz: the libFuzzer targets of tests/fuzz, 40 s each (clang only)
#   reliability_asan    scripts/setup --sanitize, then the CTest suite (all but bench, slurm and
#                       test_transfer) under ASan+UBSan+LSan, within a 20-minute budget
# The kill/resume and bad-input tests of each job live with the job's tests (mel_mpi,
# test_featx_resume, train, pipeline). The rank, disk and inputs tests also run inside the sanitizer
# build; memory, fuzz and asan do not (ASan's own memory; the ASan check must not recurse).
an_script_test(reliability_rank reliability test_reliability_rank.sh $<TARGET_FILE:test_featx_check>)
an_script_test(reliability_disk reliability test_reliability_disk.sh $<TARGET_FILE:test_featx_check>)
an_script_test(reliability_inputs reliability test_reliability_inputs.sh)
set_tests_properties(reliability_rank reliability_disk reliability_inputs PROPERTIES TIMEOUT 600)
if(SANITIZE) # the 1-hour clip's 317 MB under ASan's shadow memory
  set_property(TEST reliability_inputs APPEND PROPERTY ENVIRONMENT "RSS_MB=2048")
endif()
if(NOT SANITIZE)
  an_script_test(reliability_memory reliability test_reliability_memory.sh $<TARGET_FILE:test_featx_check>)
  set_tests_properties(reliability_memory PROPERTIES TIMEOUT 300)
  find_program(AN_CLANG clang)
  if(AN_CLANG)
    an_script_test(reliability_fuzz reliability test_reliability_fuzz.sh)
    set_tests_properties(reliability_fuzz PROPERTIES TIMEOUT 900)
  else()
    message(STATUS "reliability_fuzz not registered: no clang (scripts/setup installs it)")
  endif()
  an_script_test(reliability_asan reliability test_reliability_asan.sh)
  # started first (COST): the longest test; build + a 1500-s budget for the sanitizer suite (1138 s in all in a clean-clone CI run)
  set_tests_properties(reliability_asan PROPERTIES TIMEOUT 1800 COST 100000)
endif()
