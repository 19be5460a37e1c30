/* util.h - small shared pieces every module uses: error codes and messages, option parsing for the
 * CLI, progress lines, clocks, checksums, strings.
 *
 * Error convention (libsvm's svm_check_parameter, redis's C_OK/C_ERR): functions return 0 on success
 * or a negative UTIL_E* code, and write a one-line message into a caller-given buffer `err` of
 * `errlen` bytes (may be NULL). Only jobs/ turns codes into exit statuses: UTIL_EINPUT and
 * UTIL_EUSAGE -> 2, anything else negative -> 1.
 */
#ifndef ARTISTNET_UTIL_H
#define ARTISTNET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define UTIL_ERRLEN 1024

enum {
    UTIL_OK = 0,
    UTIL_EFAIL = -1,   /* other failure (I/O, library, MPI): exit 1 */
    UTIL_EINPUT = -2,  /* bad input file: exit 2, message names file (and line) */
    UTIL_EUSAGE = -3,  /* bad command line: exit 2 */
    UTIL_ETRACK = -4,  /* per-track failure (unreadable audio, too short): recorded, not fatal */
    UTIL_EINTR = -5,   /* interrupted by a signal, resumable: exit 3 */
    UTIL_HELP = 1      /* --help or --version was printed: exit 0 */
};

/* exit status for a return code (see above) */
int util_exit_status(int rc);

/* printf into err (if non-NULL) and return code; for `return util_fail(err, n, UTIL_EINPUT, ...)`. */
int util_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Wall-clock seconds (monotonic). */
double util_now(void);

/* Checksums: 64-bit FNV-1a, streaming. util_file_hash hashes a whole file (0 on error). */
#define UTIL_FNV_INIT 0xcbf29ce484222325ULL
uint64_t util_fnv1a(uint64_t h, const void *data, size_t n);
int util_file_hash(const char *path, uint64_t *out, char *err, size_t errlen);

/* Allocation that reports the size on failure; xmalloc-style wrappers return NULL and never abort. */
void *util_calloc(size_t n, size_t size);

/* ---- command-line options (table driven; every option has a default and a help line) ---- */
typedef enum { UTIL_OPT_INT, UTIL_OPT_DOUBLE, UTIL_OPT_STRING, UTIL_OPT_FLAG } util_opt_type;

typedef struct {
    const char *name;     /* long name without dashes, e.g. "epochs" */
    util_opt_type type;
    void *ptr;            /* int*, double*, const char**, int* (flag: set to 1) */
    const char *def;      /* default as text ("" or NULL: none / required if `required`) */
    const char *help;
    double min, max;      /* range for INT/DOUBLE (ignored when min > max) */
    int required;
} util_opt;

/* Parses argv[1..] (argv[0] is the subcommand name). Sets defaults first. Prints help (with each
 * option's default) to stdout on --help and returns UTIL_HELP. Unknown options, missing values,
 * numbers with junk or out of range, missing required options -> UTIL_EUSAGE with a message. */
int util_opts_parse(const char *prog, const char *summary, util_opt *opts, int argc, char **argv,
                    char *err, size_t errlen);
void util_opts_help(FILE *f, const char *prog, const char *summary, const util_opt *opts);

/* strict number parsing: whole string, range checked */
int util_parse_long(const char *s, long min, long max, long *out);
int util_parse_double(const char *s, double min, double max, double *out);

/* ---- progress: rank 0 only, to stderr, at most once a second ---- */
typedef struct {
    const char *what;     /* e.g. "mel" */
    const char *unit;     /* e.g. "tracks" */
    long total;
    double t0, last;
    int enabled;          /* 0 on non-zero ranks or with --quiet */
    double audio_seconds; /* optional: audio processed so far, for "x realtime" */
} util_progress;

void util_progress_start(util_progress *p, const char *what, const char *unit, long total, int enabled);
void util_progress_update(util_progress *p, long done, int force);
void util_progress_finish(util_progress *p, long done);

/* ---- strings ---- */
char *util_strdup(const char *s);
/* 1 if s is valid UTF-8 */
int util_utf8_valid(const char *s, size_t n);
/* Splits line in place at each sep into at most max fields (text after the max-th field is cut off);
 * returns the number of fields (>= 1). util_split_tabs: sep '\t'. */
int util_split_at(char *line, char sep, char **fields, int max);
int util_split_tabs(char *line, char **fields, int max);
/* The same with no limit: *fields is a growing array of *cap pointers into line that the caller keeps
 * across lines and frees; returns the field count (>= 1), or -1 when out of memory. Track lists
 * (shard/list.c) and the report's TSV files (report/data.c) split their lines with it. */
int util_split_tabs_grow(char *line, char ***fields, int *cap);
/* Joins argv into one line (for attributes): caller frees. */
char *util_join_argv(int argc, char **argv);

/* ---- signals: SIGTERM/SIGINT set a flag that long jobs poll ---- */
void util_signals_install(void);
int util_interrupted(void);
void util_interrupt_reset(void);
/* Test hooks: environment variable `var` = "KILL:N", "TERM:N" or "STOP:N" -> the signal number and
 * *at = N (the job raises it at its N-th round, step, ... as its --help or header says); 0 when unset
 * or malformed. Tests use it to stop or kill a job at a known point instead of sleeping. A hook
 * fires only in a Slurm job's first run (SLURM_RESTART_COUNT unset or 0), so a requeued stage that
 * inherits the environment runs through. */
int util_test_signal(const char *var, long *at);

/* Deterministic test data: n floats uniform in [lo, hi) from a 32-bit LCG started at seed (the
 * same values on every machine; for tests and benchmarks, not statistics). Returns malloc'ed memory
 * (NULL when out of memory). */
float *util_uniform_floats(size_t n, unsigned seed, float lo, float hi);

/* Memory this process may still take, in bytes: the least of the host's MemAvailable and, when the
 * process is in a memory-limited cgroup (v2 memory.max, v1 memory.limit_in_bytes; Slurm's task
 * confinement), that limit less the cgroup's current use. 0 when nothing can be read (not Linux).
 * Test hook: ARTISTNET_TEST_MEM_AVAILABLE_MB replaces the answer. */
double util_mem_available(void);

/* A large buffer written once per use, hundreds of MB (a final SVM fit's kernel and Gram matrices;
 * the grid workspace's, rewritten at each set-up) on 2-MB pages where the kernel gives them
 * (transparent huge pages, "madvise" mode as on Debian): far fewer page faults when it is first
 * written and fewer TLB misses when LIBSVM reads its rows. Measured: one 4,000 x 256 RBF fit 0.66-0.84
 * -> 0.42-0.65 s; `evaluate` on 4,000 x 256, 2 ranks, 4 alternated pairs: wall 19.3 / 21.2 / 18.3 /
 * 22.0 -> 18.4 / 16.0 / 18.3 / 18.2 s, minor faults 222k -> 35k, system time 0.80 -> 0.51 s. Where
 * memory is fragmented the kernel may compact it on the fault (THP "defrag" setting). Free it with
 * free(); NULL when out of memory. Below 2 MB, plain malloc. */
void *util_alloc_large(size_t bytes);

/* ---- summaries ---- */
/* The per-stage time table of a job's summary: t[0..n) per stage (summed over ranks), t[n] the
 * total. With `threads` prefetch threads per rank (> 0), stages `decode` and `resample` ran in them,
 * beside the others: they are marked and left out of the sum that "other" is the rest of. */
void util_print_stages(FILE *f, const char *job, const char *const *names, const double *t, int n, int threads,
                       int decode, int resample);

#endif
