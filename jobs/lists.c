/* lists.c - `artistnet lists SUBVERB`: track-list tools.
 *   lists msd-split --split FILE --paths MAP [--artists N] --out list.tsv
 *     The authors' Million Song Dataset artist split (jongpillee/ismir2018-artist: one line per song,
 *     `7digital_id/artist_index/song_index`; 20 songs per artist, songs 1-15 train, 16-18 validation,
 *     19-20 test; 0-based song indices 0-14/15-17/18-19 are recognised too) plus a map
 *     `7digital_id<TAB>audio path` (relative paths against the map's folder) -> a track list with
 *     columns `path id artist split`, for the first N artists in file order. Songs without audio in
 *     the map are left out and counted. Separators '/', tab, space or comma are accepted.
 *   lists folds --list L --label COLUMN [--artist COLUMN] [--folds K] [--seed S] --out list.tsv
 *     adds (or replaces) a `fold` column: artist-filtered stratified k-fold (shard_folds_assign).
 * Rank 0 does the work (these are small text files); the result is agreed on every rank.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *id;
    char *path;
    int line;
} map_entry;

typedef struct {
    char *id;
    long artist, song;
    int line;
} split_entry;

static int cmp_map(const void *a, const void *b)
{
    return strcmp(((const map_entry *)a)->id, ((const map_entry *)b)->id);
}

static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* next line (CR stripped) or NULL; *p advances */
static char *next_line(char **p, char *end, int *lineno)
{
    if (*p >= end) return NULL;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    *e = 0;
    if (e > s && e[-1] == '\r') e[-1] = 0;
    (*lineno)++;
    return s;
}

static int load_map(const char *file, map_entry **out, size_t *n_out, char *err, size_t errlen)
{
    size_t len;
    char *text = read_text(file, &len, err, errlen);
    if (!text) return UTIL_EINPUT;
    const char *slash = strrchr(file, '/');
    char dir[PATH_MAX] = ".";
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    char real[PATH_MAX];
    if (!realpath(dir, real)) snprintf(real, sizeof real, "%s", dir);
    size_t cap = 1024, n = 0;
    map_entry *m = malloc(cap * sizeof *m);
    char *p = text, *end = text + len, *line;
    int lineno = 0, rc = UTIL_OK;
    while (m && (line = next_line(&p, end, &lineno))) {
        if (!line[0] || line[0] == '#') continue;
        if (!util_utf8_valid(line, strlen(line))) { rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: invalid UTF-8", file, lineno); break; }
        char *tab = strchr(line, '\t');
        if (!tab || !tab[1] || tab == line) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: expected 7digital_id<TAB>audio path", file, lineno);
            break;
        }
        *tab = 0;
        const char *path = tab + 1;
        if (n == cap) {
            map_entry *nm = realloc(m, 2 * cap * sizeof *nm);
            if (!nm) break;
            m = nm;
            cap *= 2;
        }
        size_t pl = strlen(real) + strlen(path) + 2;
        m[n].id = util_strdup(line);
        m[n].path = malloc(pl);
        if (m[n].path) {
            if (path[0] == '/') snprintf(m[n].path, pl, "%s", path);
            else snprintf(m[n].path, pl, "%s/%s", real, path);
        }
        m[n].line = lineno;
        n++;
    }
    free(text);
    if (!m && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file);
    if (m) qsort(m, n, sizeof *m, cmp_map);
    for (size_t i = 1; !rc && i < n; i++)
        if (!strcmp(m[i].id, m[i - 1].id)) {
            int a = m[i].line < m[i - 1].line ? m[i].line : m[i - 1].line;
            int b = m[i].line < m[i - 1].line ? m[i - 1].line : m[i].line;
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: duplicate 7digital id '%s' (also on line %d)", file, b, m[i].id, a);
        }
    *out = m;
    *n_out = n;
    return rc;
}

static void free_map(map_entry *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free(m[i].id);
        free(m[i].path);
    }
    free(m);
}

static int load_split(const char *file, split_entry **out, size_t *n_out, char *err, size_t errlen)
{
    size_t len;
    char *text = read_text(file, &len, err, errlen);
    if (!text) return UTIL_EINPUT;
    size_t cap = 1024, n = 0;
    split_entry *s = malloc(cap * sizeof *s);
    char *p = text, *end = text + len, *line;
    int lineno = 0, rc = UTIL_OK;
    while (s && (line = next_line(&p, end, &lineno))) {
        if (!line[0] || line[0] == '#') continue;
        char *f[4];
        int nf = 0;
        for (char *tok = strtok(line, "/\t ,"); tok && nf < 4; tok = strtok(NULL, "/\t ,")) f[nf++] = tok;
        long a, g;
        if (nf != 3 || util_parse_long(f[1], 0, LONG_MAX, &a) || util_parse_long(f[2], 0, 1000000, &g)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: expected 7digital_id/artist_index/song_index", file, lineno);
            break;
        }
        if (n == cap) {
            split_entry *ns = realloc(s, 2 * cap * sizeof *ns);
            if (!ns) break;
            s = ns;
            cap *= 2;
        }
        s[n++] = (split_entry){util_strdup(f[0]), a, g, lineno};
    }
    free(text);
    if (!s && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file);
    if (!rc && n == 0) rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: empty split file", file, lineno > 0 ? lineno : 1);
    *out = s;
    *n_out = n;
    return rc;
}

/* song index -> split: 1-15 train, 16-18 valid, 19-20 (and beyond) test; zero-based shifts by one */
static int msd_split_of(long song, int zero_based)
{
    long k = zero_based ? song + 1 : song;
    return k <= 15 ? SHARD_TRAIN : k <= 18 ? SHARD_VALID : SHARD_TEST;
}

static int msd_split(int argc, char **argv, char *err, size_t errlen, int quiet_default)
{
    const char *split_path, *map_path, *out_path;
    int n_artists, quiet;
    util_opt opts[] = {
        {"split", UTIL_OPT_STRING, &split_path, "", "the authors' split file: 7digital_id/artist_index/song_index per line", 0, 0, 1},
        {"paths", UTIL_OPT_STRING, &map_path, "", "map: 7digital_id<TAB>audio path per line", 0, 0, 1},
        {"artists", UTIL_OPT_INT, &n_artists, "0", "keep the first N artists in file order (0: all)", 0, 100000000, 0},
        {"out", UTIL_OPT_STRING, &out_path, "", "output track list (path id artist split)", 0, 0, 1},
        {"quiet", UTIL_OPT_FLAG, &quiet, NULL, "no summary", 0, 0, 0},
        {0}};
    int rc = util_opts_parse("lists msd-split", "the authors' MSD artist split + an audio path map -> a track list", opts,
                             argc, argv, err, errlen);
    if (rc) return rc;
    quiet |= quiet_default;
    map_entry *map = NULL;
    split_entry *sp = NULL;
    size_t n_map = 0, n_sp = 0;
    rc = load_split(split_path, &sp, &n_sp, err, errlen);
    if (!rc) rc = load_map(map_path, &map, &n_map, err, errlen);
    FILE *out = NULL;
    long *seen = NULL;
    if (!rc) {
        int zero_based = 0;
        for (size_t i = 0; i < n_sp; i++)
            if (sp[i].song == 0) zero_based = 1;
        /* artists in order of first appearance; duplicates of a 7digital id are errors */
        map_entry *ids = malloc(n_sp * sizeof *ids);
        for (size_t i = 0; ids && i < n_sp; i++) ids[i] = (map_entry){sp[i].id, NULL, sp[i].line};
        if (ids) qsort(ids, n_sp, sizeof *ids, cmp_map);
        for (size_t i = 1; ids && !rc && i < n_sp; i++)
            if (!strcmp(ids[i].id, ids[i - 1].id)) {
                int a = ids[i].line < ids[i - 1].line ? ids[i].line : ids[i - 1].line;
                int b = ids[i].line < ids[i - 1].line ? ids[i - 1].line : ids[i].line;
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: 7digital id '%s' listed twice (also on line %d)", split_path, b,
                               ids[i].id, a);
            }
        free(ids);
        seen = malloc(n_sp * sizeof *seen);
        size_t n_seen = 0;
        if (!rc && !(out = fopen(out_path, "w"))) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", out_path, strerror(errno));
        if (!rc) fprintf(out, "path\tid\tartist\tsplit\n");
        size_t written = 0, missing = 0, counts[3] = {0, 0, 0};
        for (size_t i = 0; !rc && seen && i < n_sp; i++) {
            size_t a = 0;
            while (a < n_seen && seen[a] != sp[i].artist) a++;
            if (a == n_seen) {
                if (n_artists > 0 && n_seen == (size_t)n_artists) continue;
                seen[n_seen++] = sp[i].artist;
            }
            map_entry key = {sp[i].id, NULL, 0};
            map_entry *m = bsearch(&key, map, n_map, sizeof *map, cmp_map);
            if (!m) {
                missing++;
                continue;
            }
            int s = msd_split_of(sp[i].song, zero_based);
            counts[s]++;
            fprintf(out, "%s\t%s\t%ld\t%s\n", m->path, sp[i].id, sp[i].artist, shard_split_names[s]);
            written++;
        }
        if (out && fclose(out) && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write error", out_path);
        if (!rc && written == 0)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: none of the split's songs has a path in %s", map_path, map_path);
        if (!rc && !quiet)
            fprintf(stderr, "lists msd-split: %zu artists, %zu tracks (%zu train, %zu valid, %zu test) -> %s; %zu songs without audio in %s\n",
                    n_seen, written, counts[0], counts[1], counts[2], out_path, missing, map_path);
    }
    free(seen);
    free_map(map, n_map);
    for (size_t i = 0; sp && i < n_sp; i++) free(sp[i].id);
    free(sp);
    return rc;
}

static int folds(int argc, char **argv, char *err, size_t errlen)
{
    const char *list_path, *label, *artist, *out_path;
    int k, seed;
    util_opt opts[] = {
        {"list", UTIL_OPT_STRING, &list_path, "", "track list", 0, 0, 1},
        {"label", UTIL_OPT_STRING, &label, "label", "column to stratify on", 0, 0, 0},
        {"artist", UTIL_OPT_STRING, &artist, "artist", "artist column (no artist in two folds); absent: per track", 0, 0, 0},
        {"folds", UTIL_OPT_INT, &k, "3", "number of folds", 2, 1000, 0},
        {"seed", UTIL_OPT_INT, &seed, "1", "seed for ties", 0, 2147483647, 0},
        {"out", UTIL_OPT_STRING, &out_path, "", "output track list with a fold column (0-based)", 0, 0, 1},
        {0}};
    int rc = util_opts_parse("lists folds", "add an artist-filtered stratified fold column to a track list", opts, argc, argv,
                             err, errlen);
    if (rc) return rc;
    shard_list l;
    rc = shard_list_load(list_path, &l, err, errlen);
    if (rc) return rc;
    shard_labels lab = {0}, art = {0};
    rc = shard_labels_from_list(&l, label, &lab, err, errlen);
    int have_artist = shard_list_column(&l, artist) >= 0;
    if (!rc && have_artist) rc = shard_labels_from_list(&l, artist, &art, err, errlen);
    int *fold = malloc(l.n * sizeof *fold);
    if (!rc && !fold) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    if (!rc) rc = shard_folds_assign(have_artist ? art.index : NULL, lab.index, l.n, k, (uint64_t)seed, SHARD_FOLDS_LIST, fold, err, errlen);
    FILE *out = NULL;
    if (!rc && !(out = fopen(out_path, "w"))) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", out_path, strerror(errno));
    int fc = shard_list_column(&l, "fold");
    if (!rc) {
        fprintf(out, "path\tid");
        for (int c = 0; c < l.n_cols; c++)
            if (c != fc) fprintf(out, "\t%s", l.col_names[c]);
        fprintf(out, "\tfold\n");
        for (size_t i = 0; i < l.n; i++) {
            /* paths as resolved, so the new list works from any folder */
            fprintf(out, "%s\t%s", l.paths[i], l.ids[i]);
            for (int c = 0; c < l.n_cols; c++)
                if (c != fc) fprintf(out, "\t%s", shard_list_cell(&l, i, c));
            fprintf(out, "\t%d\n", fold[i]);
        }
        if (fclose(out)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write error", out_path);
    }
    free(fold);
    shard_labels_free(&lab);
    shard_labels_free(&art);
    shard_list_free(&l);
    return rc;
}

int job_lists_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *usage = "usage: artistnet lists msd-split|folds [options]   (artistnet lists SUBVERB --help)\n"
                        "  msd-split   the authors' MSD artist split + a 7digital_id<TAB>path map -> track list (path id artist split)\n"
                        "  folds       add an artist-filtered stratified fold column to a track list\n";
    int rank = mpi_util_rank(comm);
    int rc;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (rank == 0) fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? util_fail(err, errlen, UTIL_EUSAGE, "lists: name a sub-verb (msd-split, folds)") : UTIL_HELP;
    }
    /* rank 0 works; the others wait for its code and message */
    if (rank == 0) {
        if (!strcmp(argv[1], "msd-split")) rc = msd_split(argc - 1, argv + 1, err, errlen, 0);
        else if (!strcmp(argv[1], "folds")) rc = folds(argc - 1, argv + 1, err, errlen);
        else rc = util_fail(err, errlen, UTIL_EUSAGE, "lists: unknown sub-verb '%s' (msd-split, folds)", argv[1]);
    } else {
        rc = UTIL_OK;
    }
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    if (code == UTIL_HELP) return UTIL_HELP;
    return mpi_util_agree(comm, rank == 0 ? rc : UTIL_OK, err, errlen) ? code : UTIL_OK;
}
