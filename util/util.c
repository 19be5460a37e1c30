/* util.c - error helpers, clocks, FNV-1a checksums, strict number parsing, table-driven options,
 * rate/ETA progress lines, UTF-8 validation and the SIGTERM flag (see util.h). */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int util_exit_status(int rc)
{
    if (rc == UTIL_OK || rc == UTIL_HELP) return 0;
    if (rc == UTIL_EINPUT || rc == UTIL_EUSAGE) return 2;
    if (rc == UTIL_EINTR) return 3;
    return 1;
}

int util_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t util_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int util_file_hash(const char *path, uint64_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", path, strerror(errno));
    unsigned char buf[1 << 16];
    uint64_t h = UTIL_FNV_INIT;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = util_fnv1a(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return util_fail(err, errlen, UTIL_EFAIL, "%s: read error", path);
    *out = h;
    return UTIL_OK;
}

void *util_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0) return calloc(1, 1);
    return calloc(n, size);
}

int util_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int util_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static const char *opt_type_meta(util_opt_type t)
{
    switch (t) {
    case UTIL_OPT_INT: return "N";
    case UTIL_OPT_DOUBLE: return "X";
    case UTIL_OPT_STRING: return "S";
    default: return "";
    }
}

void util_opts_help(FILE *f, const char *prog, const char *summary, const util_opt *opts)
{
    fprintf(f, "usage: artistnet %s [options]\n%s\n\noptions:\n", prog, summary);
    for (const util_opt *o = opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s %s", o->name, opt_type_meta(o->type));
        fprintf(f, "  %-24s %s", left, o->help);
        if (o->required) fprintf(f, " (required)");
        else if (o->type == UTIL_OPT_FLAG) fprintf(f, " (default: off)");
        else if (o->def && *o->def) fprintf(f, " (default: %s)", o->def);
        if (o->min <= o->max && (o->type == UTIL_OPT_INT || o->type == UTIL_OPT_DOUBLE))
            fprintf(f, " [%g..%g]", o->min, o->max);
        fputc('\n', f);
    }
    fprintf(f, "  %-24s %s\n", "--help", "print this help and exit");
}

static int opt_set(const char *prog, util_opt *o, const char *val, char *err, size_t errlen)
{
    switch (o->type) {
    case UTIL_OPT_INT: {
        long v;
        long lo = o->min <= o->max ? (long)o->min : -2147483647L;
        long hi = o->min <= o->max ? (long)o->max : 2147483647L;
        if (util_parse_long(val, lo, hi, &v))
            return util_fail(err, errlen, UTIL_EUSAGE, "%s: --%s wants a whole number in [%ld, %ld], got '%s'",
                             prog, o->name, lo, hi, val);
        *(int *)o->ptr = (int)v;
        return 0;
    }
    case UTIL_OPT_DOUBLE: {
        double v;
        double lo = o->min <= o->max ? o->min : -INFINITY;
        double hi = o->min <= o->max ? o->max : INFINITY;
        if (util_parse_double(val, lo, hi, &v))
            return util_fail(err, errlen, UTIL_EUSAGE, "%s: --%s wants a number in [%g, %g], got '%s'",
                             prog, o->name, lo, hi, val);
        *(double *)o->ptr = v;
        return 0;
    }
    case UTIL_OPT_STRING:
        *(const char **)o->ptr = val;
        return 0;
    case UTIL_OPT_FLAG:
        *(int *)o->ptr = 1;
        return 0;
    }
    return UTIL_EFAIL;
}

int util_opts_parse(const char *prog, const char *summary, util_opt *opts, int argc, char **argv,
                    char *err, size_t errlen)
{
    int nopt = 0;
    for (util_opt *o = opts; o->name; o++, nopt++) {
        if (o->type == UTIL_OPT_FLAG) {
            *(int *)o->ptr = 0;
        } else if (o->type == UTIL_OPT_STRING) {
            *(const char **)o->ptr = (o->def && *o->def) ? o->def : NULL;
        } else if (o->def && *o->def) {
            int rc = opt_set(prog, o, o->def, err, errlen);
            if (rc) return util_fail(err, errlen, UTIL_EFAIL, "%s: bad built-in default for --%s", prog, o->name);
        }
    }
    char *seen = calloc((size_t)nopt + 1, 1);
    if (!seen) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", prog);
    int rc = UTIL_OK;
    for (int i = 1; i < argc && rc == UTIL_OK; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            util_opts_help(stdout, prog, summary, opts);
            rc = UTIL_HELP;
            break;
        }
        if (strncmp(a, "--", 2) != 0) {
            rc = util_fail(err, errlen, UTIL_EUSAGE, "%s: unexpected argument '%s' (see --help)", prog, a);
            break;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        util_opt *o = NULL;
        int k = 0;
        for (util_opt *q = opts; q->name; q++, k++)
            if (strlen(q->name) == len && !strncmp(q->name, name, len)) { o = q; break; }
        if (!o) {
            rc = util_fail(err, errlen, UTIL_EUSAGE, "%s: unknown option '%s' (see --help)", prog, a);
            break;
        }
        const char *val = NULL;
        if (o->type == UTIL_OPT_FLAG) {
            if (eq) { rc = util_fail(err, errlen, UTIL_EUSAGE, "%s: --%s takes no value", prog, o->name); break; }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            rc = util_fail(err, errlen, UTIL_EUSAGE, "%s: --%s needs a value", prog, o->name);
            break;
        }
        rc = opt_set(prog, o, val, err, errlen);
        seen[k] = 1;
    }
    if (rc == UTIL_OK) {
        int k = 0;
        for (util_opt *o = opts; o->name; o++, k++)
            if (o->required && !seen[k]) {
                rc = util_fail(err, errlen, UTIL_EUSAGE, "%s: --%s is required (see --help)", prog, o->name);
                break;
            }
    }
    free(seen);
    return rc;
}

static void fmt_duration(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0) { snprintf(buf, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

void util_progress_start(util_progress *p, const char *what, const char *unit, long total, int enabled)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->enabled = enabled;
    p->t0 = p->last = util_now();
}

static void progress_print(util_progress *p, long done, double now, const char *end)
{
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32], elapsed[32];
    fmt_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : NAN);
    fmt_duration(elapsed, sizeof elapsed, el);
    fprintf(stderr, "\r%s: %ld/%ld %s (%.0f%%), %.2f %s/s", p->what, done, p->total, p->unit,
            p->total > 0 ? 100.0 * (double)done / (double)p->total : 100.0, rate, p->unit);
    if (p->audio_seconds > 0 && el > 0) fprintf(stderr, ", %.0fx realtime", p->audio_seconds / el);
    if (*end) fprintf(stderr, ", %s elapsed%s", elapsed, end);
    else fprintf(stderr, ", ETA %s   ", eta);
    fflush(stderr);
}

void util_progress_update(util_progress *p, long done, int force)
{
    if (!p->enabled) return;
    double now = util_now();
    if (!force && now - p->last < 1.0) return;
    p->last = now;
    progress_print(p, done, now, "");
}

void util_progress_finish(util_progress *p, long done)
{
    if (!p->enabled) return;
    progress_print(p, done, util_now(), "\n");
}

char *util_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int util_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { k = 1; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { k = 2; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { k = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (p[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

int util_split_at(char *line, char sep, char **fields, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *t = strchr(p, sep);
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    return n;
}

int util_split_tabs(char *line, char **fields, int max) { return util_split_at(line, '\t', fields, max); }

int util_split_tabs_grow(char *s, char ***fields, int *cap)
{
    int n = 1;
    for (const char *p = s; (p = strchr(p, '\t')) != NULL; p++) n++;
    if (n > *cap) {
        int nc = *cap ? *cap : 8;
        while (nc < n) nc *= 2;
        char **nf = realloc(*fields, (size_t)nc * sizeof *nf);
        if (!nf) return -1;
        *fields = nf;
        *cap = nc;
    }
    return util_split_tabs(s, *fields, n);
}

char *util_join_argv(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    s[0] = 0;
    for (int i = 0; i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

void util_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int util_interrupted(void) { return g_interrupted != 0; }
void util_interrupt_reset(void) { g_interrupted = 0; }

int util_test_signal(const char *var, long *at)
{
    const char *v = getenv(var);
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"KILL:", SIGKILL}, {"TERM:", SIGTERM}, {"STOP:", SIGSTOP}};
    *at = 0;
    const char *restarts = getenv("SLURM_RESTART_COUNT");
    if (restarts && *restarts && strcmp(restarts, "0") != 0) return 0;
    for (size_t i = 0; v && i < sizeof sigs / sizeof sigs[0]; i++)
        if (!strncmp(v, sigs[i].name, 5) && !util_parse_long(v + 5, 0, LONG_MAX, at)) return sigs[i].sig;
    return 0;
}

float *util_uniform_floats(size_t n, unsigned seed, float lo, float hi)
{
    float *p = malloc(n * sizeof *p + 1);
    for (size_t i = 0; p && i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)((seed >> 9) & 0xffff) / 65536.0f;
    }
    return p;
}

void util_print_stages(FILE *f, const char *job, const char *const *names, const double *t, int n, int threads,
                       int decode, int resample)
{
    const double total = t[n];
    char how[96] = "";
    if (threads > 0)
        snprintf(how, sizeof how, "; decode and resample in %d prefetch thread%s per rank, overlapped", threads,
                 threads > 1 ? "s" : "");
    fprintf(f, "%s: time per stage, summed over ranks (%.2f rank-seconds%s):\n", job, total, how);
    double sum = 0;
    for (int s = 0; s < n; s++) {
        const int thread = threads > 0 && (s == decode || s == resample);
        if (!thread) sum += t[s];
        if (t[s] > 0)
            fprintf(f, "  %-26s %9.3f s  %5.1f%%%s\n", names[s], t[s], total > 0 ? 100 * t[s] / total : 0.0,
                    thread ? "  (prefetch threads)" : "");
    }
    fprintf(f, "  %-26s %9.3f s  %5.1f%%\n", "other", total - sum, total > 0 ? 100 * (total - sum) / total : 0.0);
}

/* one number from a file (a cgroup control file, a /proc line after `key`); -1 when absent or "max" */
static double read_number(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        if (key) {
            if (strncmp(line, key, strlen(key))) continue;
            p += strlen(key);
        }
        char *end;
        errno = 0;
        const double x = strtod(p, &end);
        if (end != p && !errno) v = x;
        break;
    }
    fclose(f);
    return v;
}

double util_mem_available(void)
{
    const char *hook = getenv("ARTISTNET_TEST_MEM_AVAILABLE_MB");
    if (hook && *hook) return atof(hook) * 1048576.0;
    double avail = read_number("/proc/meminfo", "MemAvailable:"); /* kB */
    avail = avail >= 0 ? avail * 1024.0 : 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) { /* "0::/path" (v2) or "N:...memory...:/path" (v1) */
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const int v2 = !strcmp(line, "0") && c1[1] == 0, v1 = strstr(c1 + 1, "memory") != NULL;
        if (!v2 && !v1) continue;
        char lim[4400], cur[4400];
        snprintf(lim, sizeof lim, v2 ? "/sys/fs/cgroup%s/memory.max" : "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", c2 + 1);
        snprintf(cur, sizeof cur, v2 ? "/sys/fs/cgroup%s/memory.current" : "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", c2 + 1);
        const double l = read_number(lim, NULL), u = read_number(cur, NULL);
        if (l > 0 && u >= 0 && l < 1e18) { /* v1 reports "no limit" as a huge number */
            const double left = l > u ? l - u : 0;
            if (avail <= 0 || left < avail) avail = left;
        }
    }
    if (f) fclose(f);
    return avail;
}

void *util_alloc_large(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge) return malloc(bytes ? bytes : 1);
    const size_t len = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, len);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: without THP, ordinary pages */
#endif
    return p;
}
