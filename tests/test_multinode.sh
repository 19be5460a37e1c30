#!/usr/bin/env bash
# test_multinode.sh - artistnet across hosts on a real 2-node Slurm (slurm/test-cluster --nodes 2:
# each slurmd in its own network, UTS and mount namespace, Open MPI over TCP between them), label
# `multinode`:
#  1. srun -N 2 -n 4, and mpirun inside an sbatch allocation, place two tasks on each of two hosts
#     (hostnames); artistnet says so;
#  2. traffic between nodes is TCP: `mel` with the shared-memory transport only (btl self,vader)
#     cannot run across the nodes, with self,tcp it writes the same mels.h5 as 2 ranks on one host;
#  3. slurm/submit with 2 nodes x 2 tasks runs every stage: results.json, model, features and LDA
#     equal those of a 1-rank `artistnet pipeline` run; bench/scaling.sh with srun inside a 2-node
#     allocation times mel and train at 1, 2, 4 ranks and finds their outputs identical;
#  4. losing a node in `train` (srun direct launch, then the stage's own requeue) and in `mel`: every
#     rank stops itself at a known step/round (test hooks), node 2 is killed outright, node 1 runs
#     on. The job must end within seconds (exit 4, the message names the lost rank and its host), and
#     after node 2 is back the stage resumes to the same model / mels.h5 as an uninterrupted run.
#  5. test-cluster's own hygiene: two clusters at once keep to their own munged; TERM and SIGKILL of
#     `test-cluster run` tear down daemons, namespaces and links.
# Skips (77) only when the cluster cannot start here (no namespaces, no Slurm) and we are not in CI.
set -u
src=${ARTISTNET_SRC:?}; A=${ARTISTNET:?}
if ! command -v sbatch >/dev/null || ! command -v ip >/dev/null; then
  if [ "${CI:-}" = true ]; then echo "FAIL: Slurm or iproute2 not installed (scripts/setup installs them)"; exit 1; fi
  echo "SKIP: Slurm or iproute2 not installed"; exit 77
fi
work=$(mktemp -d /tmp/artistnet-multinode.XXXXXX)
chmod 755 "$work"
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mpi() { "${MPIEXEC:-mpirun}" --oversubscribe -n "$@"; }

"$A" synth --out "$work/src" --artists 8 --songs 5 --seconds 8 --seed 3 --quiet || exit 1
"$A" synth --out "$work/task" --artists 8 --songs 4 --seconds 8 --seed 3 --artist-offset 100 --quiet || exit 1
args=(--train-list "$work/src/tracks.tsv" --task-list "$work/task/tracks.tsv" --label-column genre,mood
      --epochs 3 --segments 3 --folds 2 --quiet)
targs=(--train-list "$work/src/tracks.tsv" --task-list "$work/task/tracks.tsv" --label-column genre
       --epochs 12 --patience 1000 --batch 8 --segments 3 --quiet)
# references on this host: the whole pipeline on 1 rank; the training run for the node-loss test
mpi 1 "$A" pipeline "${args[@]}" --out "$work/ref" >/dev/null || { echo "FAIL: reference pipeline"; exit 1; }
mpi 2 "$A" pipeline "${targs[@]}" --stage mel --out "$work/tref" >/dev/null || { echo "FAIL: reference mel"; exit 1; }
# what a train stage starts from: mels.h5 and the mel stage recorded done (pipeline.state)
mkdir "$work/tmel" && cp "$work/tref/mels.h5" "$work/tref/pipeline.state" "$work/tmel/"
mpi 2 "$A" pipeline "${targs[@]}" --stage train --out "$work/tref" >/dev/null || { echo "FAIL: reference train"; exit 1; }
steps=$(tail -n1 "$work/tref/curves.tsv" | cut -f2)
echo "reference: $steps training steps"

inside() {
  cd "$work"
  local tc=$src/slurm/test-cluster t0 t1 rc log n1 n2 k
  mapfile -t nodes < <("$tc" nodes "$TEST_CLUSTER")
  [ ${#nodes[@]} = 2 ] && ok "2 nodes: ${nodes[*]}" || bad "nodes: ${nodes[*]}"

  # --- 1. placement ---
  hosts=$(srun -N 2 -n 4 hostname | sort | uniq -c | awk '{print $1"x"$2}' | tr '\n' ' ')
  [ "$hosts" = "2x${nodes[0]} 2x${nodes[1]} " ] && ok "srun -N 2 -n 4: two tasks on each node ($hosts)" || bad "placement: $hosts"

  # --- 2. TCP between nodes ---
  mpi 2 "$A" mel --list src/tracks.tsv --out mel_local.h5 --segments 3 --quiet 2>/dev/null || bad "local mel"
  if OMPI_MCA_btl=self,vader timeout 60 srun -N 2 -n 4 "$A" mel --list src/tracks.tsv --out mel_vader.h5 --segments 3 --quiet >vader.log 2>&1; then
    bad "mel ran across nodes with shared memory only: the nodes are not separate hosts"
  else
    grep -q -i "unable to reach\|unreachable" vader.log && ok "shared memory alone cannot reach the other node" \
      || { bad "vader-only run failed for another reason"; tail -n 5 vader.log; }
  fi
  OMPI_MCA_btl=self,tcp srun -N 2 -n 4 "$A" mel --list src/tracks.tsv --out mel_tcp.h5 --segments 3 >tcp.log 2>&1 \
    && ok "mel across nodes over TCP only" || { bad "mel over TCP"; tail -n 5 tcp.log; }
  grep -q "ranks on 2 hosts: ${nodes[0]} (ranks 0-1), ${nodes[1]} (ranks 2-3)" tcp.log \
    && ok "artistnet names the ranks' hosts" || { bad "no placement line"; head -n 3 tcp.log; }
  h5diff -d 0 mel_local.h5 mel_tcp.h5 /mel >/dev/null && h5diff mel_local.h5 mel_tcp.h5 /artist >/dev/null \
    && ok "mels.h5 over TCP on 2 nodes == 2 ranks on one host" || bad "mels.h5 differ between nodes and one host"

  # mpirun inside an allocation: it starts its daemon on the other node through srun
  j=$(sbatch --parsable -N 2 -n 4 -o mpirun.log --wrap "mpirun $A mel --list src/tracks.tsv --out mel_mpirun.h5 --segments 3; exit \$?")
  "$tc" wait "$j" 120 || bad "sbatch + mpirun finished in time"
  [ "$(state "$j")" = COMPLETED ] && grep -q "ranks on 2 hosts: ${nodes[0]} (ranks 0-1), ${nodes[1]} (ranks 2-3)" mpirun.log \
    && h5diff -d 0 mel_local.h5 mel_mpirun.h5 /mel >/dev/null && ok "sbatch + mpirun: ranks on both nodes, same mels.h5" \
    || { bad "sbatch + mpirun ($(state "$j"))"; tail -n 5 mpirun.log; }

  # --- 3. the pipeline chain, 2 nodes x 2 tasks ---
  out=$("$src/slurm/submit" --ntasks 4 --sbatch-arg --nodes=2 -- "${args[@]}" --out "$work/slurm") || { bad "submit"; return; }
  all=$(awk '$1=="all"{print $2}' <<<"$out")
  "$tc" wait "$all" 600 || bad "chain finished in time"
  for j in ${all//,/ }; do s=$(state "$j"); [ "$s" = COMPLETED ] || bad "job $j ended $s"; done
  grep -q "ranks on 2 hosts" slurm-"${all%%,*}".out && ok "mel stage ran on 2 hosts" || bad "mel stage not on 2 hosts"
  same_results "$work/ref" "$work/slurm" "2x2 chain == 1 rank:"
  [ -n "$(checksum ref/model.h5)" ] && [ "$(checksum ref/model.h5)" = "$(checksum slurm/model.h5)" ] \
    && ok "model on 2 nodes == 1 rank ($(checksum ref/model.h5))" || bad "model differs"
  same_data ref slurm "between 2 nodes and 1 rank" mels.h5:/mel task_features.h5:/features \
    train_features.h5:/features lda.h5:/components

  # --- 3b. the scaling benchmark as a cluster user runs it: srun inside an allocation of 2 nodes ---
  # (4 tasks on 2 cores: srun does not tell Open MPI it is oversubscribed, hence yield_when_idle)
  OMPI_MCA_mpi_yield_when_idle=1 timeout 300 salloc -N 2 -n 4 bash "$src/bench/scaling.sh" --launcher srun \
    --preset tiny --ranks 1,2,4 --jobs mel,train --no-ceiling --work "$work" --out "$work/scale" >scale.log 2>&1
  rc=$?
  [ "$rc" = 0 ] && grep -q "^check mels.h5 .*identical at ranks 1 2 4" "$work/scale/summary.txt" \
    && grep -q "^check train .*identical at ranks 1 2 4" "$work/scale/summary.txt" \
    && grep -q "^train-b[0-9]* *4 " "$work/scale/summary.txt" \
    && ok "bench/scaling.sh --launcher srun on 2 nodes: mel and train at 1, 2, 4 ranks, outputs identical" \
    || { bad "bench/scaling.sh with srun on 2 nodes (exit $rc)"; tail -n 15 scale.log; }

  # --- 4a. node loss in train, srun direct launch ---
  cp -r tmel kill1
  k=$((steps / 2))
  ARTISTNET_TRAIN_TEST_SIGNAL=STOP:$k srun -N 2 -n 4 "$A" pipeline "${targs[@]}" --stage train --out kill1 >kill1.log 2>&1 &
  sp=$!
  lose_node "train step $k" 4 || return
  wait $sp; rc=$?; t1=$(date +%s.%N)
  dt=$(elapsed "$t0" "$t1")
  [ "$rc" = 4 ] && ok "srun train exited 4 after node 2 was lost" || { bad "srun train exited $rc"; tail -n 20 kill1.log; }
  below "$dt" 20 && ok "job ended ${dt} s after the node was lost" || bad "job took ${dt} s to end after the node was lost"
  grep -q "lost contact with rank [23] on ${nodes[1]}" kill1.log && ok "message names the lost rank on ${nodes[1]}" \
    || { bad "no message naming the lost rank"; tail -n 20 kill1.log; }
  back_node || return
  srun -N 2 -n 4 "$A" pipeline "${targs[@]}" --stage train --resume --out kill1 >kill1b.log 2>&1 \
    || { bad "resumed train failed"; tail -n 10 kill1b.log; }
  [ "$(checksum tref/model.h5)" = "$(checksum kill1/model.h5)" ] && ok "resumed train == uninterrupted ($(checksum kill1/model.h5))" \
    || bad "resumed model differs: $(checksum kill1/model.h5) vs $(checksum tref/model.h5)"

  # --- 4b. node loss in the train stage of slurm/submit: it requeues itself and resumes ---
  cp -r tmel kill2
  out=$(ARTISTNET_TRAIN_TEST_SIGNAL=STOP:$k "$src/slurm/submit" --ntasks 4 --sbatch-arg --nodes=2 --stages train -- "${targs[@]}" --out "$work/kill2") \
    || { bad "submit train"; return; }
  jid=$(awk '$1=="train"{print $2}' <<<"$out")
  lose_node "train step $k (batch job $jid)" 4 || return
  r=0
  for _ in $(seq 1 60); do
    r=$(scontrol show job "$jid" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
    [ "${r:-0}" -ge 1 ] && break; sleep 0.5
  done
  t1=$(date +%s.%N); dt=$(elapsed "$t0" "$t1")
  [ "${r:-0}" -ge 1 ] && ok "train stage requeued itself ${dt} s after the node was lost" || bad "train stage not requeued (state $(state "$jid"))"
  grep -q "lost a rank or node; requeueing" slurm-"$jid".out && ok "stage log says why it requeued" || bad "no requeue reason in slurm-$jid.out"
  back_node || return
  settled "$jid" || bad "job $jid never settled after the requeue: $(state "$jid"), $(sinfo -h -N -o '%N:%T' | tr '\n' ' ')"
  scontrol update JobId="$jid" StartTime=now >/dev/null 2>&1
  "$tc" wait "$jid" 300 || bad "requeued train finished in time"
  [ "$(state "$jid")" = COMPLETED ] && ok "requeued train completed" || bad "requeued train ended $(state "$jid")"
  [ "$(checksum tref/model.h5)" = "$(checksum kill2/model.h5)" ] && ok "requeued train == uninterrupted" \
    || { bad "requeued model differs"; cat slurm-"$jid".out | tail -n 20; }

  # --- 4c. node loss in mel ---
  mkdir -p kill3
  ARTISTNET_MEL_TEST_SIGNAL=STOP:2 srun -N 2 -n 4 "$A" mel --list src/tracks.tsv --out kill3/mels.h5 --segments 3 --round 8 >kill3.log 2>&1 &
  sp=$!
  lose_node "mel round 2" 1 || return
  wait $sp; rc=$?; t1=$(date +%s.%N); dt=$(elapsed "$t0" "$t1")
  [ "$rc" = 4 ] && below "$dt" 20 && ok "srun mel exited 4, ${dt} s after the node was lost" \
    || { bad "srun mel exited $rc after ${dt} s"; tail -n 20 kill3.log; }
  back_node || return
  srun -N 2 -n 4 "$A" mel --list src/tracks.tsv --out kill3/mels.h5 --segments 3 --round 8 --resume --quiet >kill3b.log 2>&1 \
    || { bad "resumed mel failed"; tail -n 10 kill3b.log; }
  h5diff -d 0 mel_local.h5 kill3/mels.h5 /mel >/dev/null && h5diff mel_local.h5 kill3/mels.h5 /status >/dev/null \
    && ok "resumed mel == uninterrupted" || bad "resumed mels.h5 differs"
}

# The job stops itself at the hook (at least $2 ranks stopped: in train every rank stops at the step;
# in mel the ranks that took a track in the round stop and the others wait for them); then node 2
# dies (every process in its namespace, SIGKILL) and node 1's ranks go on. Sets t0 to the kill.
lose_node() {
  local tc=$src/slurm/test-cluster p s stopped
  for _ in $(seq 1 240); do
    stopped=0
    for i in 1 2; do
      for p in $("$tc" pids "$TEST_CLUSTER" "$i"); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = artistnet ] || continue
        s=$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)
        [ "$s" = T ] && stopped=$((stopped + 1))
      done
    done
    [ $stopped -ge "$2" ] && break
    sleep 0.25
  done
  [ $stopped -ge "$2" ] || { bad "the ranks did not stop at $1 ($stopped stopped, $2 expected)"; return 1; }
  t0=$(date +%s.%N)
  "$tc" kill-node "$TEST_CLUSTER" 2 2>/dev/null
  "$tc" kill-node "$TEST_CLUSTER" 1 CONT 2>/dev/null
  ok "node 2 killed at $1"
}

# node 2 back: its slurmd again, and idle (slurmctld may first have to notice it was gone)
back_node() {
  local tc=$src/slurm/test-cluster
  "$tc" start-node "$TEST_CLUSTER" 2 || { bad "node 2 did not restart"; return 1; }
  for _ in $(seq 1 120); do
    [ "$(sinfo -h -N -t idle -o %N | sort -u | wc -l)" = 2 ] && return 0
    sleep 0.5
  done
  bad "node 2 not idle again: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"; return 1
}

# A requeued job may start again only once slurmctld has nothing left to tell the nodes about its
# last run: PENDING, no node completing or allocated, and no RPC in slurmctld's agent (sdiag: queue,
# agents and threads all 0). slurmctld resends a TERMINATE_JOB that could not reach the dead node
# (every 60 s); if the job runs again first, that stale request kills the new run's tasks on node 2
# (it names the job, not the run: CI saw "tasks 2-3: Killed" and the requeued job FAILED).
settled() {
  local a
  for _ in $(seq 1 300); do
    a=$(sdiag 2>/dev/null | awk -F: '/^ *Agent (queue size|count|thread count)/ {s += $2; n++} END {print n == 3 ? s : -1}')
    [ "$(state "$1")" = PENDING ] && [ -z "$(sinfo -h -t completing,allocated,mixed -o %N 2>/dev/null)" ] && [ "$a" = 0 ] && return 0
    sleep 0.5
  done
  return 1
}

. "$src/tests/slurm_lib.sh"
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

export work src A steps
# arrays do not cross `export -f`: re-declare them in the inner shell
"$src/slurm/test-cluster" run --nodes 2 bash -c "$(declare -p args targs); $(declare -f inside lose_node back_node settled ok bad norm checksum elapsed below state mpi same_results same_data); pass=0; fail=0; inside; echo \"test_multinode: \$pass passed, \$fail failed\"; [ \$fail = 0 ]" &
tc=$!
trap 'kill -TERM $tc 2>/dev/null; wait $tc; rm -rf "$work"; exit 143' TERM INT
wait $tc
rc=$?

# --- 5. test-cluster itself: two clusters side by side, each with its own munged; one ended by TERM
# (a test runner's timeout), the other killed outright (SIGKILL): both leave nothing behind ---
if [ $rc = 0 ]; then
  pass=0; fail=0
  tcl=$src/slurm/test-cluster
  "$tcl" run --nodes 2 sleep 300 >/dev/null 2>"$work/a.err" & a=$!
  "$tcl" run sleep 300 >/dev/null 2>"$work/b.err" & b=$!
  for _ in $(seq 1 120); do grep -q "up in" "$work/a.err" && grep -q "up in" "$work/b.err" && break; sleep 0.25; done
  adir=$(sed -n 's/.* up in \([^ ]*\) .*/\1/p' "$work/a.err"); bdir=$(sed -n 's/.* up in \([^ ]*\) .*/\1/p' "$work/b.err")
  k=$(sed -n 's/^K=//p' "$adir/net.env" 2>/dev/null)
  [ -n "$adir" ] && [ -n "$bdir" ] && [ -n "$k" ] && ok "two clusters up at once (2 nodes, net an$k; 1 node)" || bad "clusters did not start: $(cat "$work/a.err" "$work/b.err")"
  kill -TERM $a; wait $a
  SLURM_CONF=$bdir/slurm.conf timeout 30 srun -n 1 true 2>/dev/null && ok "a cluster torn down by TERM left the other one's munged and jobs alone" \
    || bad "the second cluster stopped working when the first was torn down"
  kill -KILL $b; wait $b 2>/dev/null
  for _ in $(seq 1 80); do [ -z "$(pgrep -f "$adir|$bdir")" ] && [ ! -e "$bdir" ] && break; sleep 0.25; done
  left=$(pgrep -af "$adir|$bdir" | head -n 3)
  [ -z "$left" ] && [ ! -e "$adir" ] && [ ! -e "$bdir" ] && [ -z "$(ip netns list | grep "^an$k-")" ] && [ -z "$(ip -br link | grep "^an$k-")" ] \
    && ok "TERM and SIGKILL of test-cluster leave no daemon, folder, namespace or link" \
    || bad "left behind: $left $(ip netns list | grep "^an$k-" | tr '\n' ' ')"
  echo "test-cluster teardown: $pass passed, $fail failed"
  [ $fail = 0 ] || rc=1
fi
if [ $rc = 77 ] && [ "${CI:-}" != true ]; then echo "SKIP: the multi-node test cluster could not start"; exit 77; fi
exit $rc
