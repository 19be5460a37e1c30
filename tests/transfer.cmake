# tests/transfer.cmake - the paper's claim end to end on a small synthetic world: artist-trained
# features beat the log-mel baseline on genre and mood of unseen artists (tests/test_transfer.sh).
an_script_test(test_transfer e2e test_transfer.sh)
