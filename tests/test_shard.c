/* test_shard.c - track list formats (TSV, MIREX one/two columns, comments, CRLF, BOM, UTF-8 paths
 * with spaces, relative paths), every malformed-list error with its message text, label maps,
 * per-artist splits, artist-filtered stratified folds and static ranges. */
#include "testutil.h"
#include "shard/shard.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[UTIL_ERRLEN];

static int parse(const char *file, const char *text, shard_list *l)
{
    err[0] = 0;
    return shard_list_parse(file, text, strlen(text), l, err, sizeof err);
}

/* the list must fail with UTIL_EINPUT and exactly this message */
static void expect_error(const char *text, const char *msg)
{
    shard_list l;
    int rc = parse("dir/l.tsv", text, &l);
    CHECK_MSG(rc == UTIL_EINPUT, "rc %d for list giving '%s'", rc, msg);
    CHECK_MSG(!strcmp(err, msg), "got '%s', want '%s'", err, msg);
    CHECK(l.n == 0 && l.paths == NULL);
}

static void test_formats(void)
{
    shard_list l;
    /* TSV: comments, blank lines, CRLF, BOM, UTF-8 path with spaces, absolute and relative paths */
    const char *tsv = "\xEF\xBB\xBF# a comment\r\n"
                      "path\tartist\tid\tgenre\r\n"
                      "\r\n"
                      "a/b c.wav\tQueen\tq1\trock\r\n"
                      "# another\n"
                      "   \n"
                      "/abs/Bj\xC3\xB6rk song.flac\tBj\xC3\xB6rk\tb1\tpop\n"
                      "x.mp3\tQueen\tq2\t\n";
    CHECK(parse("lists/my.tsv", tsv, &l) == 0);
    CHECK(l.n == 3 && l.n_cols == 2 && !l.mirex);
    CHECK(!strcmp(l.col_names[0], "artist") && !strcmp(l.col_names[1], "genre"));
    CHECK(!strcmp(l.paths[0], "lists/a/b c.wav") && !strcmp(l.raw_paths[0], "a/b c.wav"));
    CHECK(!strcmp(l.paths[1], "/abs/Bj\xC3\xB6rk song.flac"));
    CHECK(!strcmp(l.ids[0], "q1") && !strcmp(l.ids[2], "q2"));
    CHECK(!strcmp(shard_list_cell(&l, 1, 0), "Bj\xC3\xB6rk") && !strcmp(shard_list_cell(&l, 2, 1), ""));
    CHECK(l.lines[0] == 4 && l.lines[1] == 7 && l.lines[2] == 8);
    CHECK(shard_list_column(&l, "genre") == 1 && shard_list_column(&l, "path") == -1);
    shard_list_free(&l);

    /* TSV without id: id = path as written; list in the current folder keeps paths as written */
    CHECK(parse("l.tsv", "label\tpath\nsad\tm 1.wav\nhappy\tm2.wav", &l) == 0);
    CHECK(l.n == 2 && !strcmp(l.ids[0], "m 1.wav") && !strcmp(l.paths[1], "m2.wav"));
    CHECK(l.n_cols == 1 && !strcmp(l.col_names[0], "label") && !strcmp(shard_list_cell(&l, 0, 0), "sad"));
    shard_list_free(&l);

    /* MIREX: one column of paths */
    CHECK(parse("m/ext.txt", "/data/a.wav\n# c\nb.wav\r\n\n", &l) == 0);
    CHECK(l.mirex == 1 && l.n == 2 && l.n_cols == 0);
    CHECK(!strcmp(l.paths[0], "/data/a.wav") && !strcmp(l.paths[1], "m/b.wav") && !strcmp(l.ids[1], "b.wav"));
    shard_list_free(&l);

    /* MIREX: path<TAB>label */
    CHECK(parse("train.txt", "/d/a b.wav\tjazz\n/d/c.wav\tblues\n", &l) == 0);
    CHECK(l.mirex == 1 && l.n == 2 && l.n_cols == 1 && !strcmp(l.col_names[0], "label"));
    CHECK(!strcmp(shard_list_cell(&l, 1, 0), "blues") && !strcmp(l.paths[0], "/d/a b.wav"));
    shard_list_free(&l);

    /* a one-field line that is a path named like a column is still MIREX if it has a slash */
    CHECK(parse("t.txt", "x/label\n", &l) == 0 && l.mirex && l.n == 1);
    shard_list_free(&l);

    /* load from disk, with the file hash */
    char dir[] = "/tmp/an_shard_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[256];
    snprintf(file, sizeof file, "%s/list.tsv", dir);
    FILE *f = fopen(file, "w");
    fputs("path\tid\nsong.wav\ts\n", f);
    fclose(f);
    CHECK(shard_list_load(file, &l, err, sizeof err) == 0);
    char want[300];
    snprintf(want, sizeof want, "%s/song.wav", dir);
    CHECK(l.n == 1 && !strcmp(l.paths[0], want));
    CHECK(l.hash == util_fnv1a(UTIL_FNV_INIT, "path\tid\nsong.wav\ts\n", 19));
    shard_list_free(&l);
    unlink(file);
    rmdir(dir);
    CHECK(shard_list_load("/nonexistent/l.tsv", &l, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(!strcmp(err, "/nonexistent/l.tsv: cannot open track list: No such file or directory"), "%s", err);
}

static void test_errors(void)
{
    expect_error("id\tartist\tgenre\na\tb\tc\n",
                 "dir/l.tsv:1: the header has no 'path' column (a track list needs one; a MIREX list without "
                 "header has 1 or 2 columns: path[<TAB>label])");
    expect_error("# only\nid\tlabel\na\tb\n",
                 "dir/l.tsv:2: the header has no 'path' column (a track list needs one; a MIREX list without "
                 "header has 1 or 2 columns: path[<TAB>label])");
    expect_error("path\tid\tartist\na.wav\ta\tx\n\nb.wav\tb\n", "dir/l.tsv:4: 2 columns, but the header (line 1) has 3");
    expect_error("path\tid\na.wav\ta\tEXTRA\n", "dir/l.tsv:2: 3 columns, but the header (line 1) has 2");
    expect_error("a.wav\tjazz\nb.wav\n", "dir/l.tsv:2: 1 columns, but this MIREX list has 2 (line 1)");
    expect_error("path\tid\na.wav\tx\nb.wav\ty\nc.wav\tx\nd.wav\ty\n", "dir/l.tsv:4: duplicate id 'x' (also on line 2)");
    expect_error("a.wav\nb.wav\na.wav\n", "dir/l.tsv:3: duplicate id 'a.wav' (also on line 1)");
    expect_error("", "dir/l.tsv:1: empty list (no tracks)");
    expect_error("path\tid\n# nothing\n\n", "dir/l.tsv:3: empty list (no tracks)");
    expect_error("path\n\xC3\x28.wav\n", "dir/l.tsv:2: invalid UTF-8");
    expect_error("path\tid\na.wav\ta\n\xFF\n", "dir/l.tsv:3: invalid UTF-8");
    expect_error("path\tid\n\tx\n", "dir/l.tsv:2: empty path");
    expect_error("path\tid\na.wav\t\n", "dir/l.tsv:2: empty id");
    expect_error("path\tgenre\tgenre\n", "dir/l.tsv:1: header names column 'genre' twice");
    expect_error("path\t\tx\n", "dir/l.tsv:1: header column 2 has no name");
    shard_list l;
    CHECK(shard_list_parse("dir/l.tsv", "path\na\0b\n", 8, &l, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(!strcmp(err, "dir/l.tsv:2: NUL byte in the line (binary file?)"), "%s", err);
}

static void test_labels(void)
{
    const char *v[] = {"rock", "jazz", "", "rock", "blues", "jazz"};
    shard_labels m;
    CHECK(shard_labels_make(v, 6, &m, err, sizeof err) == 0);
    CHECK(m.n == 3 && !strcmp(m.names[0], "blues") && !strcmp(m.names[1], "jazz") && !strcmp(m.names[2], "rock"));
    int want[] = {2, 1, -1, 2, 0, 1};
    for (int i = 0; i < 6; i++) CHECK(m.index[i] == want[i]);
    CHECK(shard_labels_find(&m, "jazz") == 1 && shard_labels_find(&m, "pop") == -1);
    shard_labels_free(&m);
    /* the same set in another order gives the same map */
    const char *w[] = {"blues", "rock", "jazz"};
    CHECK(shard_labels_make(w, 3, &m, err, sizeof err) == 0);
    CHECK(m.n == 3 && !strcmp(m.names[0], "blues") && m.index[1] == 2);
    shard_labels_free(&m);
    shard_list l;
    CHECK(parse("l.tsv", "path\tartist\na\tB\nb\tA\nc\tB\n", &l) == 0);
    CHECK(shard_labels_from_list(&l, "artist", &m, err, sizeof err) == 0);
    CHECK(m.n == 2 && m.index[0] == 1 && m.index[1] == 0 && m.index[2] == 1);
    shard_labels_free(&m);
    CHECK(shard_labels_from_list(&l, "genre", &m, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(!strcmp(err, "l.tsv: no column 'genre' in the track list"), "%s", err);
    shard_list_free(&l);
}

static void test_split(void)
{
    enum { A = 7, S = 20, N = A * S };
    int artist[N], split[N], split2[N];
    /* rows interleaved across artists */
    for (int i = 0; i < N; i++) artist[i] = i % A;
    double frac[3] = {15, 3, 2};
    CHECK(shard_split_by_artist(artist, N, frac, 42, split, err, sizeof err) == 0);
    for (int a = 0; a < A; a++) {
        int c[3] = {0, 0, 0};
        for (int i = 0; i < N; i++)
            if (artist[i] == a) c[split[i]]++;
        CHECK_MSG(c[0] == 15 && c[1] == 3 && c[2] == 2, "artist %d: %d/%d/%d", a, c[0], c[1], c[2]);
    }
    CHECK(shard_split_by_artist(artist, N, frac, 42, split2, err, sizeof err) == 0);
    CHECK(!memcmp(split, split2, sizeof split));
    CHECK(shard_split_by_artist(artist, N, frac, 43, split2, err, sizeof err) == 0);
    CHECK(memcmp(split, split2, sizeof split) != 0);
    /* an artist's assignment does not depend on the other artists */
    int sub[N], subsplit[N], m = 0;
    for (int i = 0; i < N; i++)
        if (artist[i] < 3) sub[m++] = artist[i];
    CHECK(shard_split_by_artist(sub, (size_t)m, frac, 42, subsplit, err, sizeof err) == 0);
    for (int i = 0, j = 0; i < N; i++)
        if (artist[i] < 3) CHECK(subsplit[j++] == split[i]);
    /* small artists: 3 songs at 0.8/0.1/0.1 -> 3/0/0 (largest remainder, train first on ties) */
    int a3[3] = {0, 0, 0}, s3[3];
    double f2[3] = {0.8, 0.1, 0.1};
    CHECK(shard_split_by_artist(a3, 3, f2, 1, s3, err, sizeof err) == 0);
    CHECK(s3[0] == 0 && s3[1] == 0 && s3[2] == 0);
    double bad[3] = {0, 0, 0};
    CHECK(shard_split_by_artist(a3, 3, bad, 1, s3, err, sizeof err) == UTIL_EUSAGE);
}

static void test_folds(void)
{
    /* 30 artists with 1..6 tracks, each artist one genre of 3 */
    enum { MAXN = 400 };
    int artist[MAXN], label[MAXN], fold[MAXN], fold2[MAXN];
    int n = 0;
    for (int a = 0; a < 30; a++)
        for (int s = 0; s < 1 + (a * 7) % 6; s++) {
            artist[n] = a;
            label[n] = a % 3;
            n++;
        }
    int k = 3;
    CHECK(shard_folds_assign(artist, label, (size_t)n, k, 7, SHARD_FOLDS_LIST, fold, err, sizeof err) == 0);
    /* no artist in two folds */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (artist[i] == artist[j]) CHECK(fold[i] == fold[j]);
    /* per class, folds within 2 tracks of each other (max artist size is 6) */
    for (int c = 0; c < 3; c++) {
        int cnt[3] = {0, 0, 0};
        for (int i = 0; i < n; i++)
            if (label[i] == c) cnt[fold[i]]++;
        int lo = cnt[0], hi = cnt[0];
        for (int f = 1; f < k; f++) {
            if (cnt[f] < lo) lo = cnt[f];
            if (cnt[f] > hi) hi = cnt[f];
        }
        CHECK_MSG(hi - lo <= 2, "class %d: fold counts %d %d %d", c, cnt[0], cnt[1], cnt[2]);
    }
    CHECK(shard_folds_assign(artist, label, (size_t)n, k, 7, SHARD_FOLDS_LIST, fold2, err, sizeof err) == 0);
    CHECK(!memcmp(fold, fold2, sizeof(int) * (size_t)n));
    /* no artists: each row its own group, perfectly stratified */
    CHECK(shard_folds_assign(NULL, label, 90, 3, 1, SHARD_FOLDS_LIST, fold, err, sizeof err) == 0);
    for (int c = 0; c < 3; c++) {
        int cnt[3] = {0, 0, 0};
        for (int i = 0; i < 90; i++)
            if (label[i] == c) cnt[fold[i]]++;
        CHECK_MSG(cnt[0] == cnt[1] && cnt[1] == cnt[2], "class %d: %d %d %d", c, cnt[0], cnt[1], cnt[2]);
    }
    /* every fold gets a group even when one artist dominates */
    int big_a[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, big_l[12] = {0};
    CHECK(shard_folds_assign(big_a, big_l, 12, 4, 3, SHARD_FOLDS_LIST, fold, err, sizeof err) == 0);
    int used[4] = {0};
    for (int i = 0; i < 12; i++) used[fold[i]] = 1;
    CHECK(used[0] && used[1] && used[2] && used[3]);
    CHECK(shard_folds_assign(big_a, big_l, 12, 5, 3, SHARD_FOLDS_LIST, fold, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(!strcmp(err, "folds: 4 artists (groups) cannot fill 5 folds"), "%s", err);
}

static void test_range(void)
{
    size_t lo, hi, next = 0;
    for (int p = 0; p < 3; p++) {
        shard_range(10, p, 3, &lo, &hi);
        CHECK(lo == next && hi - lo == (p == 0 ? 4u : 3u));
        next = hi;
    }
    CHECK(next == 10);
    shard_range(2, 2, 3, &lo, &hi);
    CHECK(lo == 2 && hi == 2);
}

int main(void)
{
    test_formats();
    test_errors();
    test_labels();
    test_split();
    test_folds();
    test_range();
    return test_done("test_shard");
}
