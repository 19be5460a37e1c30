# tests/mel.cmake - the distributed `mel` job: 1/2/3 ranks bitwise equal, schema via h5py, kill and
# resume, SIGTERM, bad input (tests/mel_mpi.sh, tests/mel_h5.py).
an_script_test(mel_mpi mpi mel_mpi.sh)
set_tests_properties(mel_mpi PROPERTIES TIMEOUT 300)
