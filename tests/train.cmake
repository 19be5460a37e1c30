# tests/train.cmake - `artistnet train` (issue 5): accuracy and determinism, rank invariance (1/2/3
# ranks), SIGKILL/SIGTERM + --resume, precise batch-norm statistics (issue 19), CLI errors. Inputs come
# from tests/train_make_mels.py (h5py) and, for train_bn, synth + mel.
an_script_test(train_accuracy e2e test_train.sh accuracy)
an_script_test(train_ranks mpi test_train.sh ranks)
an_script_test(train_resume mpi test_train.sh resume)
an_script_test(train_cli e2e test_train.sh cli)
an_script_test(train_bn mpi test_train.sh bn)
set_tests_properties(train_ranks train_resume train_bn PROPERTIES PROCESSORS 2)
