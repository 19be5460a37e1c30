#!/bin/bash
# test_train.sh - end-to-end checks of `artistnet train` (issue 5) on a synthetic mels.h5 (20 artists
# x 20 songs x 3 segments, tests/train_make_mels.py). One script, five parts (the CTest names):
#   accuracy  test-split song accuracy far above chance (1/20): >= 0.75 after 5 epochs (measured:
#             1.00 with this corpus and seed); two runs with the same seed -> the same model bitwise;
#             --init: fine-tuning starts from the init model's features and normalisation (the
#             authors' imported model), a modified init file is refused.
#   ranks     1, 2 and 3 ranks from the same seed -> bitwise the same model and validation figures
#             (--reduce exact, the default); --reduce float: 1 vs 2 ranks equal within 1e-4 of the
#             tensor RMS after 4 steps (float sums in another order; the difference grows with the
#             steps because max-pool/ReLU decisions flip, so it is only comparable early); a
#             mid-epoch checkpoint's parameters and momentum on 3 ranks, --update sharded and
#             replicated, == 1 rank bitwise; a contiguous copy of mels.h5 (segments read with pread)
#             trains the model of the chunked one (HDF5 reads) bitwise; --bench-share 0/3 (one
#             process doing rank 0's share, bench/scaling.sh's ceiling) reads what rank 0 of a 3-rank
#             run reads and writes nothing; training segments exchanged in blocks (--exchange auto,
#             the default on more than one rank), read by each rank (--exchange off) or by each rank
#             because a block does not fit --cache-mb or the node's memory: the same model bitwise;
#             --balance (shares that follow the ranks' speed) with one rank made 3x slower by a test hook:
#             its share shrinks, the model is the 1-rank one bitwise (2 and 3 ranks); --balance off.
#   resume    SIGKILL mid-epoch, then --resume -> bitwise the uninterrupted model; SIGTERM to the 2
#             ranks (as Slurm sends it) -> exit 3 with a mid-epoch checkpoint, --resume on 3 ranks -> bitwise the same model;
#             the log has one row per epoch. The job's hook ARTISTNET_TRAIN_TEST_SIGNAL puts the kill,
#             and the pause before the SIGTERM, at a known step, so no check hopes a sleep was long enough.
#   cli       usage and input errors exit 2 with a message; --resume without a checkpoint starts fresh.
#   bn        precise batch-norm statistics (the default): the small run of issue 19 validates far
#             above chance (>= 0.5) within 8 epochs, 1 and 2 ranks give the same model; --bn running.
# usage: test_train.sh accuracy|ranks|resume|bn|cli      env: ARTISTNET, ARTISTNET_SRC, PYTHON3, MPIEXEC
set -u
part=${1:?part}
name=train_$part
A=${ARTISTNET:?}
PY=${PYTHON3:-/usr/bin/python3}
MPI=${MPIEXEC:-mpiexec}
SRC=${ARTISTNET_SRC:?}
W=$(mktemp -d /tmp/test_train.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAILED: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$name: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
cmp_models() { "$PY" "$SRC/tests/train_compare.py" "$@"; }
attr() { "$PY" -c "import h5py,sys; v = h5py.File(sys.argv[1],'r').attrs[sys.argv[2]]; print(v.decode() if isinstance(v, bytes) else v)" "$1" "$2"; }
run() { "$MPI" --oversubscribe -n "$@"; }

"$PY" "$SRC/tests/train_make_mels.py" "$W/mels.h5" >/dev/null || { bad "make mels.h5"; finish; }
COMMON=(--mels "$W/mels.h5" --seed 7 --quiet)

case $part in
accuracy)
    t0=$(date +%s)
    run 1 "$A" train "${COMMON[@]}" --out "$W/a.h5" --epochs 5 --log "$W/a.tsv"
    check "run 1 exits 0" [ $? -eq 0 ]
    acc=$(attr "$W/a.h5" test_song_accuracy)
    echo "test song accuracy $acc (chance 0.05), $(( $(date +%s) - t0 )) s"
    check "test song accuracy $acc >= 0.75" "$PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.75 else 1)"
    check "curves.tsv has a header and 5 rows" [ "$(wc -l < "$W/a.tsv")" -eq 6 ]
    check "curves.tsv columns" grep -q "^epoch	step	lr	train_loss	train_acc	valid_loss	valid_acc	valid_song_acc	seconds	segments_per_s	best$" "$W/a.tsv"
    check "attributes: ranks, seed, failed rows" [ "$(attr "$W/a.h5" train_ranks)/$(attr "$W/a.h5" train_seed)/$(attr "$W/a.h5" train_failed_rows)" = "1/7/2" ]
    check "model has 20 artists" "$PY" -c "import h5py,sys; sys.exit(0 if h5py.File('$W/a.h5','r')['artists'].shape == (20,) else 1)"
    run 1 "$A" train "${COMMON[@]}" --out "$W/b.h5" --epochs 5
    check "run 2 exits 0" [ $? -eq 0 ]
    check "same seed -> bitwise the same model" cmp_models "$W/a.h5" "$W/b.h5" --bitwise
    # --init (fine-tuning): one epoch from the trained a.h5 starts where a.h5 is (measured: valid
    # loss 0.046 vs 2.12 for one epoch from scratch); the input normalisation comes from the init
    # model, not from these mels; a modified init file is refused (checksum)
    run 1 "$A" train "${COMMON[@]}" --out "$W/f1.h5" --epochs 1
    run 1 "$A" train "${COMMON[@]}" --out "$W/i1.h5" --epochs 1 --init "$W/a.h5"
    check "--init run exits 0" [ $? -eq 0 ]
    check "--init recorded in train_init" [ "$(attr "$W/i1.h5" train_init)" = "$W/a.h5" ]
    fl=$(attr "$W/f1.h5" valid_loss); il=$(attr "$W/i1.h5" valid_loss)
    echo "one epoch: valid loss from scratch $fl, from --init a.h5 $il"
    check "--init starts from the trained features ($il < $fl / 4)" "$PY" -c "import sys; sys.exit(0 if $il < $fl / 4 else 1)"
    KERAS=${ARTISTNET_AUTHORS_MODEL:-$SRC/data/authors-model/model_siamese_10000.h5}
    if [ -f "$KERAS" ]; then
        "$A" import-keras --weights "$KERAS" --out "$W/k.h5" > /dev/null
        run 1 "$A" train "${COMMON[@]}" --out "$W/ik.h5" --epochs 1 --init "$W/k.h5"
        check "--init authors' model exits 0" [ $? -eq 0 ]
        check "--init: normalisation of the init model, not of the mels" "$PY" -c "
import h5py, sys
a, k, ik = (h5py.File(f, 'r') for f in sys.argv[1:4])
n = lambda f: (float(f['norm/mean'][()]), float(f['norm/std'][()]))
print('norm: mels', n(a), 'authors', n(k), 'fine-tuned', n(ik))
sys.exit(0 if n(ik) == n(k) and n(ik) != n(a) else 1)" "$W/a.h5" "$W/k.h5" "$W/ik.h5"
    else
        bad "authors' model missing: $KERAS"
    fi
    cp "$W/a.h5" "$W/mod.h5"
    "$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f['norm/mean'][()] = 0.25" "$W/mod.h5"
    run 1 "$A" train "${COMMON[@]}" --out "$W/im.h5" --epochs 1 --init "$W/mod.h5" 2> "$W/im.err"
    check "--init of a modified model exits 2" [ $? -eq 2 ]
    check "... naming the file and the checksum" grep -q "mod.h5: checksum attribute .* does not match" "$W/im.err"
    ;;
ranks)
    for n in 1 2 3; do
        run $n "$A" train "${COMMON[@]}" --out "$W/r$n.h5" --epochs 2 --batch 48 --micro-batch 16
        check "$n ranks exit 0" [ $? -eq 0 ]
    done
    check "2 ranks == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/r2.h5" --bitwise --attr valid_loss --attr valid_song_accuracy
    check "3 ranks == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/r3.h5" --bitwise --attr valid_loss --attr valid_song_accuracy
    for k in valid_loss valid_song_accuracy test_song_accuracy; do
        check "$k equal on 1/2/3 ranks" [ "$(attr "$W/r1.h5" $k)" = "$(attr "$W/r2.h5" $k)" -a "$(attr "$W/r1.h5" $k)" = "$(attr "$W/r3.h5" $k)" ]
    done
    # /mel contiguous (as `artistnet mel` writes it; train_make_mels.py writes it chunked): segments are
    # read with pread at the dataset's offset, and must be the bytes HDF5 reads
    if h5repack -l /mel:CONTI "$W/mels.h5" "$W/melsc.h5"; then
        run 2 "$A" train --mels "$W/melsc.h5" --seed 7 --out "$W/rc2.h5" --epochs 2 --batch 48 --micro-batch 16 >"$W/rc2.out" 2>&1
        check "contiguous /mel, 2 ranks: exit 0, segments read directly" grep -q "segment reads (direct)" "$W/rc2.out"
        check "contiguous /mel (direct reads) == chunked /mel (HDF5 reads) bitwise" cmp_models "$W/r2.h5" "$W/rc2.h5" --bitwise
    else
        bad "h5repack could not make a contiguous copy"
    fi
    for n in 1 2; do
        run $n "$A" train "${COMMON[@]}" --out "$W/f$n.h5" --epochs 2 --reduce float --max-steps 4 2>/dev/null
        check "--reduce float, $n ranks: stopped with exit 3" [ $? -eq 3 ]
    done
    check "--reduce float: 1 vs 2 ranks within 1e-4 after 4 steps" cmp_models "$W/f1.h5.ckpt" "$W/f2.h5.ckpt" --tol 1e-4
    # the update is sharded (each rank steps its 1/P of the parameters, momentum gathered for the
    # checkpoint) or replicated: a mid-epoch checkpoint holds the same parameters and momentum
    run 1 "$A" train "${COMMON[@]}" --out "$W/u1.h5" --epochs 2 --batch 48 --max-steps 5 2>/dev/null
    for u in sharded replicated; do
        run 3 "$A" train "${COMMON[@]}" --out "$W/u3$u.h5" --epochs 2 --batch 48 --max-steps 5 --update $u 2>/dev/null
        check "--update $u, 3 ranks: stopped with exit 3" [ $? -eq 3 ]
        check "--update $u, 3 ranks: checkpoint (parameters, momentum) == 1 rank bitwise" \
            cmp_models "$W/u1.h5.ckpt" "$W/u3$u.h5.ckpt" --bitwise --optimizer
    done
    # --bench-share R/P (bench/scaling.sh's ceiling): one process does rank R's share of a P-rank run
    # (norm pass, batches, batch-norm and validation passes) and writes nothing. Its reads are the
    # real rank's: the same segment reads and cache hits as rank 0 of the 3-rank run
    BS=(--mels "$W/mels.h5" --seed 7 --epochs 2 --batch 48 --micro-batch 16)
    run 3 "$A" train "${BS[@]}" --out "$W/bs3.h5" >"$W/bs3.out" 2>&1
    run 1 "$A" train "${BS[@]}" --out "$W/bs.h5" --bench-share 0/3 >"$W/bs.out" 2>&1
    check "--bench-share 0/3: exit 0, nothing written" [ $? -eq 0 -a ! -e "$W/bs.h5" -a ! -e "$W/bs.h5.ckpt" ] && grep -q "bench-share 0/3 done; nothing written" "$W/bs.out"
    io() { sed -n 's/.*rank 0 I\/O: \([0-9]*\) segment reads.*, \([0-9]*\) cache hits.*/\1 \2/p' "$1"; }
    echo "rank 0 of 3: $(io "$W/bs3.out"); --bench-share 0/3: $(io "$W/bs.out")"
    check "--bench-share 0/3 reads what rank 0 of 3 reads (segment reads, cache hits)" [ -n "$(io "$W/bs.out")" -a "$(io "$W/bs.out")" = "$(io "$W/bs3.out")" ]
    run 1 "$A" train "${BS[@]}" --out "$W/bs.h5" --bench-share 2/3 --quiet
    check "--bench-share 2/3 (a share without rank 0's extra micro-batch): exit 0" [ $? -eq 0 -a ! -e "$W/bs.h5" ]
    # training segments: blocks exchanged over MPI (--exchange auto, what every multi-rank run above
    # used), each rank reading its own (--exchange off), and auto falling back to reading when a block
    # does not fit --cache-mb: the same model bitwise
    check "3 ranks: training segments in blocks, exchanged" grep -q "held in blocks of 1/3 a rank" "$W/bs3.out"
    check "3 ranks: rank 0 received segments from the others" grep -Eq "rank 0 exchange: [1-9][0-9]* training segments received" "$W/bs3.out"
    run 3 "$A" train "${COMMON[@]}" --out "$W/x3off.h5" --epochs 2 --batch 48 --micro-batch 16 --exchange off
    check "--exchange off, 3 ranks == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/x3off.h5" --bitwise
    run 2 "$A" train --mels "$W/mels.h5" --seed 7 --out "$W/x2fit.h5" --epochs 2 --batch 48 --micro-batch 16 --cache-mb 1 >"$W/x2fit.out" 2>&1
    check "--cache-mb 1: a block does not fit, each rank reads" grep -q "read by each rank (--exchange auto: a block of 1/P does not fit --cache-mb)" "$W/x2fit.out"
    check "... == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/x2fit.h5" --bitwise
    # --cache-mb is per rank, but a node's ranks keep within 60% of its available memory (faked by
    # the hook: 40 MB for 2 ranks -> 12 MB each, under the 28.2-MiB block): warned, each rank reads
    ARTISTNET_TEST_MEM_AVAILABLE_MB=40 run 2 "$A" train --mels "$W/mels.h5" --seed 7 --out "$W/x2mem.h5" --epochs 2 --batch 48 --micro-batch 16 >"$W/x2mem.out" 2>&1
    check "a node's memory: exit 0, warned, 12 MB a rank, each rank reads" [ $? -eq 0 ] \
      && grep -q "warning: --cache-mb 2048 on each of up to 2 ranks a node is over 60% .* each rank keeps at most 12 MB" "$W/x2mem.out" \
      && grep -q "read by each rank (--exchange auto: a block of 1/P does not fit the node's memory" "$W/x2mem.out" \
      && grep -q "rank 0 I/O: .* cache 12.0 MiB" "$W/x2mem.out"
    check "... == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/x2mem.h5" --bitwise
    # a rank that cannot allocate the step exchange's buffers (test hook on rank 1): before the first
    # epoch, every rank reads its own segments from the start; at the start of epoch 2, from there
    # on; a warning names it, and the model is the 1-rank one bitwise either way
    ARTISTNET_TRAIN_TEST_BLOCKS_OOM=1 run 2 "$A" train --mels "$W/mels.h5" --seed 7 --out "$W/x2oom.h5" --epochs 2 --batch 48 --micro-batch 16 >"$W/x2oom.out" 2>&1
    check "exchange buffers out of memory on rank 1: exit 0, warned, each rank reads" [ $? -eq 0 ] && grep -q "warning: blocks: out of memory for the rounds' buffers (test hook); each rank reads its own segments from epoch 1 on" "$W/x2oom.out" \
      && grep -q "read by each rank (--exchange auto: a block of 1/P could not be allocated)" "$W/x2oom.out"
    check "... == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/x2oom.h5" --bitwise
    # (--cache-mb 30: the block, 28.2 MiB, fits and leaves the reader 1.8 MiB; given up, the block's
    # share is the reader's cache again: rank 0 caches up to 30 MiB of its own reads in epoch 2)
    ARTISTNET_TRAIN_TEST_BLOCKS_OOM=1:2 run 2 "$A" train --mels "$W/mels.h5" --seed 7 --out "$W/x2oom2.h5" --epochs 2 --batch 48 --micro-batch 16 \
      --cache-mb 30 >"$W/x2oom2.out" 2>&1
    check "... at epoch 2: exit 0, blocks until then, own reads from epoch 2 on" [ $? -eq 0 ] && grep -q "held in blocks of 1/2 a rank (28.2 MiB" "$W/x2oom2.out" \
      && grep -q "each rank reads its own segments from epoch 2 on" "$W/x2oom2.out"
    check "... the reader's cache takes the block's memory back (over 1.8 MiB)" awk '/rank 0 I\/O:/ { for (i = 1; i < NF; i++) if ($i == "cache") c = $(i + 1) + 0 } END { exit !(c > 2) }' "$W/x2oom2.out"
    check "... == 1 rank bitwise" cmp_models "$W/r1.h5" "$W/x2oom2.h5" --bitwise
    # --balance on (the default): every 8 steps the micro-batches follow the ranks' measured speed.
    # The hook makes one rank a 3x slower core (after each micro-batch it sleeps twice that micro-batch's
    # compute time, so the ratio holds under a sanitizer or oversubscribed): its share shrinks, and since each micro-batch's gradient is summed in fixed point, the model is the 1-rank
    # one bitwise, through the blocks exchange (2 ranks) and own reads (3 ranks, --exchange off)
    BAL=(--mels "$W/mels.h5" --seed 7 --epochs 2 --batch 64 --micro-batch 8)
    run 1 "$A" train "${BAL[@]}" --out "$W/bal1.h5" --quiet
    ARTISTNET_TRAIN_TEST_SLOW=1:3 run 2 "$A" train "${BAL[@]}" --out "$W/bal2.h5" >"$W/bal2.out" 2>&1
    shares() { sed -n 's/.*--balance: the shares moved \([0-9]*\) times\{0,1\} .*micro-batches a rank now: \(.*\)/\1 \2/p' "$1"; }
    echo "--balance, rank 1 slowed: moves and final shares: $(shares "$W/bal2.out")"
    check "--balance, rank 1 slowed (2 ranks): the shares moved, rank 1 has fewer micro-batches" \
        awk '{ exit !($1 >= 1 && $3 < $2 && $2 + $3 == 8) }' <<< "$(shares "$W/bal2.out")"
    check "... model == 1 rank bitwise" cmp_models "$W/bal1.h5" "$W/bal2.h5" --bitwise --attr valid_loss --attr test_loss
    # (3 ranks start with 3 / 3 / 2 micro-batches: slow rank 0, which has one of the larger shares)
    ARTISTNET_TRAIN_TEST_SLOW=0:3 run 3 "$A" train "${BAL[@]}" --out "$W/bal3.h5" --exchange off >"$W/bal3.out" 2>&1
    echo "--balance, rank 0 slowed, 3 ranks: $(shares "$W/bal3.out")"
    check "--balance, rank 0 slowed (3 ranks, own reads): the shares moved, rank 0 has the fewest" \
        awk '{ exit !($1 >= 1 && $2 < $3 && $2 < $4 && $2 + $3 + $4 == 8) }' <<< "$(shares "$W/bal3.out")"
    check "... model == 1 rank bitwise" cmp_models "$W/bal1.h5" "$W/bal3.h5" --bitwise --attr valid_loss
    ARTISTNET_TRAIN_TEST_SLOW=1:3 run 2 "$A" train "${BAL[@]}" --out "$W/bal2off.h5" --balance off >"$W/bal2off.out" 2>&1
    check "--balance off: equal shares (no balance line), the same model" [ -z "$(shares "$W/bal2off.out")" ] \
        && cmp_models "$W/bal1.h5" "$W/bal2off.h5" --bitwise
    check "the summary splits the wait for the slowest rank from the reduction" \
        grep -q "wait for the slowest rank [0-9.]* / [0-9.]* ms, reduction (MPI)" "$W/bal2off.out"
    ;;
resume)
    # reference: uninterrupted, 3 epochs on 2 ranks
    OPTS=(--epochs 3 --batch 32 --micro-batch 8 --log)
    run 2 "$A" train "${COMMON[@]}" --out "$W/ref.h5" "${OPTS[@]}" "$W/ref.tsv"
    check "uninterrupted run exits 0" [ $? -eq 0 ]
    # the job's own hook puts each interruption at a known step (no sleeps): half-way into epoch 2
    spe=$(awk -F'\t' 'NR == 2 {print $2}' "$W/ref.tsv")
    mid=$((spe + spe / 2))
    echo "steps per epoch $spe; interruptions after global step $mid"
    # SIGKILL (one process, no mpiexec) after step $mid: the checkpoint of epoch 1 is the last one
    ARTISTNET_TRAIN_TEST_SIGNAL=KILL:$mid "$A" train "${COMMON[@]}" --out "$W/k.h5" "${OPTS[@]}" "$W/k.tsv" --resume
    st=$?
    check "SIGKILL landed before the end (status $st)" [ $st -eq 137 ]
    check "checkpoint exists after SIGKILL" [ -e "$W/k.h5.ckpt" ]
    "$A" train "${COMMON[@]}" --out "$W/k.h5" "${OPTS[@]}" "$W/k.tsv" --resume
    check "--resume after SIGKILL exits 0" [ $? -eq 0 ]
    check "SIGKILL + resume == uninterrupted (bitwise)" cmp_models "$W/ref.h5" "$W/k.h5" --bitwise
    check "log has one row per epoch" [ "$(wc -l < "$W/k.tsv")" -eq 4 ]
    check "log rows equal but for timings" [ "$(cut -f1-8,11 "$W/k.tsv")" = "$(cut -f1-8,11 "$W/ref.tsv")" ]
    # SIGTERM on 2 ranks mid-epoch: the ranks stop themselves (SIGSTOP) after step $mid; then, like
    # Slurm at the time limit, SIGTERM to every rank (mpiexec itself would SIGKILL them after 1 s)
    # and SIGCONT: exit 3 and a mid-epoch checkpoint; resume on 3 ranks
    "$MPI" --oversubscribe -x ARTISTNET_TRAIN_TEST_SIGNAL=STOP:$mid -n 2 "$A" train "${COMMON[@]}" --out "$W/t.h5" \
        "${OPTS[@]}" "$W/t.tsv" >"$W/t.out" 2>&1 &
    pid=$!
    ranks="" stopped=0
    for _ in $(seq 1200); do
        ranks=$(pgrep -P $pid)
        stopped=0
        for p in $ranks; do grep -q '^[0-9]* ([^)]*) T' "/proc/$p/stat" 2>/dev/null && stopped=$((stopped + 1)); done
        [ "$stopped" = 2 ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    check "both ranks stopped themselves after step $mid (pids $ranks)" [ "$stopped" = 2 ]
    kill -TERM $ranks
    kill -CONT $ranks
    wait $pid
    st=$?
    cat "$W/t.out"
    check "SIGTERM -> exit status 3 (got $st)" [ $st -eq 3 ]
    check "SIGTERM message says --resume" grep -q "resume" "$W/t.out"
    step=$("$PY" -c "import h5py; print(h5py.File('$W/t.h5.ckpt','r')['train_state'].attrs['step_in_epoch'])")
    echo "checkpoint after SIGTERM at step_in_epoch $step"
    check "checkpoint is mid-epoch, one step after the stop (step_in_epoch $step = $((mid + 1 - spe)))" [ "$step" = $((mid + 1 - spe)) ]
    run 3 "$A" train "${COMMON[@]}" --out "$W/t.h5" "${OPTS[@]}" "$W/t.tsv" --resume
    check "--resume on 3 ranks exits 0" [ $? -eq 0 ]
    check "SIGTERM + resume (2 -> 3 ranks) == uninterrupted (bitwise)" cmp_models "$W/ref.h5" "$W/t.h5" --bitwise
    # --max-steps: the same mechanism without signals, resumed twice
    run 1 "$A" train "${COMMON[@]}" --out "$W/m.h5" "${OPTS[@]}" "$W/m.tsv" --max-steps 10 2>/dev/null
    check "--max-steps 10 -> exit 3" [ $? -eq 3 ]
    run 1 "$A" train "${COMMON[@]}" --out "$W/m.h5" "${OPTS[@]}" "$W/m.tsv" --max-steps 40 --resume 2>/dev/null
    check "--max-steps 40 --resume -> exit 3" [ $? -eq 3 ]
    run 1 "$A" train "${COMMON[@]}" --out "$W/m.h5" "${OPTS[@]}" "$W/m.tsv" --resume
    check "final --resume exits 0" [ $? -eq 0 ]
    check "two stops + resumes == uninterrupted (bitwise)" cmp_models "$W/ref.h5" "$W/m.h5" --bitwise
    # the model's validation figures come from its epoch when that epoch ran in the same run, else
    # from a pass over the validation songs after a resume: the same bits either way
    for r in k t m; do
        for a in valid_loss valid_song_accuracy test_loss; do
            check "$r.h5 $a == uninterrupted (best epoch $(attr "$W/$r.h5" train_best_epoch))" [ "$(attr "$W/$r.h5" $a)" = "$(attr "$W/ref.h5" $a)" ]
        done
    done
    ;;
bn)
    # issue 19's small run: 10 artists x 10 songs of 12 s, 8 epochs of 10 steps. With the running
    # averages (momentum 0.99) the BN statistics are still mostly their initial values and validation
    # sits at chance (0.1); with precise BN (the default) it must reach 0.5, and 1 vs 2 ranks must
    # give the same model and figures (the recalibration sample is cut into fixed groups)
    "$A" synth --out "$W/c" --artists 10 --songs 10 --seconds 12 --seed 3 --quiet || { bad "synth"; finish; }
    run 2 "$A" mel --list "$W/c/tracks.tsv" --out "$W/m.h5" --quiet || { bad "mel"; finish; }
    BN=(--mels "$W/m.h5" --epochs 8 --seed 5 --quiet)
    run 1 "$A" train "${BN[@]}" --out "$W/p1.h5"
    check "precise BN, 1 rank exits 0" [ $? -eq 0 ]
    run 2 "$A" train "${BN[@]}" --out "$W/p2.h5"
    check "precise BN, 2 ranks exits 0" [ $? -eq 0 ]
    run 1 "$A" train "${BN[@]}" --out "$W/r1.h5" --bn running
    check "running averages (--bn running) exits 0" [ $? -eq 0 ]
    for k in valid_accuracy valid_song_accuracy test_song_accuracy; do
        echo "$k: precise $(attr "$W/p1.h5" $k), running $(attr "$W/r1.h5" $k) (chance 0.1)"
    done
    acc=$(attr "$W/p1.h5" valid_accuracy)
    check "precise BN: validation accuracy $acc >= 0.5 within 8 epochs" "$PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.5 else 1)"
    check "1 vs 2 ranks: the same model and validation figures" cmp_models "$W/p1.h5" "$W/p2.h5" --bitwise --attr valid_loss --attr valid_accuracy --attr test_loss
    check "model.h5 records the choice: precise, 320-segment sample" [ "$(attr "$W/p1.h5" train_bn)/$(attr "$W/p1.h5" train_bn_sample)" = "precise/320" ]
    check "model.h5 records the choice: running" [ "$(attr "$W/r1.h5" train_bn)/$(attr "$W/r1.h5" train_bn_sample)" = "running/0" ]
    "$A" train "${BN[@]}" --out "$W/x.h5" --bn keras 2>"$W/e"
    check "bad --bn -> exit 2" [ $? -eq 2 ]
    check "... naming the option" grep -q -- "--bn must be precise or running" "$W/e"
    ;;
cli)
    "$A" train --help | grep -q -- "--micro-batch"
    check "--help lists options" [ $? -eq 0 ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --split 1/2 2>"$W/e1"
    check "bad --split -> exit 2" [ $? -eq 2 ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --reduce fast 2>"$W/e2"
    check "bad --reduce -> exit 2" [ $? -eq 2 ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --batch 17 --micro-batch 8 2>"$W/e3"
    check "batch leaving a 1-segment micro-batch -> exit 2" [ $? -eq 2 ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --balance maybe 2>"$W/e11"
    check "bad --balance -> exit 2 naming the option" [ $? -eq 2 ] && grep -q -- "--balance must be on or off" "$W/e11"
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --lr-scaling cubic 2>"$W/e7"
    check "bad --lr-scaling -> exit 2" [ $? -eq 2 ]
    check "... naming the option" grep -q -- "--lr-scaling must be linear, sqrt or none" "$W/e7"
    for v in 3/3 1 -1/2 2/x; do
        "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --bench-share "$v" 2>"$W/e9"
        check "--bench-share $v -> exit 2 naming the option" [ $? -eq 2 ] && grep -q -- "--bench-share '$v' must be R/P" "$W/e9"
    done
    run 2 "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --bench-share 0/2 2>"$W/e10"
    check "--bench-share on 2 ranks -> exit 2" [ $? -eq 2 ] && grep -q -- "launch it with 1 rank, not 2" "$W/e10"
    "$A" train --mels "$W/missing.h5" --out "$W/x.h5" 2>"$W/e4"
    check "missing mels.h5 -> exit 2" [ $? -eq 2 ]
    check "message names the file" grep -q "missing.h5" "$W/e4"
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --label-column genre 2>"$W/e5"
    check "missing label column -> exit 2" [ $? -eq 2 ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --epochs 1 --resume --quiet
    check "--resume without a checkpoint starts fresh" [ $? -eq 0 -a -e "$W/x.h5" -a -e "$W/x.h5.ckpt" ]
    "$A" train --mels "$W/mels.h5" --out "$W/x.h5" --epochs 2 --resume --quiet --lr 0.5 2>"$W/e6"
    check "--resume with other settings -> exit 2" [ $? -eq 2 ]
    # issue 21: the model records the resampler of its mels (none recorded: soxr-hq, the only one before)
    check "model.h5 records its mels' resampler: soxr-hq" [ "$(attr "$W/x.h5" resampler)" = "soxr-hq" ]
    cp "$W/mels.h5" "$W/mkb.h5"
    setattr() { "$PY" -c "import h5py,sys; h5py.File(sys.argv[1],'a').attrs.create('resampler', sys.argv[2].encode(), dtype=h5py.string_dtype('utf-8', len(sys.argv[2])))" "$@"; }
    setattr "$W/mkb.h5" kaiser-best
    "$A" train --mels "$W/mkb.h5" --out "$W/kb.h5" --epochs 1 --quiet
    check "... kaiser-best mels: kaiser-best" [ "$(attr "$W/kb.h5" resampler)" = "kaiser-best" ]
    setattr "$W/mkb.h5" sinc
    "$A" train --mels "$W/mkb.h5" --out "$W/kb2.h5" --epochs 1 --quiet 2>"$W/e8"
    check "unknown resampler in mels.h5 -> exit 2 naming the file" [ $? -eq 2 ] && grep -q "mkb.h5: attribute resampler = 'sinc'" "$W/e8"
    "$PY" "$SRC/tests/train_make_mels.py" "$W/split.h5" --split --artists 6 --songs 10 >/dev/null
    "$A" train --mels "$W/split.h5" --out "$W/s.h5" --epochs 1 --batch 16 --micro-batch 8 >"$W/s.out" 2>&1
    check "a /split column is used as given" grep -q "from /split" "$W/s.out"
    check "split column: 47/6/5 songs (2 failed rows)" [ "$(attr "$W/s.h5" train_songs)/$(attr "$W/s.h5" valid_songs)/$(attr "$W/s.h5" test_songs)" = "47/6/5" ]
    ;;
*)
    bad "unknown part $part"
    ;;
esac
finish
