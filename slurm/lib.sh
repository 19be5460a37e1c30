# slurm/lib.sh - sourced by the stage templates. an_stage runs one pipeline stage with srun and turns
# Slurm's time-limit warning into a checkpoint + requeue:
#   * the templates ask for `--signal=B:TERM@120` (TERM to this batch shell 120 s before the limit)
#     and `--requeue`;
#   * the trap forwards it to the tasks as USR1 through srun (srun itself treats TERM as "cancel the
#     step" and kills the tasks; it forwards USR1 untouched); artistnet treats USR1 like TERM:
#     finishes the work in hand, saves its state and exits 3 ("interrupted, resumable");
#   * on exit status 3, or 4 (a rank or its node was lost: mpi/watch.h), the job requeues itself;
#     the next start runs the same stage with --resume and
#     continues where it stopped. Dependent jobs (afterok) wait, since the job has not completed.
# Environment: ARTISTNET (the binary; default: artistnet on PATH).

an_stage() {
  local bin=${ARTISTNET:-artistnet}
  echo "artistnet-slurm: job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_NTASKS:-?} tasks: $bin $*" >&2
  srun --kill-on-bad-exit=1 "$bin" "$@" &
  local pid=$! rc
  trap 'echo "artistnet-slurm: TERM received, checkpointing" >&2; kill -USR1 "$pid" 2>/dev/null' TERM
  wait "$pid"; rc=$?
  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; rc=$?; done   # wait was cut short by the trap
  trap - TERM
  # 3: interrupted with its state saved; 4: a rank or its node was lost (mpi/watch.h), the stage
  # resumes from its last checkpoint once Slurm has a full allocation again
  if { [ "$rc" = 3 ] || [ "$rc" = 4 ]; } && [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "artistnet-slurm: $([ "$rc" = 3 ] && echo interrupted || echo 'lost a rank or node'); requeueing job $SLURM_JOB_ID to resume" >&2
    scontrol requeue "$SLURM_JOB_ID"
  fi
  return "$rc"
}
