/* page.c - the report module's page (report_write): one self-contained HTML page about a pipeline run folder (the layout
 * jobs/pipeline.c writes): at a glance, training curves, stage times and throughput (and per-rank
 * load where the files record it), per task label the accuracy per fold of each feature set with
 * mean +- std, confusion heat maps and per-class F1, the task clips projected on the first two LDA
 * directions, the failure table, and the files' attributes. Every missing piece becomes a
 * "not available" note, never an error; only an unreadable --run folder or an unwritable --out fail.
 *
 * Charts are SVG written by this program (report/svg.c says why not gnuplot). Each chart is a
 * standalone SVG document embedded as <img src="data:image/svg+xml;base64,...">, not inline <svg>:
 * the page then parses cleanly with libxml2's HTML parser (`xmllint --html`, HTML 4: it rejects
 * <svg> and the HTML5 sectioning tags, so the page uses <div>s), is well-formed XML as well, and
 * still needs no network, no JavaScript and no second file. Serial: `artistnet report` (jobs/report.c)
 * calls it on rank 0. */
#include "report/report.h"
#include "report/report_internal.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RP_MAX_LABELS 16
#define RP_MAX_SETS 8
#define RP_PATH 4096

enum { F_MELS, F_MODEL, F_TRAIN, F_TASK, F_BASE, F_PRE, F_LDA, F_N };
static const char *const file_names[F_N] = {"mels.h5",          "model.h5",        "train_features.h5", "task_features.h5",
                                            "task_baseline.h5", "task_pretrained.h5", "lda.h5"};

/* feature sets in display order (evaluate folder names written by the pipeline), then any other */
static const char *const known_sets[4] = {"dcnn", "dcnn-lda", "logmel-baseline", "pretrained"};
static const char *const known_titles[4] = {"DCNN (artist features)", "DCNN + LDA", "log-mel baseline", "pretrained (authors')"};

typedef struct {
    const char *run, *out, *title;
    report_buf h; /* the page */
    report_tsv pipe, curves;
    int have_pipe, have_curves;
    report_h5_info f[F_N];
    int n_labels, n_sets;
    char label[RP_MAX_LABELS][128], set[RP_MAX_SETS][128];
    json_t *res[RP_MAX_LABELS][RP_MAX_SETS]; /* results.json of eval/<label>/<set>/ (jansson) */
    int have[RP_MAX_LABELS][RP_MAX_SETS];
    char notes[4096]; /* problems met while reading (shown in Run details) */
} report_ctx;

/* ---- small helpers ---- */
/* a number or a string of a results.json value, def when absent or of another type */
static double jnum(const json_t *v, double def) { return json_is_number(v) ? json_number_value(v) : def; }
static const char *jstr(const json_t *v, const char *def) { return json_is_string(v) ? json_string_value(v) : def; }
/* items of an array or object, 0 otherwise */
static int jlen(const json_t *v)
{
    return (int)(json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0);
}

static void note(report_ctx *c, const char *msg)
{
    size_t n = strlen(c->notes);
    snprintf(c->notes + n, sizeof c->notes - n, "%s%s", n ? "\n" : "", msg);
}

static const char *set_title(const char *set)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(set, known_sets[i])) return known_titles[i];
    return set;
}

static void esc(report_ctx *c, const char *s) { report_buf_esc(&c->h, s); }

#define OUT(...) report_buf_printf(&c->h, __VA_ARGS__)

static void na(report_ctx *c, const char *what)
{
    OUT("<p class=\"na\">Not available: ");
    esc(c, what);
    OUT("</p>\n");
}

/* an SVG document -> <img> with a data: URI; frees svg. The long src comes before alt: libxml2's HTML
 * parser (2.9.14, xmllint --html) reports "error parsing attribute name" when the "/" of "/>" right
 * after a long attribute value falls on its 4,000-byte input boundary (a value of 7,879 + 4,000 k
 * bytes in a test page; never with alt after it, in 16,000 lengths tried). Browsers do not care; the
 * report's own test validates with libxml2. */
static void figure(report_ctx *c, report_buf *svg, const char *alt)
{
    OUT("<div class=\"fig\"><img src=\"data:image/svg+xml;base64,");
    if (svg->s) report_buf_base64(&c->h, svg->s, svg->n);
    OUT("\" alt=\"");
    esc(c, alt);
    OUT("\"/></div>\n");
    if (svg->oom) c->h.oom = 1;
    report_buf_free(svg);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static double parse_num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == 0 ? v : NAN;
}

static void underscores_to_spaces(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s);
    for (char *p = dst; *p; p++)
        if (*p == '_') *p = ' ';
}

/* ---- reading the run folder ---- */
static void load_eval(report_ctx *c)
{
    char p[RP_PATH + 600];
    snprintf(p, sizeof p, "%s/eval", c->run);
    DIR *d = opendir(p);
    if (!d) return;
    char *labels[RP_MAX_LABELS];
    int nl = 0;
    for (struct dirent *e; (e = readdir(d)) && nl < RP_MAX_LABELS;) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= 128) continue;
        snprintf(p, sizeof p, "%s/eval/%s", c->run, e->d_name);
        if (is_dir(p)) labels[nl++] = util_strdup(e->d_name);
    }
    closedir(d);
    qsort(labels, (size_t)nl, sizeof *labels, cmp_str);
    /* the union of the feature sets over labels: known ones in order, then others sorted */
    char *other[RP_MAX_SETS];
    int no = 0;
    for (int l = 0; l < nl; l++) {
        snprintf(p, sizeof p, "%s/eval/%s", c->run, labels[l]);
        d = opendir(p);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] == '.' || strlen(e->d_name) >= 128) continue;
            int known = 0, dup = 0;
            for (int i = 0; i < 4; i++) known |= !strcmp(e->d_name, known_sets[i]);
            for (int i = 0; i < no; i++) dup |= !strcmp(e->d_name, other[i]);
            char q[RP_PATH + 800];
            snprintf(q, sizeof q, "%s/%s/results.json", p, e->d_name);
            if (!known && !dup && no < RP_MAX_SETS - 4 && is_file(q)) other[no++] = util_strdup(e->d_name);
        }
        if (d) closedir(d);
    }
    qsort(other, (size_t)no, sizeof *other, cmp_str);
    const char *cand[RP_MAX_SETS];
    int nc = 0;
    for (int i = 0; i < 4; i++) cand[nc++] = known_sets[i];
    for (int i = 0; i < no; i++) cand[nc++] = other[i];
    for (int s = 0; s < nc; s++) {
        int any = 0;
        for (int l = 0; l < nl && !any; l++) {
            snprintf(p, sizeof p, "%s/eval/%s/%s/results.json", c->run, labels[l], cand[s]);
            any = is_file(p);
        }
        if (any) snprintf(c->set[c->n_sets++], 128, "%s", cand[s]);
    }
    for (int l = 0; l < nl; l++) {
        int any = 0;
        for (int s = 0; s < c->n_sets; s++) {
            char e[UTIL_ERRLEN];
            snprintf(p, sizeof p, "%s/eval/%s/%s/results.json", c->run, labels[l], c->set[s]);
            if (!is_file(p)) continue;
            json_error_t je;
            c->res[c->n_labels][s] = json_load_file(p, 0, &je);
            if (!c->res[c->n_labels][s]) {
                util_fail(e, sizeof e, UTIL_EINPUT, "%s:%d: %s", p, je.line, je.text);
                note(c, e);
                continue;
            }
            c->have[c->n_labels][s] = 1;
            any = 1;
        }
        if (any) snprintf(c->label[c->n_labels++], 128, "%s", labels[l]);
        else
            for (int s = 0; s < c->n_sets; s++) {
                json_decref(c->res[c->n_labels][s]);
                c->res[c->n_labels][s] = NULL;
            }
    }
    for (int l = 0; l < nl; l++) free(labels[l]);
    for (int i = 0; i < no; i++) free(other[i]);
}

static void load_run(report_ctx *c)
{
    char p[RP_PATH + 64], e[UTIL_ERRLEN];
    snprintf(p, sizeof p, "%s/pipeline.tsv", c->run);
    if (is_file(p)) {
        if (report_tsv_load(p, &c->pipe, e, sizeof e)) note(c, e);
        else c->have_pipe = 1;
    }
    snprintf(p, sizeof p, "%s/curves.tsv", c->run);
    if (is_file(p)) {
        if (report_tsv_load(p, &c->curves, e, sizeof e)) note(c, e);
        else c->have_curves = 1;
    }
    for (int i = 0; i < F_N; i++) {
        snprintf(p, sizeof p, "%s/%s", c->run, file_names[i]);
        if (report_h5_info_load(p, &c->f[i], e, sizeof e)) note(c, e);
    }
    load_eval(c);
}

static void free_run(report_ctx *c)
{
    report_tsv_free(&c->pipe);
    report_tsv_free(&c->curves);
    for (int i = 0; i < F_N; i++) report_h5_info_free(&c->f[i]);
    for (int l = 0; l < RP_MAX_LABELS; l++)
        for (int s = 0; s < RP_MAX_SETS; s++) json_decref(c->res[l][s]);
    report_buf_free(&c->h);
}

static long failed_rows(const report_h5_info *h)
{
    long n = 0;
    for (long r = 0; h->status && r < h->n_rows; r++) n += h->status[r] != 0;
    return n;
}

static double attr_num(const report_h5_info *h, const char *name)
{
    const report_h5_attr *a = report_h5_info_attr(h, name);
    return a && a->v && a->n == 1 ? a->v[0] : NAN;
}

/* ---- page frame ---- */
static const char *css =
    "body{margin:0;background:#f4f5f7;color:#24292f;font:15px/1.5 'DejaVu Sans',system-ui,-apple-system,'Segoe UI',"
    "Helvetica,Arial,sans-serif}\n"
    ".page{max-width:1140px;margin:0 auto;padding:28px 24px 48px}\n"
    "h1{font-size:28px;margin:0 0 4px;font-weight:700;letter-spacing:-0.01em}\n"
    ".sub{color:#57606a;margin:0 0 18px;font-size:13px}\n"
    ".toc{font-size:13px;margin:0 0 18px}.toc a{color:#0a58ca;text-decoration:none;margin-right:14px}\n"
    ".card{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:18px 22px;margin:0 0 18px;"
    "box-shadow:0 1px 2px rgba(0,0,0,0.04)}\n"
    "h2{font-size:20px;margin:0 0 10px;padding-bottom:6px;border-bottom:2px solid #eef0f3}\n"
    "h3{font-size:15px;margin:16px 0 6px;color:#444c56}\n"
    "p{margin:6px 0}.na{color:#8b949e;font-style:italic}.small{font-size:12px;color:#57606a}\n"
    ".row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}\n"
    ".fig img{max-width:100%;height:auto;display:block;border-radius:6px}\n"
    ".tiles{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".tile{flex:1 1 170px;background:#f8fafc;border:1px solid #e6e9ee;border-radius:8px;padding:10px 14px}\n"
    ".tile .k{font-size:12px;text-transform:uppercase;letter-spacing:0.05em;color:#57606a}\n"
    ".tile .v{font-size:24px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}\n"
    ".tile .d{font-size:12px;color:#57606a}.tile .pm{font-size:15px;font-weight:600;color:#57606a}\n"
    ".up{color:#1a7f37;font-weight:600}.down{color:#cf222e;font-weight:600}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:4px 10px;border-bottom:1px solid #eaecef;text-align:left;vertical-align:top}\n"
    "th{background:#f6f8fa;font-weight:600;color:#444c56}td.n,th.n{text-align:right}\n"
    ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}\n"
    ".scroll{max-height:340px;overflow:auto;border:1px solid #eaecef;border-radius:6px}\n"
    "td.mono{max-width:460px;overflow-wrap:anywhere}\n"
    ".scroll table{margin:0}.err{color:#cf222e}.mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n";

static void section_open(report_ctx *c, const char *id, const char *title)
{
    OUT("<div class=\"card\" id=\"");
    esc(c, id);
    OUT("\">\n<h2>");
    esc(c, title);
    OUT("</h2>\n");
}

static void section_close(report_ctx *c) { OUT("</div>\n"); }

static void label_id(char *dst, size_t n, const char *label)
{
    snprintf(dst, n, "task-");
    size_t o = strlen(dst);
    for (const unsigned char *p = (const unsigned char *)label; *p && o + 1 < n; p++)
        dst[o++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? (char)*p : '-';
    dst[o] = 0;
}

/* ---- at a glance ---- */
/* "0.925" + a smaller "± 0.072" for the tiles */
static void tile_acc(report_ctx *c, const json_t *r)
{
    double m = jnum(json_object_get(r, "accuracy_mean"), NAN), s = jnum(json_object_get(r, "accuracy_std"), NAN);
    OUT("%.3f<span class=\"pm\"> \xc2\xb1 %.3f</span>", m, s);
}

static void acc_text(char *dst, size_t n, const json_t *r)
{
    double m = jnum(json_object_get(r, "accuracy_mean"), NAN), s = jnum(json_object_get(r, "accuracy_std"), NAN);
    snprintf(dst, n, "%.3f \xc2\xb1 %.3f", m, s);
}

static void section_glance(report_ctx *c)
{
    section_open(c, "glance", "At a glance");
    OUT("<div class=\"tiles\">\n");
    for (int l = 0; l < c->n_labels; l++) {
        int best = -1, base = -1;
        double bm = -1;
        for (int s = 0; s < c->n_sets; s++) {
            if (!c->have[l][s]) continue;
            double m = jnum(json_object_get(c->res[l][s], "accuracy_mean"), NAN);
            if (!strcmp(c->set[s], "logmel-baseline")) base = s;
            else if (m > bm) bm = m, best = s;
        }
        if (best < 0) best = base;
        if (best < 0) continue;
        char t[64];
        OUT("<div class=\"tile\"><div class=\"k\">");
        esc(c, c->label[l]);
        OUT(" accuracy</div><div class=\"v\">");
        tile_acc(c, c->res[l][best]);
        OUT("</div><div class=\"d\">");
        esc(c, set_title(c->set[best]));
        if (base >= 0 && base != best) {
            double mb = jnum(json_object_get(c->res[l][base], "accuracy_mean"), NAN);
            acc_text(t, sizeof t, c->res[l][base]);
            OUT("; log-mel baseline %s, <span class=\"%s\">%+.3f</span>", t, bm >= mb ? "up" : "down", bm - mb);
        }
        OUT("</div></div>\n");
    }
    if (c->have_pipe) {
        int cs = report_tsv_col(&c->pipe, "seconds");
        double tot = 0;
        for (long r = 0; cs >= 0 && r < c->pipe.n_rows; r++) {
            double v = parse_num(c->pipe.rows[r][cs]);
            if (isfinite(v)) tot += v;
        }
        OUT("<div class=\"tile\"><div class=\"k\">pipeline time</div><div class=\"v\">%.1f s</div><div class=\"d\">%ld stages"
            "</div></div>\n",
            tot, c->pipe.n_rows);
    }
    const report_h5_info *m = &c->f[F_MODEL];
    if (m->ok) {
        double ta = attr_num(m, "test_song_accuracy"), ts = attr_num(m, "test_accuracy"), na_ = attr_num(m, "n_classes"),
               ep = attr_num(m, "train_epochs_run");
        const char *which = "test";
        if (!isfinite(ta) && !isfinite(ts)) /* no final test pass recorded: show validation */
            ta = attr_num(m, "valid_song_accuracy"), ts = attr_num(m, "valid_accuracy"), which = "validation";
        OUT("<div class=\"tile\"><div class=\"k\">artist net (%s songs)</div><div class=\"v\">", which);
        if (isfinite(ta)) OUT("%.3f", ta);
        else if (isfinite(ts)) OUT("%.3f", ts);
        else OUT("&#8212;");
        OUT("</div><div class=\"d\">");
        if (isfinite(na_)) OUT("%.0f artists", na_);
        if (isfinite(ts)) OUT(", segment accuracy %.3f", ts);
        if (isfinite(ep)) OUT(", %.0f epochs", ep);
        const report_h5_attr *bn = report_h5_info_attr(m, "train_bn");
        if (bn && bn->text) { /* which statistics validation and the features used */
            double bs = attr_num(m, "train_bn_sample");
            OUT(", batch norm: ");
            report_buf_esc(&c->h, bn->text);
            if (isfinite(bs) && bs > 0) OUT(" (%.0f segments)", bs);
        }
        OUT("</div></div>\n");
    }
    long failed = 0;
    int any = 0;
    for (int i = 0; i < F_N; i++)
        if (c->f[i].ok && c->f[i].status) any = 1, failed += failed_rows(&c->f[i]);
    if (any) {
        OUT("<div class=\"tile\"><div class=\"k\">tracks and clips</div><div class=\"v\">");
        if (c->f[F_MELS].n_rows >= 0) OUT("%ld", c->f[F_MELS].n_rows);
        else OUT("&#8212;");
        if (c->f[F_TASK].n_rows >= 0) OUT(" + %ld", c->f[F_TASK].n_rows);
        OUT("</div><div class=\"d\">training tracks + task clips; <span class=\"%s\">%ld failed row%s</span> over all files"
            "</div></div>\n",
            failed ? "down" : "up", failed, failed == 1 ? "" : "s");
    }
    OUT("</div>\n");
    if (!c->n_labels && !c->have_pipe && !m->ok) na(c, "no results, pipeline.tsv or model.h5 in this folder");
    section_close(c);
}

/* ---- training curves ---- */
static void section_training(report_ctx *c)
{
    section_open(c, "training", "Training curves");
    if (!c->have_curves || c->curves.n_rows == 0) {
        na(c, "curves.tsv (the per-epoch log of the train stage) is missing or empty");
        section_close(c);
        return;
    }
    report_tsv *t = &c->curves;
    long n = t->n_rows;
    int ce = report_tsv_col(t, "epoch");
    double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * t->n_cols * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        c->h.oom = 1;
        return;
    }
    for (long r = 0; r < n; r++) {
        x[r] = ce >= 0 ? parse_num(t->rows[r][ce]) : (double)(r + 1);
        for (int k = 0; k < t->n_cols; k++) y[(size_t)k * n + r] = parse_num(t->rows[r][k]);
    }
    char names[64][96];
    report_series loss[16], acc[16], thr[16];
    int nl = 0, na_ = 0, nt = 0;
    for (int k = 0; k < t->n_cols && k < 64; k++) {
        const char *cn = t->cols[k];
        underscores_to_spaces(names[k], sizeof names[k], cn);
        int valid = strstr(cn, "valid") || strstr(cn, "val_") || strstr(cn, "test");
        report_series s = {names[k], x, y + (size_t)k * n, (int)n, NULL, valid};
        if (strstr(cn, "loss") && nl < 16) s.colour = report_palette[nl], loss[nl++] = s;
        else if (strstr(cn, "acc") && na_ < 16) s.colour = report_palette[na_], acc[na_++] = s;
        else if ((strstr(cn, "_per_s") || strstr(cn, "/s")) && nt < 16) s.colour = report_palette[4 + nt], s.dashed = 0, thr[nt++] = s;
    }
    OUT("<p class=\"small\">Per epoch, from curves.tsv. Solid: training; dashed: validation.</p>\n<div class=\"row\">\n");
    report_axes ax = {"Loss (cross-entropy)", "epoch", "loss", 500, 320, 0, 0};
    report_buf svg = {0};
    if (nl) {
        report_svg_lines(&svg, &ax, loss, nl);
        figure(c, &svg, "loss per epoch");
    }
    if (na_) {
        ax.title = "Accuracy";
        ax.ylabel = "accuracy";
        ax.ymin = 0, ax.ymax = 1;
        report_svg_lines(&svg, &ax, acc, na_);
        figure(c, &svg, "accuracy per epoch");
    }
    if (nt) {
        report_axes at = {"Training throughput", "epoch", "segments / s", 500, 320, 0, 0};
        report_svg_lines(&svg, &at, thr, nt);
        figure(c, &svg, "throughput per epoch");
    }
    OUT("</div>\n");
    if (!nl && !na_) na(c, "curves.tsv has no loss or accuracy columns");
    OUT("<h3>Per-epoch log</h3>\n<div class=\"scroll\"><table><tr>");
    for (int k = 0; k < t->n_cols; k++) {
        OUT("<th class=\"n\">");
        esc(c, t->cols[k]);
        OUT("</th>");
    }
    OUT("</tr>\n");
    for (long r = 0; r < n; r++) {
        OUT("<tr>");
        for (int k = 0; k < t->n_cols; k++) {
            double v = y[(size_t)k * n + r];
            if (isfinite(v)) OUT("<td class=\"n\">%.4g</td>", v);
            else {
                OUT("<td class=\"n\">");
                esc(c, t->rows[r][k]);
                OUT("</td>");
            }
        }
        OUT("</tr>\n");
    }
    OUT("</table></div>\n");
    free(x);
    free(y);
    section_close(c);
}

/* ---- stages ---- */
static double column_mean(const report_tsv *t, const char *part)
{
    for (int k = 0; k < t->n_cols; k++)
        if (strstr(t->cols[k], part)) {
            double s = 0;
            long n = 0;
            for (long r = 0; r < t->n_rows; r++) {
                double v = parse_num(t->rows[r][k]);
                if (isfinite(v)) s += v, n++;
            }
            return n ? s / n : NAN;
        }
    return NAN;
}

static void stage_work(report_ctx *c, const char *stage, double sec, char *work, size_t wn, char *rate, size_t rn)
{
    double items = NAN;
    const char *unit = "";
    snprintf(work, wn, "&#8212;");
    snprintf(rate, rn, "&#8212;");
    if (!strcmp(stage, "mel") && c->f[F_MELS].n_rows >= 0) items = (double)c->f[F_MELS].n_rows, unit = "tracks";
    else if ((!strcmp(stage, "extract-train") || !strcmp(stage, "lda")) && c->f[F_TRAIN].n_rows >= 0)
        items = (double)c->f[F_TRAIN].n_rows, unit = "clips";
    else if (!strcmp(stage, "extract-task")) {
        long n = 0;
        int sets = 0;
        for (int i = F_TASK; i <= F_PRE; i++)
            if (c->f[i].n_rows >= 0) n += c->f[i].n_rows, sets++;
        if (sets) items = (double)n, unit = sets > 1 ? "clips (all feature sets)" : "clips";
    } else if (!strcmp(stage, "evaluate")) {
        int n = 0;
        for (int l = 0; l < c->n_labels; l++)
            for (int s = 0; s < c->n_sets; s++) n += c->have[l][s];
        if (n) items = n, unit = "cross-validations";
    } else if (!strcmp(stage, "train") && c->have_curves) {
        double sps = column_mean(&c->curves, "_per_s");
        snprintf(work, wn, "%ld epochs", c->curves.n_rows);
        if (isfinite(sps)) snprintf(rate, rn, "%.0f segments/s", sps);
        return;
    }
    if (isfinite(items)) {
        snprintf(work, wn, "%.0f %s", items, unit);
        if (sec > 0) snprintf(rate, rn, "%.3g /s", items / sec);
    }
}

static void rank_charts(report_ctx *c)
{
    int shown = 0;
    double ranks = NAN;
    for (int i = 0; i < F_N; i++) {
        const report_h5_info *h = &c->f[i];
        for (int a = 0; a < h->n_attrs; a++) {
            const report_h5_attr *at = &h->attrs[a];
            if (!at->v) continue;
            if (at->n == 1 && (!strcmp(at->name, "ranks") || strstr(at->name, "_ranks")) && !isfinite(ranks)) ranks = at->v[0];
            if (at->n < 2 || !strstr(at->name, "rank")) continue;
            char title[400];
            snprintf(title, sizeof title, "%s: %s", file_names[i], at->name);
            const char **groups = malloc((size_t)at->n * sizeof *groups);
            char(*gn)[16] = malloc((size_t)at->n * sizeof *gn);
            if (!groups || !gn) {
                free(groups);
                free(gn);
                continue;
            }
            double mean = 0, mx = 0;
            for (int r = 0; r < at->n; r++) {
                snprintf(gn[r], sizeof gn[r], "%d", r);
                groups[r] = gn[r];
                mean += at->v[r] / at->n;
                mx = fmax(mx, at->v[r]);
            }
            const char *series[1] = {at->name}, *cols[1] = {report_palette[0]};
            report_axes ax = {title, "rank", "", at->n > 16 ? 720 : 420, 260, 0, 0};
            report_buf svg = {0};
            if (!shown++) OUT("<h3>Per-rank load</h3>\n<div class=\"row\">\n");
            report_svg_bars(&svg, &ax, groups, at->n, series, cols, 1, at->v, NULL);
            OUT("<div>");
            figure(c, &svg, title);
            OUT("<p class=\"small\">imbalance (max / mean) = %.3f</p></div>\n", mean > 0 ? mx / mean : NAN);
            free(groups);
            free(gn);
        }
    }
    if (shown) OUT("</div>\n");
    else {
        char t[256];
        if (isfinite(ranks))
            snprintf(t, sizeof t, "per-rank load (the run's files record no per-rank counts; it ran on %.0f rank%s)", ranks,
                     ranks == 1 ? "" : "s");
        else snprintf(t, sizeof t, "per-rank load (the run's files record no per-rank counts)");
        na(c, t);
    }
}

static void section_stages(report_ctx *c)
{
    section_open(c, "stages", "Stage times and throughput");
    if (!c->have_pipe || c->pipe.n_rows == 0) {
        na(c, "pipeline.tsv (stage times written by `artistnet pipeline`) is missing or empty");
    } else {
        report_tsv *t = &c->pipe;
        int cst = report_tsv_col(t, "stage"), cs = report_tsv_col(t, "status"), cse = report_tsv_col(t, "seconds");
        long n = t->n_rows;
        const char **names = malloc((size_t)n * sizeof *names);
        double *sec = malloc((size_t)n * sizeof *sec);
        if (names && sec) {
            for (long r = 0; r < n; r++) {
                names[r] = cst >= 0 ? t->rows[r][cst] : "?";
                sec[r] = cse >= 0 ? parse_num(t->rows[r][cse]) : NAN;
                if (cs >= 0 && !strcmp(t->rows[r][cs], "not run")) sec[r] = NAN;
            }
            report_axes ax = {"Wall-clock time per stage", "seconds", NULL, 720, 0, 0, 0};
            report_buf svg = {0};
            report_svg_hbars(&svg, &ax, names, sec, (int)n, report_palette[0], "s");
            figure(c, &svg, "seconds per stage");
            OUT("<table><tr><th>stage</th><th>status</th><th class=\"n\">seconds</th><th class=\"n\">work</th>"
                "<th class=\"n\">throughput</th></tr>\n");
            for (long r = 0; r < n; r++) {
                char work[128], rate[64];
                stage_work(c, names[r], sec[r], work, sizeof work, rate, sizeof rate);
                OUT("<tr><td>");
                esc(c, names[r]);
                OUT("</td><td>");
                esc(c, cs >= 0 ? t->rows[r][cs] : "");
                if (isfinite(sec[r])) OUT("</td><td class=\"n\">%.2f</td>", sec[r]);
                else OUT("</td><td class=\"n\">&#8212;</td>");
                OUT("<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", work, rate); /* built from numbers only */
            }
            OUT("</table>\n<p class=\"small\">A stage reported as skipped was up to date from an earlier run; its time "
                "is the one recorded when it ran.</p>\n");
        } else {
            c->h.oom = 1;
        }
        free(names);
        free(sec);
    }
    rank_charts(c);
    section_close(c);
}

/* ---- tasks ---- */
static void section_task(report_ctx *c, int l)
{
    char id[200], title[200];
    label_id(id, sizeof id, c->label[l]);
    snprintf(title, sizeof title, "Task: %s", c->label[l]);
    section_open(c, id, title);
    int K = 0, ns = 0, idx[RP_MAX_SETS];
    for (int s = 0; s < c->n_sets; s++) {
        if (!c->have[l][s]) continue;
        idx[ns++] = s;
        const json_t *pf = json_object_get(c->res[l][s], "per_fold");
        if (pf && jlen(pf) > K) K = jlen(pf);
    }
    const json_t *r0 = c->res[l][idx[0]];
    const char *kernel = jstr(json_object_get(r0, "kernel"), "?"), *src = jstr(json_object_get(r0, "fold_source"), "?");
    const char *artcol = jstr(json_object_get(r0, "artist_column"), NULL);
    const json_t *rows = json_object_get(r0, "rows"), *cls = json_object_get(r0, "classes");
    OUT("<p class=\"small\">LIBSVM C-SVC, ");
    esc(c, kernel);
    OUT(" kernel, C");
    if (!strcmp(kernel, "rbf")) OUT(" and &#947;");
    OUT(" chosen by inner cross-validation on the training folds; %d outer folds (from ", K);
    esc(c, src);
    OUT(")");
    if (artcol) {
        OUT(", filtered by /");
        esc(c, artcol);
        OUT(" (no ");
        esc(c, artcol);
        OUT(" on both sides of a split)");
    }
    if (rows)
        OUT("; %.0f clips used, %.0f skipped (failed)", jnum(json_object_get(rows, "used"), NAN),
            jnum(json_object_get(rows, "skipped_status"), NAN));
    if (cls) OUT("; %d classes", jlen(cls));
    OUT(". Mean &#177; sample standard deviation over folds.</p>\n");

    /* bar chart: folds + mean */
    int ng = K + 1;
    double *v = calloc((size_t)ng * ns + 1, sizeof *v), *e = calloc((size_t)ng * ns + 1, sizeof *e);
    const char **groups = calloc((size_t)ng + 1, sizeof *groups), *series[RP_MAX_SETS], *cols[RP_MAX_SETS];
    char(*gn)[24] = calloc((size_t)ng + 1, sizeof *gn);
    if (!v || !e || !groups || !gn) {
        c->h.oom = 1;
        goto done;
    }
    for (int g = 0; g < K; g++) snprintf(gn[g], sizeof gn[g], "fold %d", g + 1), groups[g] = gn[g];
    groups[K] = "mean";
    for (int k = 0; k < ns; k++) {
        int s = idx[k];
        series[k] = set_title(c->set[s]);
        cols[k] = report_set_colour(c->set[s], s);
        const json_t *pf = json_object_get(c->res[l][s], "per_fold");
        for (int g = 0; g < K; g++) v[g * ns + k] = jnum(json_object_get(json_array_get(pf, g), "accuracy"), NAN);
        v[K * ns + k] = jnum(json_object_get(c->res[l][s], "accuracy_mean"), NAN);
        e[K * ns + k] = jnum(json_object_get(c->res[l][s], "accuracy_std"), 0);
    }
    char ct[256];
    snprintf(ct, sizeof ct, "%s: accuracy per fold", c->label[l]);
    report_axes ax = {ct, NULL, "accuracy", ns * ng > 12 ? 1000 : 760, 340, 0, 1};
    report_buf svg = {0};
    OUT("<h3>Accuracy per fold</h3>\n");
    report_svg_bars(&svg, &ax, groups, ng, series, cols, ns, v, e);
    figure(c, &svg, ct);

    OUT("<table><tr><th>features</th>");
    for (int g = 0; g < K; g++) OUT("<th class=\"n\">fold %d</th>", g + 1);
    OUT("<th class=\"n\">mean &#177; std</th><th class=\"n\">macro F1</th><th>chosen C");
    if (!strcmp(kernel, "rbf")) OUT(" / &#947;");
    OUT(" per fold</th></tr>\n");
    for (int k = 0; k < ns; k++) {
        int s = idx[k];
        const json_t *r = c->res[l][s], *pf = json_object_get(r, "per_fold");
        OUT("<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", cols[k]);
        esc(c, series[k]);
        OUT("</td>");
        for (int g = 0; g < K; g++) {
            double a = jnum(json_object_get(json_array_get(pf, g), "accuracy"), NAN);
            if (isfinite(a)) OUT("<td class=\"n\">%.3f</td>", a);
            else OUT("<td class=\"n\">&#8212;</td>");
        }
        char t[64];
        acc_text(t, sizeof t, r);
        OUT("<td class=\"n\"><b>%s</b></td>", t);
        double mf = jnum(json_object_get(json_object_get(r, "overall"), "macro_f1"), NAN);
        if (isfinite(mf)) OUT("<td class=\"n\">%.3f</td><td class=\"small\">", mf);
        else OUT("<td class=\"n\">&#8212;</td><td class=\"small\">");
        for (int g = 0; g < K; g++) {
            const json_t *fo = json_array_get(pf, g);
            double C = jnum(json_object_get(fo, "C"), NAN), gm = jnum(json_object_get(fo, "gamma"), NAN);
            OUT("%s%.3g", g ? ", " : "", C);
            if (isfinite(gm)) OUT(" / %.3g", gm);
        }
        OUT("</td></tr>\n");
    }
    OUT("</table>\n");

    /* confusion matrices */
    OUT("<h3>Confusion matrices (all folds)</h3>\n<p class=\"small\">Rows: true class, columns: predicted; colour: share "
        "of the row, numbers: clips.</p>\n<div class=\"row\">\n");
    for (int k = 0; k < ns; k++) {
        const json_t *r = c->res[l][idx[k]], *cl = json_object_get(r, "classes"),
                       *cm = json_object_get(json_object_get(r, "overall"), "confusion");
        int L = cl ? jlen(cl) : 0;
        if (!L || !cm || jlen(cm) != L) {
            na(c, "confusion matrix in results.json");
            continue;
        }
        const char **names = malloc((size_t)L * sizeof *names);
        double *m = malloc((size_t)L * L * sizeof *m);
        if (names && m) {
            for (int i = 0; i < L; i++) {
                names[i] = jstr(json_array_get(cl, i), "?");
                for (int j = 0; j < L; j++) m[i * L + j] = jnum(json_array_get(json_array_get(cm, i), j), 0);
            }
            report_svg_heatmap(&svg, series[k], names, L, m, cols[k]);
            figure(c, &svg, series[k]);
        }
        free(names);
        free(m);
    }
    OUT("</div>\n");

    /* per-class F1 */
    const json_t *cl0 = json_object_get(r0, "classes");
    if (cl0 && jlen(cl0) > 0) {
        OUT("<h3>F1 per class (all folds)</h3>\n<table><tr><th>class</th>");
        for (int k = 0; k < ns; k++) {
            OUT("<th class=\"n\">");
            esc(c, series[k]);
            OUT("</th>");
        }
        OUT("</tr>\n");
        for (int i = 0; i < jlen(cl0); i++) {
            const char *name = jstr(json_array_get(cl0, i), "?");
            OUT("<tr><td>");
            esc(c, name);
            OUT("</td>");
            for (int k = 0; k < ns; k++) {
                const json_t *r = c->res[l][idx[k]], *cl = json_object_get(r, "classes");
                double f1 = NAN;
                for (int j = 0; cl && j < jlen(cl); j++)
                    if (!strcmp(jstr(json_array_get(cl, j), ""), name))
                        f1 = jnum(json_array_get(json_object_get(json_object_get(r, "overall"), "f1"), j), NAN);
                if (isfinite(f1)) OUT("<td class=\"n\">%.3f</td>", f1);
                else OUT("<td class=\"n\">&#8212;</td>");
            }
            OUT("</tr>\n");
        }
        OUT("</table>\n");
    }
done:
    free(v);
    free(e);
    free(groups);
    free(gn);
    section_close(c);
}

/* ---- LDA projection ---- */
static void section_lda(report_ctx *c)
{
    section_open(c, "lda", "LDA projection of the task clips");
    char lp[RP_PATH + 64], tp[RP_PATH + 64], e[UTIL_ERRLEN];
    snprintf(lp, sizeof lp, "%s/lda.h5", c->run);
    snprintf(tp, sizeof tp, "%s/task_features.h5", c->run);
    double *mean = NULL, *comp = NULL, *x = NULL;
    int rm, rc_, rx;
    size_t dm[8], dc[8], dx[8];
    if (!c->f[F_LDA].ok || !c->f[F_TASK].ok) {
        na(c, !c->f[F_LDA].ok ? "lda.h5 is missing" : "task_features.h5 is missing");
        section_close(c);
        return;
    }
    if (report_h5_read_doubles(lp, "mean", &mean, &rm, dm, e, sizeof e) ||
        report_h5_read_doubles(lp, "components", &comp, &rc_, dc, e, sizeof e) ||
        report_h5_read_doubles(tp, "features", &x, &rx, dx, e, sizeof e)) {
        na(c, e);
        goto done;
    }
    if (rm != 1 || rc_ != 2 || rx != 2 || dc[0] != dm[0] || dx[1] != dm[0]) {
        na(c, "lda.h5 and task_features.h5 dimensions do not match");
        goto done;
    }
    if (dc[1] < 2) {
        na(c, "a 2-D projection (lda.h5 has a single direction: the training data had 2 artists)");
        goto done;
    }
    size_t n = dx[0], d = dm[0], D = dc[1];
    double *px = malloc((n + 1) * sizeof *px), *py = malloc((n + 1) * sizeof *py);
    int *cls = malloc((n + 1) * sizeof *cls);
    const report_h5_info *tf = &c->f[F_TASK];
    if (!px || !py || !cls) {
        c->h.oom = 1;
        free(px), free(py), free(cls);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            double v = x[i * d + j] - mean[j];
            a += v * comp[j * D], b += v * comp[j * D + 1];
        }
        int ok = !(tf->status && (long)i < tf->n_rows && tf->status[i] != 0);
        px[i] = ok ? a : NAN, py[i] = ok ? b : NAN;
    }
    OUT("<p class=\"small\">Task clips (status ok) projected on the first two LDA directions fitted on the <i>artists</i> of "
        "the training data: y = (x &#8722; mean) &#183; components[:, :2] (lda.h5 applied to task_features.h5). The "
        "task's labels were never used to fit them.</p>\n<div class=\"row\">\n");
    int drawn = 0;
    for (int l = 0; l < c->n_labels; l++) {
        char **vals = NULL;
        size_t nv = 0;
        if (report_h5_read_strings(tp, c->label[l], &vals, &nv, e, sizeof e) || nv != n) {
            report_h5_strings_free(vals, nv);
            continue;
        }
        char **sorted = malloc((n + 1) * sizeof *sorted);
        int L = 0;
        if (!sorted) {
            report_h5_strings_free(vals, nv);
            continue;
        }
        for (size_t i = 0; i < n; i++) sorted[i] = vals[i];
        qsort(sorted, n, sizeof *sorted, cmp_str);
        for (size_t i = 0; i < n; i++)
            if (sorted[i][0] && (L == 0 || strcmp(sorted[i], sorted[L - 1]))) sorted[L++] = sorted[i];
        for (size_t i = 0; i < n; i++) {
            char **hit = vals[i][0] ? bsearch(&vals[i], sorted, (size_t)L, sizeof *sorted, cmp_str) : NULL;
            cls[i] = hit ? (int)(hit - sorted) : -1;
        }
        char t[256];
        snprintf(t, sizeof t, "coloured by %s", c->label[l]);
        report_axes ax = {t, "LDA direction 1", "LDA direction 2", 500, 420, 0, 0};
        report_buf svg = {0};
        report_svg_scatter(&svg, &ax, px, py, cls, (long)n, (const char *const *)sorted, L);
        figure(c, &svg, t);
        drawn++;
        free(sorted);
        report_h5_strings_free(vals, nv);
    }
    if (!drawn) {
        for (size_t i = 0; i < n; i++) cls[i] = 0;
        const char *one[1] = {"clip"};
        report_axes ax = {"task clips", "LDA direction 1", "LDA direction 2", 540, 420, 0, 0};
        report_buf svg = {0};
        report_svg_scatter(&svg, &ax, px, py, cls, (long)n, one, 1);
        figure(c, &svg, "task clips");
    }
    OUT("</div>\n");
    free(px), free(py), free(cls);
done:
    free(mean), free(comp), free(x);
    section_close(c);
}

/* ---- failures ---- */
static void section_failures(report_ctx *c)
{
    section_open(c, "failures", "Failures");
    long total = 0, shown = 0;
    int files = 0;
    OUT("<p class=\"small\">Rows with status &#8800; 0 in the run's .h5 files (tracks that could not be processed, and "
        "why). They are skipped by the later stages, never fatal.</p>\n<table><tr><th>file</th><th class=\"n\">rows</th>"
        "<th class=\"n\">failed</th></tr>\n");
    for (int i = 0; i < F_N; i++) {
        if (!c->f[i].ok || !c->f[i].status) continue;
        long nf = failed_rows(&c->f[i]);
        total += nf;
        files++;
        OUT("<tr><td class=\"mono\">%s</td><td class=\"n\">%ld</td><td class=\"n%s\">%ld</td></tr>\n", file_names[i],
            c->f[i].n_rows, nf ? " err" : "", nf);
    }
    OUT("</table>\n");
    if (!files) na(c, "no .h5 file with a /status dataset in this folder");
    else if (!total) OUT("<p>No failures: every track and clip was processed.</p>\n");
    else {
        OUT("<div class=\"scroll\"><table><tr><th>file</th><th class=\"n\">row</th><th>id</th><th class=\"n\">status</th>"
            "<th>error</th></tr>\n");
        for (int i = 0; i < F_N; i++) {
            const report_h5_info *h = &c->f[i];
            for (long r = 0; h->ok && h->status && r < h->n_rows && shown < 2000; r++) {
                if (!h->status[r]) continue;
                shown++;
                OUT("<tr><td class=\"mono\">%s</td><td class=\"n\">%ld</td><td class=\"mono\">", file_names[i], r);
                esc(c, h->ids ? h->ids[r] : "");
                OUT("</td><td class=\"n\">%d</td><td>", h->status[r]);
                esc(c, h->errors ? h->errors[r] : "");
                OUT("</td></tr>\n");
            }
        }
        OUT("</table></div>\n");
        if (shown < total) OUT("<p class=\"small\">First %ld of %ld failed rows shown.</p>\n", shown, total);
    }
    section_close(c);
}

/* ---- run details ---- */
static void section_details(report_ctx *c)
{
    section_open(c, "details", "Run details");
    int any = 0;
    for (int i = 0; i < F_N; i++) {
        const report_h5_info *h = &c->f[i];
        if (!h->ok) continue;
        if (!any++) OUT("<div class=\"row\">\n");
        OUT("<div><h3 class=\"mono\">%s</h3>\n<table>", file_names[i]);
        if (h->n_rows >= 0) OUT("<tr><td>rows</td><td class=\"mono\">%ld</td></tr>", h->n_rows);
        for (int a = 0; a < h->n_attrs; a++) {
            char v[400];
            snprintf(v, sizeof v, "%s", h->attrs[a].text);
            if (strlen(h->attrs[a].text) >= sizeof v) strcpy(v + sizeof v - 5, "...");
            OUT("<tr><td>");
            esc(c, h->attrs[a].name);
            OUT("</td><td class=\"mono\">");
            esc(c, v);
            OUT("</td></tr>");
        }
        OUT("</table></div>\n");
    }
    if (any) OUT("</div>\n");
    else na(c, "no .h5 files");
    const char *missing[F_N];
    int nm = 0;
    for (int i = 0; i < F_N; i++)
        if (!c->f[i].ok && i != F_PRE) missing[nm++] = file_names[i];
    if (nm) {
        OUT("<p class=\"small\">Not in this run folder:");
        for (int i = 0; i < nm; i++) OUT(" %s%s", missing[i], i + 1 < nm ? "," : ".");
        OUT("</p>\n");
    }
    if (c->notes[0]) {
        OUT("<h3>Problems reading the run folder</h3>\n<p class=\"err\">");
        esc(c, c->notes);
        OUT("</p>\n");
    }
    section_close(c);
}

static void build_page(report_ctx *c)
{
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    OUT("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>");
    esc(c, c->title);
    OUT("</title>\n<style>\n%s</style>\n</head>\n<body>\n<div class=\"page\">\n<h1>", css);
    esc(c, c->title);
    OUT("</h1>\n<p class=\"sub\">Run folder <span class=\"mono\">");
    esc(c, c->run);
    OUT("</span> &#183; report written %s by artistnet %s &#183; artist-label representation learning (Park et al., "
        "MIREX 2017)</p>\n",
        when, ARTISTNET_VERSION);
    OUT("<p class=\"toc\"><a href=\"#glance\">At a glance</a><a href=\"#training\">Training</a><a href=\"#stages\">Stages</a>");
    for (int l = 0; l < c->n_labels; l++) {
        char id[200];
        label_id(id, sizeof id, c->label[l]);
        OUT("<a href=\"#%s\">", id);
        esc(c, c->label[l]);
        OUT("</a>");
    }
    OUT("<a href=\"#lda\">LDA</a><a href=\"#failures\">Failures</a><a href=\"#details\">Details</a></p>\n");
    section_glance(c);
    section_training(c);
    section_stages(c);
    if (!c->n_labels) {
        section_open(c, "tasks", "Tasks");
        na(c, "no eval/<label>/<features>/results.json in this folder (the evaluate stage has not run)");
        section_close(c);
    }
    for (int l = 0; l < c->n_labels; l++) section_task(c, l);
    section_lda(c);
    section_failures(c);
    section_details(c);
    OUT("</div>\n</body>\n</html>\n");
}

static int write_page(report_ctx *c, char *err, size_t errlen)
{
    if (c->h.oom) return util_fail(err, errlen, UTIL_EFAIL, "report: out of memory building the page");
    char tmp[RP_PATH + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->out);
    FILE *f = fopen(tmp, "wb");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", tmp, strerror(errno));
    int bad = fwrite(c->h.s, 1, c->h.n, f) != c->h.n;
    bad |= fclose(f) != 0;
    if (bad) {
        remove(tmp);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", tmp);
    }
    if (rename(tmp, c->out)) {
        remove(tmp);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s", c->out, strerror(errno));
    }
    return UTIL_OK;
}

int report_write(const char *run, const char *out, const char *title, report_summary *sum, char *err, size_t errlen)
{
    if (sum) memset(sum, 0, sizeof *sum);
    if (!is_dir(run)) return util_fail(err, errlen, UTIL_EINPUT, "report: --run %s is not a folder", run);
    if (strlen(run) > RP_PATH - 200) return util_fail(err, errlen, UTIL_EUSAGE, "report: --run path too long");
    char outbuf[RP_PATH + 32];
    if (!out || !*out) {
        snprintf(outbuf, sizeof outbuf, "%s/report.html", run);
        out = outbuf;
    }
    if (strlen(out) > RP_PATH - 16) return util_fail(err, errlen, UTIL_EUSAGE, "report: --out path too long");
    report_ctx *c = calloc(1, sizeof *c);
    if (!c) return util_fail(err, errlen, UTIL_EFAIL, "report: out of memory");
    c->run = run;
    c->out = out;
    c->title = title ? title : "artistnet run report";
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    load_run(c);
    build_page(c);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    int rc = write_page(c, err, errlen);
    if (!rc && sum) {
        sum->bytes = c->h.n;
        sum->n_labels = c->n_labels;
        sum->n_sets = c->n_sets;
        snprintf(sum->out, sizeof sum->out, "%s", c->out);
    }
    free_run(c);
    free(c);
    return rc;
}
