#!/bin/bash
# bench/scaling.sh - strong scaling of artistnet's whole jobs at several rank counts, measured against
# the machine's own ceiling in the same run, on your machine or cluster (mpirun or Slurm's srun).
#
# What it measures. One corpus (made by `artistnet synth`, or your track list with --corpus) and the
# same jobs on the same data at every rank count (default 1 2 4 8 16, capped at the cores here):
#   mel       the track list repeated MEL_REPEAT times (other ids), --prefetch 0 (1 rank = 1 core)
#   train     1 epoch of the distinct list's mels.h5, --batch BATCH --micro-batch MICRO --reduce
#             exact --patience 0 (and, with --batch2 B2, again at --batch B2)
#   extract   the list repeated X_REPEAT times with the 1-rank model, --prefetch 0
#   evaluate  the 1-rank features, RBF grid search, 3 outer folds, artist filter
# Per job and rank count: the wall seconds of the whole launch (what a user waits for, start-up
# included), the job's own seconds and rate from its summary line, speed-up and efficiency against
# 1 rank by wall time, the ceiling, efficiency against the ceiling, and the stage whose rank-seconds
# (the job's stage table, summed over ranks) grew most against 1 rank: under perfect scaling every
# stage's rank-seconds stay constant, so the stage that grew is where the lost speed-up went.
#
# The ceiling (what N cores of this machine give N-way work with no MPI at all). For N ranks: N
# independent 1-rank jobs at once (separate `mpirun -n 1` / `srun -n 1` launches, one pinned per
# core with taskset or --cpu-bind when the N-rank job is bound too), each doing the share of the work
# that one rank gets in the N-rank job (evaluate: an identical unit, see below), against one such
# share job run alone just before them (and again just after):
#   ceiling(N) = N x (seconds of the lone share job / mean seconds of the N concurrent share jobs)
# Why this is fair: the N-rank job and the share jobs run the same code on the same cores with the
# same binding and one launch each, so what the ceiling loses (shared caches, memory bandwidth,
# clock drop with all cores busy, a slower or busier core on a VM) the job loses too, and what it
# does not lose (MPI traffic, waiting for the slowest rank, work done on every rank instead of
# shared, rank 0's queue duty) is the job's own overhead: speed-up / ceiling is the part of the
# machine's parallel capacity the job turns into speed. Seconds are wall seconds of each launch on
# both sides. The shares:
#   mel, extract  1/N of the list's rows (share c = rows c*k+1..(c+1)*k, k = ceil(rows/N)); the
#                 job's dynamic queue can do no better than equal shares of equal-cost rows
#   train         `train --bench-share c/N`: one process does rank c's share of the N-rank job's
#                 whole epoch (its micro-batches of every step, its part of the norm pass, of the
#                 batch-norm recalibration and of validation and test, its 1/N slice of the update)
#                 and skips only what needs the other ranks (the reduce-scatter, the gathers) and
#                 the model write; each runs on its own core, so the N share jobs together do the
#                 N-rank job's work minus its exchanges (a share's norm and batch-norm statistics
#                 are its own, which changes numbers, not the work)
#   evaluate      not a share but one identical unit, N times: `evaluate --bench-group mid` with the
#                 timed job's features and options, i.e. the grid fits of the queue's middle (outer
#                 fold, gamma) group (k x gammas / 2): the features read, one kernel matrix built, its
#                 n_C x n_inner LIBSVM fits on it, no final fits, nothing written; the lone job is
#                 that group alone. Why identical units are fair here: the grid's fits vary in cost
#                 (large C is slow), so equal shares of the real grid do not exist, and the N-rank
#                 job's ranks each work on about one (fold, gamma) group at a time (the queue's
#                 chunks stay within one group, each rank builds that group's kernel matrix itself).
#                 So the ceiling measures what N cores lose on this kind of work, a kernel build and
#                 LIBSVM fits streaming a private n x n kernel matrix (16 bytes an entry) per core:
#                 shared caches and memory bandwidth, which the job's ranks meet as well.
#                 Beside it, at the largest N, the 1-rank run's fits.tsv is replayed at N ranks
#                 (`evaluate --bench-replay`: the real queue and sums, every set-up and fit a sleep
#                 of its recorded seconds): how much of N ranks the schedule alone fills, before
#                 anything the cores cost (the summary prints it under the table); and the real
#                 job again with --speculate off (no final fit run ahead on idle ranks): its grid +
#                 final seconds beside the default's, and its predictions checked equal
# The mean (not the slowest) of the concurrent jobs is used: the job's queue (mel, extract, evaluate)
# lets a fast core take more items; train's lock-step waits for the slowest rank, which is then the job's
# loss against the ceiling (the slowest is in log.txt; train's stage table has it as "wait for the
# slowest rank", and its --balance, on by default, moves micro-batches off a persistently slower rank). The lone job runs on the first core, the
# copies on cores 0..N-1 (one CPU per physical core, from lscpu), like `--bind-to core` ranks.
#
# Checks (exit 1 when one fails, or a job fails): bitwise equality across every rank count of
# mels.h5 /mel /status /n_segments, the train model (its fnv1a64 checksum), features.h5 /features
# /status and evaluate's predictions.tsv. HDF5 datasets are compared by digest (bench/h5digest.py,
# python3 + h5py; or H5CHECK, e.g. the device bundle's h5check), each output deleted after it.
#
# Output folder (--out): scaling.tsv (one row per job and rank count), summary.txt (machine, sizes,
# the table, the checks), log.txt (every command with artistnet's summaries, stage tables and per-step
# lines), evaluate-fits.N.tsv (evaluate's fits.tsv at N ranks: every LIBSVM fit's rank, start and
# seconds; `evaluate --bench-replay` replays the 1-rank one at any rank count). Progress lines go to
# stdout as it runs.
#
# usage: bench/scaling.sh [options]        (--help lists them)
# env:   ARTISTNET (binary; default build/artistnet, else artistnet on PATH), MPIRUN (mpirun),
#        MPIRUN_OPTS (extra mpirun options, e.g. --use-hwthread-cpus), SRUN (srun), SRUN_OPTS,
#        SRUN_SHARE_OPTS (default --exact: concurrent 1-task steps each get their own CPU), PYTHON3,
#        H5CHECK (a command "H5CHECK FILE DSET..." printing h5check lines, used without h5py),
#        sizes: ARTISTS SONGS SONG_SECONDS MEL_REPEAT X_REPEAT BATCH MICRO LABEL (override the preset)
#        TRAIN_OPTS: more options for every train job, e.g. "--update replicated" to time the
#        replicated update against the default sharded one (--jobs train, two runs)
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<EOF
usage: bench/scaling.sh [options]
Times artistnet's mel, train, extract and evaluate jobs at several rank counts on the same data,
measures the machine's own N-way ceiling in the same run, checks the outputs are bitwise identical
at every rank count, and prints a table (see the header of this script for what is measured).

options:
  --ranks LIST        rank counts, e.g. 1,2,4 (default: 1 2 4 8 16 capped at the cores here; 1 is
                      always added: it is the baseline)
  --launcher L        mpirun or srun (inside an salloc/sbatch allocation) (default: mpirun)
                      (srun with more tasks than cores: export OMPI_MCA_mpi_yield_when_idle=1)
  --oversubscribe     allow more ranks than cores (mpirun --oversubscribe; binding is then off)
  --bind B            core or none: bind ranks to cores and pin the ceiling's jobs (default: core)
  --preset P          tiny, small or full sizes (default: small; full = ../shared/device/scaling.sh)
  --jobs LIST         jobs to time, from mel,train,extract,evaluate (default: all four)
  --batch2 B          also time train at --batch B (e.g. 1024)
  --corpus LIST       take this track list (TSV with path, artist and the LABEL column) instead
                      of a synthetic corpus
  --no-ceiling        skip the ceiling measurement
  --budget S          skip the jobs that would start after S seconds (0: no limit) (default: 0)
  --out DIR           output folder (default: ./scaling-DATE-TIME)
  --work DIR          scratch goes into DIR/anscale.PID (default DIR: /dev/shm when it has room,
                      else /tmp; with srun across nodes: a folder every node sees)
  --keep-work         keep the scratch folder
  --help              print this help and exit

presets (ARTISTS x SONGS songs of SONG_SECONDS s; MEL_REPEAT, X_REPEAT: list repeats; BATCH, MICRO):
  tiny   8 x 8 of 30 s, mel x1, extract x1, batch 128      (a correctness check, ~30 s at 1,2 ranks)
  small  32 x 8 of 30 s, mel x4, extract x2, batch 256     (~2-3 min at 1,2 ranks on 2 cores)
  full   384 x 8 of 30 s, mel x4, extract x2, batch 256    (3,072 songs; minutes on 16 cores)
EOF
}

# ---------------------------------------------------------------- options
RANKS_OPT=""; LAUNCHER=mpirun; OVERSUB=0; BIND=core; PRESET=small; JOBS=mel,train,extract,evaluate
BATCH2=""; CORPUS=""; CEILING=1; BUDGET=0; OUT=""; WORK=""; KEEP=0
die() { echo "scaling.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --ranks) RANKS_OPT=${2:?}; shift ;;
    --launcher) LAUNCHER=${2:?}; shift ;;
    --oversubscribe) OVERSUB=1 ;;
    --bind) BIND=${2:?}; shift ;;
    --preset) PRESET=${2:?}; shift ;;
    --jobs) JOBS=${2:?}; shift ;;
    --batch2) BATCH2=${2:?}; shift ;;
    --corpus) CORPUS=${2:?}; shift ;;
    --no-ceiling) CEILING=0 ;;
    --budget) BUDGET=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --work) WORK=${2:?}; shift ;;
    --keep-work) KEEP=1 ;;
    --help|-h) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
case $LAUNCHER in mpirun|srun) ;; *) die "--launcher must be mpirun or srun" ;; esac
case $BIND in core|none) ;; *) die "--bind must be core or none" ;; esac
[ "${OVERSUBSCRIBE:-0}" = 1 ] && OVERSUB=1
case $PRESET in
  tiny)  : "${ARTISTS:=8}" "${SONGS:=8}" "${MEL_REPEAT:=1}" "${X_REPEAT:=1}" "${BATCH:=128}" ;;
  small) : "${ARTISTS:=32}" "${SONGS:=8}" "${MEL_REPEAT:=4}" "${X_REPEAT:=2}" "${BATCH:=256}" ;;
  full)  : "${ARTISTS:=384}" "${SONGS:=8}" "${MEL_REPEAT:=4}" "${X_REPEAT:=2}" "${BATCH:=256}" ;;
  *) die "--preset must be tiny, small or full" ;;
esac
: "${SONG_SECONDS:=30}" "${MICRO:=16}" "${LABEL:=genre}"
for j in ${JOBS//,/ }; do case $j in mel|train|extract|evaluate) ;; *) die "unknown job $j in --jobs" ;; esac; done
has_job() { case ",$JOBS," in *",$1,"*) return 0 ;; esac; return 1; }

# programs (env overrides: the device bundle sets ARTISTNET and MPIRUN to its wrappers)
if [ -z "${ARTISTNET:-}" ]; then
  if [ -x "$HERE/../build/artistnet" ]; then ARTISTNET=$HERE/../build/artistnet; else ARTISTNET=$(command -v artistnet || true); fi
fi
[ -n "$ARTISTNET" ] && [ -x "$ARTISTNET" ] || die "no artistnet binary (set ARTISTNET)"
ARTISTNET=$(cd "$(dirname "$ARTISTNET")" && pwd)/$(basename "$ARTISTNET")
MPIRUN=${MPIRUN:-mpirun}; SRUN=${SRUN:-srun}
if [ "$LAUNCHER" = mpirun ]; then command -v "$MPIRUN" >/dev/null || die "no $MPIRUN (set MPIRUN)"
else command -v "$SRUN" >/dev/null || die "no $SRUN (set SRUN)"; [ -n "${SLURM_JOB_ID:-}" ] || die "--launcher srun runs inside an allocation (salloc/sbatch)"; fi

# ---------------------------------------------------------------- output, log, clock
OUT=${OUT:-./scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || die "cannot make $OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt; SUM=$OUT/summary.txt; TSV=$OUT/scaling.tsv
: > "$LOG"; : > "$SUM"
T0=$EPOCHREALTIME
now() { awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN { printf "%.1f", a - b }'; }
say() { printf '[%6s s] %s\n' "$(now)" "$*" | tee -a "$LOG"; }
note() { echo "$*" | tee -a "$SUM" "$LOG"; }
FAILED=0

# ---------------------------------------------------------------- machine: cores, one CPU per core
allowed_cpus() { # the CPUs this process may run on, one a line (Cpus_allowed_list: 0-3,8)
  sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' |
    awk -F- '{ b = $2 == "" ? $1 : $2; for (i = $1; i <= b; i++) print i }'
}
core_cpus() { # one allowed CPU per physical core, in core order (what --bind-to core puts rank i on)
  local allowed; allowed=" $(allowed_cpus | tr '\n' ' ') "
  if command -v lscpu >/dev/null; then
    lscpu -p=CPU,CORE,SOCKET | grep -v '^#' | while IFS=, read -r cpu core sock; do
      case $allowed in *" $cpu "*) echo "$sock,$core,$cpu" ;; esac
    done | awk -F, '!seen[$1 "," $2]++ { print $3 }'
  else
    echo "$allowed" | tr ' ' '\n' | grep -v '^$'
  fi
}
read -r -a CPUS <<< "$(core_cpus | tr '\n' ' ')"
NCORES=${#CPUS[@]}
NCPU=$(allowed_cpus | wc -l)
[ "$LAUNCHER" = srun ] && NCORES=${SLURM_NTASKS:-${SLURM_NPROCS:-$NCORES}}
HAVE_TASKSET=1; command -v taskset >/dev/null || HAVE_TASKSET=0

if [ -n "$RANKS_OPT" ]; then
  RANKS=$(echo "1 ${RANKS_OPT//,/ }" | tr ' ' '\n' | grep -v '^$' | sort -n -u | tr '\n' ' ')
else
  RANKS=""; for n in 1 2 4 8 16; do [ "$n" -le "$NCORES" ] && RANKS="$RANKS $n"; done
fi
RANKS=$(echo $RANKS)
MAXR=${RANKS##* }
for n in $RANKS; do [ "$n" -ge 1 ] 2>/dev/null || die "bad rank count $n"; done
if [ "$MAXR" -gt "$NCORES" ] && [ "$OVERSUB" = 0 ] && [ "$LAUNCHER" = mpirun ]; then
  die "$MAXR ranks > $NCORES cores: add --oversubscribe (timings then measure time sharing)"
fi

# ---------------------------------------------------------------- the launcher (the only place that knows mpirun/srun)
# launch NP CPU -- command...: NP ranks of the command. CPU = - for a job (bound to cores when
# BIND=core and NP <= cores), or a CPU id for one 1-rank job of the ceiling, pinned there.
launch() {
  local np=$1 cpu=$2; shift 3
  local bound=0
  [ "$BIND" = core ] && [ "$np" -le "$NCORES" ] && [ "$MAXR" -le "$NCORES" ] && bound=1
  case $LAUNCHER in
    mpirun)
      local opts=(-n "$np") pin=()
      [ "$OVERSUB" = 1 ] && opts+=(--oversubscribe)
      if [ "$cpu" = - ] && [ $bound = 1 ]; then opts+=(--bind-to core); else opts+=(--bind-to none); fi
      [ "$cpu" != - ] && [ $bound = 1 ] && [ $HAVE_TASKSET = 1 ] && pin=(taskset -c "$cpu")
      "$MPIRUN" "${opts[@]}" ${MPIRUN_OPTS:-} "${pin[@]}" "$@" ;;
    srun)
      local b=--cpu-bind=none; [ $bound = 1 ] && b=--cpu-bind=cores
      if [ "$cpu" != - ]; then
        "$SRUN" -n 1 ${SRUN_SHARE_OPTS---exact} $b ${SRUN_OPTS:-} "$@"
      else
        "$SRUN" -n "$np" $b ${SRUN_OPTS:-} "$@"
      fi ;;
  esac
}
describe_launcher() {
  case $LAUNCHER in
    mpirun) echo "mpirun ($(command -v "$MPIRUN")) -n N $([ "$OVERSUB" = 1 ] && echo '--oversubscribe ')--bind-to $([ "$BIND" = core ] && [ "$MAXR" -le "$NCORES" ] && echo core || echo none) ${MPIRUN_OPTS:-}; ceiling jobs: mpirun -n 1 --bind-to none $([ "$BIND" = core ] && [ $HAVE_TASKSET = 1 ] && echo 'taskset -c CPU')" ;;
    srun) echo "srun -n N --cpu-bind=$([ "$BIND" = core ] && echo cores || echo none) ${SRUN_OPTS:-}; ceiling jobs: srun -n 1 ${SRUN_SHARE_OPTS---exact}" ;;
  esac
}

# ---------------------------------------------------------------- scratch
D=$((ARTISTS * SONGS))
need_mb=$(( D * SONG_SECONDS * 44 / 1000 + D * 66 / 100 * (1 + 2 * MEL_REPEAT) + 500 ))
if [ -z "$WORK" ]; then
  shm=$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$shm" ] && [ "$shm" -gt $((need_mb + 2000)) ]; then WORK=/dev/shm; else WORK=/tmp; fi
fi
WORK=$WORK/anscale.$$ # a folder of our own inside it (removed at the end)
mkdir -p "$WORK" || die "cannot make $WORK"
WORK=$(cd "$WORK" && pwd)
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "artistnet scaling benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -n)"
  echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1); $NCPU CPUs allowed, $NCORES cores$([ "$LAUNCHER" = srun ] && echo ' (Slurm tasks)'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "artistnet: $ARTISTNET ($("$ARTISTNET" --version 2>&1 | head -n 1))"
  echo "launcher: $(describe_launcher)"
  echo "ranks: $RANKS; jobs: $JOBS$([ -n "$BATCH2" ] && echo " + train at --batch $BATCH2"); ceiling: $([ $CEILING = 1 ] && echo yes || echo no)"
  echo "sizes (preset $PRESET): $( [ -n "$CORPUS" ] && echo "corpus $CORPUS" || echo "$ARTISTS artists x $SONGS songs of $SONG_SECONDS s") ; mel list x$MEL_REPEAT, extract list x$X_REPEAT, train --batch $BATCH --micro-batch $MICRO, evaluate --label-column $LABEL"
  echo "scratch: $WORK ($(stat -f -c %T "$WORK" 2>/dev/null))"
} | tee -a "$SUM" >> "$LOG"
cat "$SUM"

# ---------------------------------------------------------------- running and logging a job
# run NAME NP CPU -- command...: launch it; output (progress lines as lines) in $WORK/out.NAME;
# sets RC and SECS (wall). Past --budget: RC=99, not run. The log gets the command and the
# output without progress lines.
PROGRESS='^[a-z ]+: [0-9]+/[0-9]+ [a-z]+ \([0-9]+%\)'
RC=0; SECS=0
over_budget() { [ "$BUDGET" != 0 ] && awk -v e="$(now)" -v b="$BUDGET" 'BEGIN { exit !(e > b) }'; }
run() {
  local name=$1 np=$2 cpu=$3; shift 3
  local o=$WORK/out.$name
  if over_budget; then RC=99; SECS=0; : > "$o"; say "$name: SKIPPED (past the --budget of $BUDGET s)"; return 99; fi
  local t=$EPOCHREALTIME
  launch "$np" "$cpu" "$@" > "$o.1" 2> "$o.2"
  RC=$?
  SECS=$(awk -v a="$EPOCHREALTIME" -v b="$t" 'BEGIN { printf "%.2f", a - b }')
  # stdout, then stderr (kept apart: a progress line ends in \r, not \n, and would swallow the next summary line)
  cat "$o.1" "$o.2" | tr '\r' '\n' | grep -v '^[[:space:]]*$' > "$o"; rm -f "$o.1" "$o.2"
  { echo "=== $name: $(shift; echo "$*")"; grep -Ev "$PROGRESS" "$o" | head -n 200; echo "--- $name: rc $RC, $SECS s"; } >> "$LOG"
}
# job_parse KIND FILE -> "job_seconds rate unit" from artistnet's summary lines
job_parse() {
  case $1 in
    mel) sed -n 's/.*this run [0-9]* tracks in \([0-9.]*\) s (\([0-9.]*\) tracks\/s.*/\1 \2 tracks\/s/p' "$2" | tail -n 1 ;;
    extract) sed -n 's/^extract: \([0-9.]*\) s on [0-9]* ranks\{0,1\}: \([0-9.]*\) tracks\/s.*/\1 \2 tracks\/s/p' "$2" | tail -n 1 ;;
    train*) sed -n 's/^epoch .*| \([0-9.]*\) s, \([0-9.]*\) segments\/s.*/\1 \2 segments\/s/p' "$2" | tail -n 1 ;;
    evaluate)
      local g f fits
      read -r g f < <(sed -n 's/^grid \([0-9.]*\) s, final fits \([0-9.]*\) s.*/\1 \2/p' "$2" | tail -n 1)
      fits=$(grep -Eo 'grid search: [0-9]+/[0-9]+ fits' "$2" | tail -n 1 | sed 's/.*\///; s/ fits//')
      [ -n "${g:-}" ] && awk -v g="$g" -v f="$f" -v n="${fits:-0}" 'BEGIN { printf "%.2f %s fits/s\n", g + f, (n > 0 && g > 0) ? sprintf("%.1f", n / g) : "-" }' ;;
  esac
}
# stages FILE -> "stage<TAB>rank-seconds" lines of the job's stage table (summed over ranks)
stages() {
  awk '/time per stage, summed over ranks/ { on = 1; next }
       on && /^  [^ ].*[0-9.]+ s +[0-9.]+%$/ { l = $0; sub(/^  /, "", l); n = split(l, w, /  +/); v = w[n - 1]; sub(/ s$/, "", v); print w[1] "\t" v; next }
       on && !/^  / { on = 0 }' "$1"
}
# grew BASE_STAGES N_STAGES -> "stage<TAB>from<TAB>to<TAB>share of the total growth" (the largest growth)
grew() {
  awk -F'\t' 'NR == FNR { a[$1] = $2; ta += $2; next }
    { b[$1] = $2; tb += $2; if (!($1 in a)) a[$1] = 0 }
    END { best = ""; for (s in b) if (best == "" || b[s] - a[s] > b[best] - a[best]) best = s
      if (best == "") exit
      d = b[best] - a[best]; g = tb - ta
      printf "%s\t%.3f\t%.3f\t%s\n", best, a[best], b[best], (g > 0 && d > 0) ? sprintf("%.0f%%", 100 * d / g) : "-" }' "$1" "$2"
}

# ---------------------------------------------------------------- bitwise checks
HAVE_PY=0 # PYTHON3, else the first python3 with h5py (the device bundle's env.sh leaves LD_LIBRARY_PATH alone; unset anyway)
for PY in ${PYTHON3:-python3 /usr/bin/python3}; do env -u LD_LIBRARY_PATH "$PY" -c 'import h5py, numpy' 2>/dev/null && { HAVE_PY=1; break; }; done
digest() { # FILE DSET... -> one line per dataset (shape, type, digest), rank-count independent
  local f=$1; shift
  if [ $HAVE_PY = 1 ]; then env -u LD_LIBRARY_PATH "$PY" "$HERE/h5digest.py" "$f" "$@"
  elif [ -n "${H5CHECK:-}" ]; then $H5CHECK "$f" "$@" 2>/dev/null | sed 's/^h5check: [^:]*://'
  else echo "unchecked (no python3 h5py, no H5CHECK)"; fi
}
if [ $HAVE_PY = 1 ]; then note "bitwise checks of HDF5 datasets: $HERE/h5digest.py with $PY (h5py)"
elif [ -n "${H5CHECK:-}" ]; then note "bitwise checks of HDF5 datasets: $H5CHECK"
else note "bitwise checks of HDF5 datasets: NONE (no python3 with h5py, no H5CHECK): only the model and predictions"; fi
declare -A SIG
sig_h5() { # KEY N FILE DSET...: SIG[KEY,N] = the datasets' digests (also into the log)
  local key=$1 n=$2; shift 2
  SIG[$key,$n]=$(digest "$@") && [ -n "${SIG[$key,$n]}" ] || SIG[$key,$n]="DIGEST FAILED ${SIG[$key,$n]}"
  echo "${SIG[$key,$n]}" | sed "s/^/  digest $key $n ranks: /" >> "$LOG"
}
# check_same KEY WHAT: every rank count's signature SIG[KEY,N] against the lowest rank count's
check_same() {
  local key=$1 what=$2 ref="" r0="" same="" bad="" miss="" n
  for n in $RANKS; do
    local s=${SIG[$key,$n]:-}
    if [ -z "$s" ]; then miss="$miss $n"; continue; fi
    if [[ $s == "DIGEST FAILED"* ]]; then bad="$bad $n(digest failed)"; continue; fi
    if [ -z "$ref" ]; then ref=$s; r0=$n; same=$n
    elif [ "$s" = "$ref" ]; then same="$same $n"
    else bad="$bad $n"; fi
  done
  local msg
  if [ -n "$bad" ]; then msg="NO: differs at ranks$bad from ranks $r0 (identical at ranks $same)"; FAILED=1
  elif [ -z "$ref" ]; then msg="not checked (no run finished)"
  elif [[ $ref == *unchecked* ]]; then msg="not checked (no python3 with h5py, no H5CHECK)"
  else msg="identical at ranks $same"; fi
  [ -n "$miss" ] && [ -n "$ref" ] && msg="$msg (not run or failed at ranks$miss)"
  note "check $what: $msg"
}

# ---------------------------------------------------------------- corpus and lists
CORP=$WORK/corpus
if [ -n "$CORPUS" ]; then
  [ -f "$CORPUS" ] || die "no list $CORPUS"
  SRC_LIST=$(cd "$(dirname "$CORPUS")" && pwd)/$(basename "$CORPUS")
  D=$(($(grep -cv '^\(#\|[[:space:]]*$\)' "$SRC_LIST") - 1))
  mkdir -p "$CORP"
else
  SRC_LIST=$CORP/tracks.tsv
  run synth "$MAXR" - -- "$ARTISTNET" synth --out "$CORP" --artists "$ARTISTS" --songs "$SONGS" --seconds "$SONG_SECONDS" --seed 1 --quiet
  say "synth: $D songs of $SONG_SECONDS s on $MAXR ranks, $SECS s (rc $RC)"
  [ "$RC" = 0 ] || { note "FATAL: synth failed; see $LOG"; exit 1; }
fi
# list_repeat SRC R -> the list R times (ids ID_r; an id column added when absent; paths absolute)
list_repeat() {
  awk -F'\t' -v r="$2" -v dir="$(dirname "$1")" 'BEGIN { OFS = "\t" }
    /^#/ || /^[[:space:]]*$/ { next }
    !h { h = 1; for (i = 1; i <= NF; i++) { if ($i == "path") p = i; if ($i == "id") d = i }
         if (!p) { print "list has no path column" > "/dev/stderr"; exit 2 }
         if (!d) { d = NF + 1; $d = "id" }
         print; next }
    { sub(/\r$/, ""); if ($p !~ /^\//) $p = dir "/" $p; if ($d == "") $d = $p; rows[++n] = $0 }
    END { for (k = 1; k <= r; k++) for (j = 1; j <= n; j++) { $0 = rows[j]; $d = $d "_" k; print } }' "$1"
}
# list_share LIST N C -> the header and share C (0-based) of N equal contiguous shares of the rows
list_share() {
  awk -v n="$2" -v c="$3" 'NR == 1 { print; next } { rows[++m] = $0 }
    END { k = int((m + n - 1) / n); for (i = c * k + 1; i <= m && i <= (c + 1) * k; i++) print rows[i] }' "$1"
}
list_repeat "$SRC_LIST" 1 > "$CORP/distinct.tsv" || { note "FATAL: cannot read $SRC_LIST"; exit 1; }
list_repeat "$SRC_LIST" "$MEL_REPEAT" > "$CORP/mel.tsv"
list_repeat "$SRC_LIST" "$X_REPEAT" > "$CORP/extract.tsv"
NMEL=$(($(wc -l < "$CORP/mel.tsv") - 1)); NX=$(($(wc -l < "$CORP/extract.tsv") - 1))
note "lists: $D distinct songs (train's mels.h5), mel $NMEL rows, extract $NX rows"

# ---------------------------------------------------------------- results
declare -A WALL=() JOBSEC=() RATE=() UNIT=() JRC=() CEIL=() GREW=() SCHED=() NOSPEC=() # =(): set, even when empty (set -u)
ORDER=""
record() { # JOB N PARSED_FILE: wall, the job's own figures, the stage that grew against 1 rank
  local job=$1 n=$2 f=$3 js rate unit
  WALL[$job,$n]=$SECS; JRC[$job,$n]=$RC
  read -r js rate unit < <(job_parse "$job" "$f"; echo)
  JOBSEC[$job,$n]=${js:--}; RATE[$job,$n]=${rate:--}; UNIT[$job,$n]=${unit:-}
  stages "$f" > "$WORK/stages.$job.$n"
  if [ "$n" != 1 ] && [ -s "$WORK/stages.$job.$n" ] && [ -s "$WORK/stages.$job.1" ]; then
    GREW[$job,$n]=$(grew "$WORK/stages.$job.1" "$WORK/stages.$job.$n")
  fi
  case " $ORDER " in *" $job "*) ;; *) ORDER="$ORDER $job" ;; esac
  [ "$RC" = 0 ] || [ "$RC" = 99 ] || { FAILED=1; note "FAILED: $job on $n ranks, rc $RC (see $LOG)"; }
  [ "$RC" = 99 ] || say "$job on $n rank(s): $SECS s wall (rc $RC), job ${js:--} s, ${rate:--} ${unit:-}"
}

# ---------------------------------------------------------------- the ceiling
# ceiling KIND N -- command with @SHARE@ (the share's index) and @OUT@ (its output, no suffix): the
# lone share job on the first core, N share jobs at once (one per core), the lone one again (a
# steady drift of the machine's speed cancels out of the mean of the two lone runs);
# CEIL[KIND,N] = N x mean lone seconds / mean seconds of the N.
share_run() { # C CPU: share C of $SHARE_ARGS on CPU; writes "seconds rc" to $WORK/share.C.time
  local c=$1 a cmd=() t r
  for a in "${SHARE_ARGS[@]}"; do a=${a//@SHARE@/$c}; cmd+=("${a//@OUT@/$WORK/share.$c}"); done
  t=$EPOCHREALTIME
  launch 1 "$2" -- "${cmd[@]}" > "$WORK/share.$c.out" 2>&1; r=$?
  echo "$(awk -v a="$EPOCHREALTIME" -v b="$t" 'BEGIN { printf "%.3f", a - b }') $r" > "$WORK/share.$c.time"
  rm -rf "$WORK/share.$c".h5*
}
ceiling() {
  local kind=$1 n=$2 c lone times all l1 l2 mean slow
  shift 3; SHARE_ARGS=("$@")
  [ "$CEILING" = 1 ] && [ "$n" -gt 1 ] || return 0
  if over_budget; then say "ceiling $kind $n: SKIPPED (budget)"; return 0; fi
  echo "=== ceiling $kind at $n: ${SHARE_ARGS[*]} (@SHARE@: 0..$((n - 1)), @OUT@: scratch)" >> "$LOG"
  share_run 0 "${CPUS[0]:-0}"; lone=$(cat "$WORK/share.0.time")
  for c in $(seq 0 $((n - 1))); do share_run "$c" "${CPUS[$((c % NCORES))]:-$c}" & done
  wait
  times=$(cat "$WORK"/share.*.time)
  share_run 0 "${CPUS[0]:-0}"; lone="$lone
$(cat "$WORK/share.0.time")"
  all=$(printf '%s\n%s\n' "$lone" "$times")
  if echo "$all" | awk '$2 != 0 { bad = 1 } END { exit !bad }'; then
    note "ceiling $kind $n: a share job failed (seconds, rc: $(echo "$all" | tr '\n' ' '); see share.*.out in --keep-work)"
    cat "$WORK"/share.*.out | tail -n 20 >> "$LOG"; rm -rf "$WORK"/share.*; return 0
  fi
  rm -rf "$WORK"/share.*
  read -r l1 l2 mean slow CEIL[$kind,$n] < <(printf '%s\n' "$lone" | awk -v n="$n" -v t="$times" '
    { l[NR] = $1 } END { m = split(t, x, "\n"); s = 0; mx = 0
      for (i = 1; i <= m; i++) { split(x[i], f, " "); s += f[1]; if (f[1] > mx) mx = f[1] }
      printf "%.3f %.3f %.3f %.3f %.2f\n", l[1], l[2], s / m, mx, n * (l[1] + l[2]) / 2 / (s / m) }')
  say "ceiling $kind at $n: lone share job $l1 / $l2 s, $n at once mean $mean s (slowest $slow s): ${CEIL[$kind,$n]}x"
}

# ---------------------------------------------------------------- inputs that the timed jobs need
MELS=$WORK/mels_train.h5; MODEL=""; FEAT=""
if has_job train || has_job extract || has_job evaluate; then
  run mels-prep "$MAXR" - -- "$ARTISTNET" mel --list "$CORP/distinct.tsv" --out "$MELS" --prefetch 0 --quiet
  say "mels for train ($D rows) on $MAXR ranks: $SECS s (rc $RC)"
  [ "$RC" = 0 ] || { note "FATAL: mel of the distinct list failed; see $LOG"; exit 1; }
  # the first timed train must not be the one that reads mels.h5 from disk (scratch on a disk file
  # system: 1 rank's set-up read 2 GB in 6.3 s cold, 2.2 s from the page cache)
  cat "$MELS" > /dev/null
fi
train_cmd() { # BATCH OUT [more] -> TRAIN: the train job's command
  local b=$1 o=$2; shift 2
  TRAIN=("$ARTISTNET" train --mels "$MELS" --out "$o" --epochs 1 --batch "$b" --micro-batch $(( MICRO < b ? MICRO : b ))
    --reduce exact --patience 0 ${TRAIN_OPTS:-} "$@")
}

# ---------------------------------------------------------------- mel
if has_job mel; then
  for n in $RANKS; do
    rm -f "$WORK/mel.h5"
    run "mel.$n" "$n" - -- "$ARTISTNET" mel --list "$CORP/mel.tsv" --out "$WORK/mel.h5" --prefetch 0
    record mel "$n" "$WORK/out.mel.$n"
    [ "$RC" = 0 ] && sig_h5 mel "$n" "$WORK/mel.h5" /mel /status /n_segments
    rm -f "$WORK/mel.h5"
    if [ "$RC" = 0 ]; then
      for c in $(seq 0 $((n - 1))); do list_share "$CORP/mel.tsv" "$n" "$c" > "$CORP/mel.share$c.tsv"; done
      ceiling mel "$n" -- "$ARTISTNET" mel --list "$CORP/mel.share@SHARE@.tsv" --out @OUT@.h5 --prefetch 0 --quiet
    fi
  done
  check_same mel "mels.h5 /mel /status /n_segments"
fi

# ---------------------------------------------------------------- train
train_sweep() { # BATCH
  local b=$1 job=train-b$1 n
  for n in $RANKS; do
    rm -f "$WORK/model.$b.$n.h5"*
    train_cmd "$b" "$WORK/model.$b.$n.h5"
    run "$job.$n" "$n" - -- "${TRAIN[@]}"
    record "$job" "$n" "$WORK/out.$job.$n"
    SIG[$job,$n]=$(sed -n 's/.*checksum \(fnv1a64:[0-9a-f]*\).*/\1/p' "$WORK/out.$job.$n" | tail -n 1)
    [ "$n" = 1 ] && [ "$RC" = 0 ] && [ "$b" = "$BATCH" ] && MODEL=$WORK/model.$b.1.h5
    [ "$WORK/model.$b.$n.h5" = "$MODEL" ] || rm -f "$WORK/model.$b.$n.h5"
    rm -f "$WORK/model.$b.$n.h5.ckpt"
    if [ "$RC" = 0 ] && [ "$n" -gt 1 ]; then # share c: rank c's whole epoch, one process, no exchanges
      train_cmd "$b" @OUT@.h5 --bench-share "@SHARE@/$n" --quiet
      ceiling "$job" "$n" -- "${TRAIN[@]}"
    fi
  done
  check_same "$job" "train --batch $b model checksum"
}
if has_job train; then
  train_sweep "$BATCH"
  [ -n "$BATCH2" ] && train_sweep "$BATCH2"
fi
if [ -z "$MODEL" ] && { has_job extract || has_job evaluate; }; then # a model for extract (untimed)
  train_cmd "$BATCH" "$WORK/model.prep.h5" --quiet
  run model-prep "$MAXR" - -- "${TRAIN[@]}"
  [ "$RC" = 0 ] || { note "FATAL: train (for a model) failed; see $LOG"; exit 1; }
  MODEL=$WORK/model.prep.h5
fi

# ---------------------------------------------------------------- extract
if has_job extract; then
  for n in $RANKS; do
    rm -f "$WORK/feat.$n.h5"
    run "extract.$n" "$n" - -- "$ARTISTNET" extract --model "$MODEL" --list "$CORP/extract.tsv" --out "$WORK/feat.$n.h5" --prefetch 0
    record extract "$n" "$WORK/out.extract.$n"
    [ "$RC" = 0 ] && sig_h5 features "$n" "$WORK/feat.$n.h5" /features /status
    [ "$n" = 1 ] && [ "$RC" = 0 ] && FEAT=$WORK/feat.1.h5
    [ "$WORK/feat.$n.h5" = "$FEAT" ] || rm -f "$WORK/feat.$n.h5"
    if [ "$RC" = 0 ]; then
      for c in $(seq 0 $((n - 1))); do list_share "$CORP/extract.tsv" "$n" "$c" > "$CORP/extract.share$c.tsv"; done
      ceiling extract "$n" -- "$ARTISTNET" extract --model "$MODEL" --list "$CORP/extract.share@SHARE@.tsv" --out @OUT@.h5 --prefetch 0 --quiet
    fi
  done
  check_same features "features.h5 /features /status"
fi

# ---------------------------------------------------------------- evaluate
if has_job evaluate; then
  if [ -z "$FEAT" ]; then # features for evaluate (untimed)
    run feat-prep "$MAXR" - -- "$ARTISTNET" extract --model "$MODEL" --list "$CORP/extract.tsv" --out "$WORK/feat.prep.h5" --prefetch 0 --quiet
    [ "$RC" = 0 ] || { note "FATAL: extract (for features) failed; see $LOG"; exit 1; }
    FEAT=$WORK/feat.prep.h5
  fi
  EVAL_OPTS=(--features "$FEAT" --label-column "$LABEL" --folds 3 --artist-column artist --kernel rbf)
  for n in $RANKS; do
    rm -rf "$WORK/eval.$n"
    run "evaluate.$n" "$n" - -- "$ARTISTNET" evaluate "${EVAL_OPTS[@]}" --out "$WORK/eval.$n"
    record evaluate "$n" "$WORK/out.evaluate.$n"
    [ "$RC" = 0 ] && SIG[predictions,$n]=$(cksum < "$WORK/eval.$n/predictions.tsv")
    grep -m 1 '^accuracy' "$WORK/out.evaluate.$n" | sed "s/^/  evaluate $n ranks: /" >> "$LOG"
    [ -s "$WORK/eval.$n/fits.tsv" ] && cp "$WORK/eval.$n/fits.tsv" "$OUT/evaluate-fits.$n.tsv"
    rm -rf "$WORK/eval.$n"
    # the schedule alone: the 1-rank run's fits replayed at N ranks (every set-up and fit a sleep of
    # its recorded seconds: no core is busy, so nothing the cores cost is in it); beside the real
    # run's efficiency it splits the loss into the schedule's part and the cores' part
    # (at the largest rank count only: a replay takes about as long as the real run)
    if [ "$RC" = 0 ] && [ "$n" != 1 ] && [ "$n" = "$MAXR" ] && [ -s "$OUT/evaluate-fits.1.tsv" ]; then
      run "evaluate-replay.$n" "$n" - -- "$ARTISTNET" evaluate "${EVAL_OPTS[@]}" --bench-replay "$OUT/evaluate-fits.1.tsv"
      r=$(sed -n 's/.*recorded work \/ (ranks x wall) \([0-9.]*\)$/\1/p' "$WORK/out.evaluate-replay.$n" | tail -n 1)
      if [ "$RC" = 0 ] && [ -n "$r" ]; then
        SCHED[$n]=$r
        say "evaluate at $n ranks, its schedule alone (the 1-rank fits replayed): fills $r of $n ranks"
      else
        note "evaluate replay at $n ranks failed (rc $RC; see $LOG)"
      fi
    fi
    # speculative final fits (evaluate's default) against none, on the real run at the largest rank
    # count: the same predictions, and what running the last fold's final fit ahead gained here
    if [ "$RC" = 0 ] && [ "$n" != 1 ] && [ "$n" = "$MAXR" ]; then
      keep_rc=$RC
      rm -rf "$WORK/evalns.$n"
      run "evaluate-nospec.$n" "$n" - -- "$ARTISTNET" evaluate "${EVAL_OPTS[@]}" --speculate off --out "$WORK/evalns.$n"
      ns=$(job_parse evaluate "$WORK/out.evaluate-nospec.$n" | awk '{print $1}')
      if [ "$RC" = 0 ] && [ -n "$ns" ] && [ -s "$WORK/evalns.$n/predictions.tsv" ]; then
        same="identical"
        [ "$(cksum < "$WORK/evalns.$n/predictions.tsv")" = "${SIG[predictions,$n]:-}" ] || { same="DIFFERENT"; FAILED=1; }
        NOSPEC[$n]="$ns $same"
        say "evaluate at $n ranks with --speculate off: grid + final fits $ns s (on: ${JOBSEC[evaluate,$n]:--} s), predictions $same"
      else
        note "evaluate --speculate off at $n ranks failed (rc $RC; see $LOG)"
      fi
      rm -rf "$WORK/evalns.$n"
      RC=$keep_rc
    fi
    # the unit: the middle (fold, gamma) group's grid fits (the header says why identical units)
    [ "$RC" = 0 ] && ceiling evaluate "$n" -- "$ARTISTNET" evaluate "${EVAL_OPTS[@]}" --bench-group mid --quiet
  done
  check_same predictions "evaluate predictions.tsv"
fi

# ---------------------------------------------------------------- the table
{
  printf 'job\tranks\twall_s\tjob_s\trate\tunit\tspeedup\tefficiency\tceiling\tvs_ceiling\tgrew_stage\tgrew_1rank_s\tgrew_nrank_s\tgrew_share\trc\n'
  for job in $ORDER; do
    for n in $RANKS; do
      [ -n "${WALL[$job,$n]:-}" ] || continue
      w1=${WALL[$job,1]:-0}; w=${WALL[$job,$n]}; ce=${CEIL[$job,$n]:-}; [ "$n" = 1 ] && ce=1.00
      IFS=$'\t' read -r gs g1 gn gp <<< "${GREW[$job,$n]:-}"
      awk -v OFS='\t' -v j="$job" -v n="$n" -v w="$w" -v w1="$w1" -v js="${JOBSEC[$job,$n]}" -v r="${RATE[$job,$n]}" -v u="${UNIT[$job,$n]}" \
          -v ce="$ce" -v rc="${JRC[$job,$n]}" -v rc1="${JRC[$job,1]:-1}" -v gs="${gs:--}" -v g1="${g1:--}" -v gn="${gn:--}" -v gp="${gp:--}" 'BEGIN {
        sp = "-"; ef = "-"; vc = "-"
        if (rc == 0 && rc1 == 0 && w > 0 && w1 > 0) { sp = sprintf("%.2f", w1 / w); ef = sprintf("%.2f", w1 / w / n)
          if (ce + 0 > 0) vc = sprintf("%.2f", (w1 / w) / ce) }
        print j, n, w, js, r, u, sp, ef, (ce == "" ? "-" : ce), vc, gs, g1, gn, gp, rc }'
    done
  done
} > "$TSV"
TABLE=$(awk -F'\t' 'NR == 1 { printf "%-14s %5s %8s %8s %11s %-11s %7s %5s %8s %7s  %s\n", "job", "ranks", "wall s", "job s", "rate", "", "speed-up", "eff", "ceiling", "eff/ceil", "stage that grew most (rank-s vs 1 rank, share of the growth)"; next }
  { g = $11 == "-" ? "-" : sprintf("%s %s -> %s (%s)", $11, $12, $13, $14)
    if ($15 == 99) { printf "%-14s %5s %8s  skipped (--budget)\n", $1, $2, "-"; next }
    if ($15 != 0) g = "FAILED, rc " $15 "; " g
    printf "%-14s %5s %8s %8s %11s %-11s %7s %5s %8s %7s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, g }' "$TSV")
{
  echo
  echo "wall s: the whole launch; job s, rate: the job's own summary; speed-up, eff: 1-rank wall / N-rank wall (/ N);"
  echo "ceiling: N x lone share job / mean of N concurrent share jobs (no MPI; evaluate: N identical units, --bench-group mid); eff/ceil = speed-up / ceiling"
  echo "$TABLE"
  if [ ${#SCHED[@]} -gt 0 ]; then
    echo
    echo "evaluate's schedule alone (the 1-rank fits.tsv replayed at N ranks, every fit a sleep: no core cost) against the real"
    echo "run, both over grid + final fits (the job's own seconds, without start-up and reading):"
    for n in $RANKS; do
      [ -n "${SCHED[$n]:-}" ] || continue
      awk -v n="$n" -v r="${SCHED[$n]}" -v j1="${JOBSEC[evaluate,1]:--}" -v j="${JOBSEC[evaluate,$n]:--}" 'BEGIN {
        e = (j1 + 0 > 0 && j + 0 > 0) ? sprintf("%.3f", j1 / j / n) : "-"
        printf "evaluate-schedule %3d ranks: the replay fills %.3f of the ranks; the real run %s (speed-up / N)\n", n, r, e }'
    done
  fi
  for n in $RANKS; do
    [ -n "${NOSPEC[$n]:-}" ] || continue
    read -r ns same <<< "${NOSPEC[$n]}"
    printf 'evaluate-speculate %3d ranks: grid + final fits %s s with speculative final fits (the default), %s s without; predictions %s\n' \
      "$n" "${JOBSEC[evaluate,$n]:--}" "$ns" "$same"
  done
  echo
  grep '^check' "$SUM"
  echo "total $(now) s; output in $OUT"
} > "$WORK/tail.txt"
cat "$WORK/tail.txt" >> "$LOG"
grep -v '^check' "$WORK/tail.txt" >> "$SUM"
cat "$WORK/tail.txt"
if [ "$FAILED" = 1 ]; then echo "scaling.sh: FAILED (a job failed or an output differs between rank counts)"; exit 1; fi
exit 0
