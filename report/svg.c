/* svg.c - the charts of `artistnet report`, written directly as SVG text: line charts,
 * grouped bar charts with error bars, horizontal bars, confusion heat maps and scatter plots, each a
 * standalone SVG document (page.c embeds it as a data: image). Also the text buffer the report is
 * assembled in (XML escaping, base64).
 *
 * Why SVG written by hand rather than gnuplot's svg terminal: the charts are a few hundred lines of
 * plain text output, the report stays one C job with no extra runtime dependency or temporary files,
 * and the look (fonts, one palette per feature set, legends, sizes) is decided in one place for all
 * charts. Layout rules follow the usual ones: nice 1-2-5 ticks, light grid, labelled axes, legend. */
#include "report/report_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ---- */
static int buf_reserve(report_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void report_buf_put(report_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n)) return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void report_buf_printf(report_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len < sizeof small) {
        report_buf_put(b, small, (size_t)len);
        return;
    }
    if (buf_reserve(b, (size_t)len)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

/* length of the valid UTF-8 sequence at p, 0 if invalid */
static int utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80) return 1;
    int n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || p[0] == 0xc0 || p[0] == 0xc1 || p[0] > 0xf4) return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

void report_buf_esc(report_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        switch (*p) {
        case '&': report_buf_put(b, "&amp;", 5); p++; continue;
        case '<': report_buf_put(b, "&lt;", 4); p++; continue;
        case '>': report_buf_put(b, "&gt;", 4); p++; continue;
        case '"': report_buf_put(b, "&quot;", 6); p++; continue;
        case '\'': report_buf_put(b, "&#39;", 5); p++; continue;
        default: break;
        }
        if (*p < 0x20 || *p == 0x7f) { /* XML 1.0 forbids most control characters */
            if (*p == '\t' || *p == '\n') report_buf_put(b, " ", 1);
            p++;
            continue;
        }
        int n = utf8_len(p);
        if (!n) {
            report_buf_put(b, "?", 1);
            p++;
            continue;
        }
        report_buf_put(b, (const char *)p, (size_t)n);
        p += n;
    }
}

void report_buf_base64(report_buf *b, const char *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (buf_reserve(b, (n + 2) / 3 * 4)) return;
    const unsigned char *p = (const unsigned char *)data;
    char *o = b->s + b->n;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63], *o++ = tab[(v >> 6) & 63], *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->n = (size_t)(o - b->s);
    b->s[b->n] = 0;
}

void report_buf_free(report_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- colours: Tableau 10 then its lighter companions ---- */
const char *const report_palette[20] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                                            "#ff9da7", "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6",
                                            "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e"};

/* Each feature set keeps its colour in every chart of the report. */
const char *report_set_colour(const char *set, int index)
{
    if (!strcmp(set, "dcnn")) return "#4e79a7";
    if (!strcmp(set, "dcnn-lda")) return "#f28e2b";
    if (!strcmp(set, "logmel-baseline")) return "#9d9d9d";
    if (!strcmp(set, "pretrained")) return "#59a14f";
    return report_palette[(4 + index) % 20];
}

#define FONT "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
#define C_TEXT "#333333"
#define C_MUTED "#666666"
#define C_GRID "#e8e8e8"
#define C_AXIS "#9a9a9a"

static void svg_open(report_buf *b, int w, int h, const char *title)
{
    report_buf_printf(b,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" " FONT
                          " font-size=\"12\">\n<title>",
                          w, h, w, h);
    report_buf_esc(b, title ? title : "chart");
    report_buf_printf(b, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", w, h);
    if (title && *title) {
        report_buf_printf(b, "<text x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"bold\" fill=\"#222222\">");
        report_buf_esc(b, title);
        report_buf_printf(b, "</text>\n");
    }
}

static void svg_close(report_buf *b) { report_buf_printf(b, "</svg>\n"); }

static void svg_text(report_buf *b, double x, double y, const char *anchor, int size, const char *fill, const char *extra,
                     const char *s)
{
    report_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%s\"%s%s>", x, y, anchor,
                          size, fill, extra ? " " : "", extra ? extra : "");
    report_buf_esc(b, s);
    report_buf_printf(b, "</text>\n");
}

/* approximate rendered width of a string at a font size (DejaVu Sans averages ~0.6 em) */
static double text_width(const char *s, int size)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) chars += (*p & 0xc0) != 0x80;
    return (double)chars * size * 0.6;
}

/* shortened copy for labels: at most max characters, ellipsis at the end */
static void clip_label(char *dst, size_t dstlen, const char *s, int max)
{
    int chars = 0;
    size_t i = 0, o = 0;
    while (s[i] && o + 5 < dstlen) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (chars == max) {
                memcpy(dst + o, "\xe2\x80\xa6", 3); /* U+2026 */
                o += 3;
                break;
            }
            chars++;
        }
        dst[o++] = s[i++];
    }
    dst[o] = 0;
}

/* ---- axes ---- */
typedef struct {
    double x0, x1, y0, y1;       /* data range */
    double px, py, pw, ph;       /* plot area in pixels */
    double xstep, ystep;
} frame;

static double nice_step(double range, int target)
{
    if (!(range > 0)) return 1;
    double raw = range / target, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

static int step_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static double fx(const frame *f, double x) { return f->px + (f->x1 > f->x0 ? (x - f->x0) / (f->x1 - f->x0) : 0.5) * f->pw; }
static double fy(const frame *f, double y) { return f->py + f->ph - (f->y1 > f->y0 ? (y - f->y0) / (f->y1 - f->y0) : 0.5) * f->ph; }

/* y range: fixed or from data (0 included when near, padded to nice ticks) */
static void y_range(frame *f, const report_axes *ax, double lo, double hi)
{
    if (ax->ymin < ax->ymax) {
        f->y0 = ax->ymin, f->y1 = ax->ymax;
        f->ystep = nice_step(f->y1 - f->y0, 5);
        return;
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (lo > 0) lo = 0; /* positive quantities (loss, rates, counts) start at 0 */
    if (hi == lo) hi = lo + (lo ? fabs(lo) * 0.1 : 1);
    f->ystep = nice_step(hi - lo, 5);
    f->y0 = floor(lo / f->ystep) * f->ystep;
    f->y1 = ceil(hi / f->ystep - 1e-9) * f->ystep;
}

static void y_axis(report_buf *b, const frame *f, const char *label)
{
    int dec = step_decimals(f->ystep);
    for (double v = f->y0; v <= f->y1 + f->ystep * 1e-6; v += f->ystep) {
        double y = fy(f, v);
        report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", f->px, y,
                              f->px + f->pw, y, C_GRID);
        char t[32];
        snprintf(t, sizeof t, "%.*f", dec, fabs(v) < f->ystep * 1e-6 ? 0.0 : v);
        svg_text(b, f->px - 6, y + 4, "end", 11, C_MUTED, NULL, t);
    }
    report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", f->px, f->py,
                          f->px, f->py + f->ph, C_AXIS);
    report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", f->px,
                          f->py + f->ph, f->px + f->pw, f->py + f->ph, C_AXIS);
    if (label && *label) {
        char tr[96];
        double cx = 16, cy = f->py + f->ph / 2;
        snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", cx, cy);
        svg_text(b, cx, cy, "middle", 12, C_TEXT, tr, label);
    }
}

/* legend in one row starting at (x, y); returns nothing */
static void legend_row(report_buf *b, double x, double y, const char *const *names, const char *const *colours,
                       const int *dashed, int n, int boxes)
{
    for (int i = 0; i < n; i++) {
        if (boxes)
            report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>\n", x,
                                  y - 10, colours[i]);
        else
            report_buf_printf(b,
                                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n",
                                  x, y - 4, x + 18, y - 4, colours[i], dashed && dashed[i] ? " stroke-dasharray=\"5 3\"" : "");
        double tx = x + (boxes ? 17 : 23);
        svg_text(b, tx, y, "start", 11, C_TEXT, NULL, names[i]);
        x = tx + text_width(names[i], 11) + 16;
    }
}

/* ---- line chart ---- */
void report_svg_lines(report_buf *b, const report_axes *ax, const report_series *s, int ns)
{
    int W = ax->width, H = ax->height;
    frame f = {0};
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int maxn = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].n > maxn) maxn = s[k].n;
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            xlo = fmin(xlo, s[k].x[i]), xhi = fmax(xhi, s[k].x[i]);
            ylo = fmin(ylo, s[k].y[i]), yhi = fmax(yhi, s[k].y[i]);
        }
    }
    if (!(xlo <= xhi)) xlo = 0, xhi = 1;
    if (xhi == xlo) xhi = xlo + 1;
    f.x0 = xlo, f.x1 = xhi;
    y_range(&f, ax, ylo, yhi);
    f.px = 58, f.py = 50, f.pw = W - f.px - 18, f.ph = H - f.py - 44;
    svg_open(b, W, H, ax->title);
    const char *names[16], *cols[16];
    int dashed[16], nl = ns < 16 ? ns : 16;
    for (int k = 0; k < nl; k++) names[k] = s[k].name, cols[k] = s[k].colour, dashed[k] = s[k].dashed;
    legend_row(b, f.px, 40, names, cols, dashed, nl, 0);
    y_axis(b, &f, ax->ylabel);
    /* x ticks */
    f.xstep = nice_step(f.x1 - f.x0, 8);
    if (f.xstep < 1 && fabs(f.x0 - round(f.x0)) < 1e-9 && fabs(f.x1 - round(f.x1)) < 1e-9) f.xstep = 1;
    int dec = step_decimals(f.xstep);
    for (double v = ceil(f.x0 / f.xstep - 1e-9) * f.xstep; v <= f.x1 + 1e-9 * f.xstep; v += f.xstep) {
        char t[32];
        snprintf(t, sizeof t, "%.*f", dec, v);
        double x = fx(&f, v);
        report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, f.py + f.ph, x,
                              f.py + f.ph + 4, C_AXIS);
        svg_text(b, x, f.py + f.ph + 17, "middle", 11, C_MUTED, NULL, t);
    }
    if (ax->xlabel) svg_text(b, f.px + f.pw / 2, H - 8, "middle", 12, C_TEXT, NULL, ax->xlabel);
    for (int k = 0; k < ns; k++) {
        report_buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s d=\"",
                              s[k].colour, s[k].dashed ? " stroke-dasharray=\"6 3\"" : "");
        int pen = 0;
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) {
                pen = 0;
                continue;
            }
            report_buf_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", fx(&f, s[k].x[i]), fy(&f, s[k].y[i]));
            pen = 1;
        }
        report_buf_printf(b, "\"/>\n");
        if (maxn <= 40)
            for (int i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                    report_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"/>\n", fx(&f, s[k].x[i]),
                                          fy(&f, s[k].y[i]), s[k].colour);
    }
    svg_close(b);
}

/* ---- grouped bars ---- */
void report_svg_bars(report_buf *b, const report_axes *ax, const char *const *groups, int ng,
                         const char *const *series, const char *const *colours, int ns, const double *v,
                         const double *err)
{
    int W = ax->width, H = ax->height;
    frame f = {0};
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < ng * ns; i++)
        if (isfinite(v[i])) lo = fmin(lo, v[i]), hi = fmax(hi, v[i] + (err && err[i] > 0 ? err[i] : 0));
    if (lo > 0) lo = 0;
    y_range(&f, ax, lo, hi);
    f.px = 58, f.py = 62, f.pw = W - f.px - 18, f.ph = H - f.py - 44;
    svg_open(b, W, H, ax->title);
    legend_row(b, f.px, 40, series, colours, NULL, ns, 1);
    int small = hi <= 1.5;
    double gw = f.pw / (ng > 0 ? ng : 1), inner = gw * 0.78, bw = inner / (ns > 0 ? ns : 1);
    if (ng > 1 && !strcmp(groups[ng - 1], "mean")) /* set the summary group apart */
        report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f1f3f6\"/>\n",
                              f.px + (ng - 1) * gw + 2, f.py, gw - 2, f.ph);
    y_axis(b, &f, ax->ylabel);
    int labels = ng * ns <= 28 && bw >= 22;
    for (int g = 0; g < ng; g++) {
        double gx = f.px + g * gw + (gw - inner) / 2;
        svg_text(b, f.px + g * gw + gw / 2, f.py + f.ph + 17, "middle", 11, C_TEXT, NULL, groups[g]);
        for (int k = 0; k < ns; k++) {
            double val = v[g * ns + k];
            if (!isfinite(val)) continue;
            double x = gx + k * bw + 1, y = fy(&f, fmax(val, f.y0)), y0 = fy(&f, fmax(0, f.y0));
            report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x,
                                  fmin(y, y0), bw - 2, fabs(y0 - y), colours[k]);
            double top = y;
            if (err && err[g * ns + k] > 0) {
                double e = err[g * ns + k], ya = fy(&f, fmin(val + e, f.y1)), yb = fy(&f, fmax(val - e, f.y0)),
                       cx = x + (bw - 2) / 2;
                report_buf_printf(b,
                                      "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"#222222\" "
                                      "stroke-width=\"1.3\" fill=\"none\"/>\n",
                                      cx, ya, cx, yb, cx - 4, ya, cx + 4, ya, cx - 4, yb, cx + 4, yb);
                top = ya;
            }
            if (labels) {
                char t[32];
                snprintf(t, sizeof t, small ? "%.2f" : "%.4g", val);
                svg_text(b, x + (bw - 2) / 2, top - 4, "middle", 10, C_MUTED, NULL, t);
            }
        }
    }
    if (ax->xlabel) svg_text(b, f.px + f.pw / 2, H - 8, "middle", 12, C_TEXT, NULL, ax->xlabel);
    svg_close(b);
}

/* ---- horizontal bars ---- */
void report_svg_hbars(report_buf *b, const report_axes *ax, const char *const *names, const double *v,
                          int n, const char *colour, const char *unit)
{
    double namew = 40, hi = 0;
    for (int i = 0; i < n; i++) {
        namew = fmax(namew, text_width(names[i], 12));
        if (isfinite(v[i])) hi = fmax(hi, v[i]);
    }
    int W = ax->width, bar = 22, gap = 8, H = 40 + n * (bar + gap) + 34;
    double px = namew + 22, pw = W - px - 90;
    if (!(hi > 0)) hi = 1;
    double step = nice_step(hi, 5), top = ceil(hi / step - 1e-9) * step;
    svg_open(b, W, H, ax->title);
    double py = 40, ph = n * (bar + gap);
    int dec = step_decimals(step);
    for (double t = 0; t <= top + step * 1e-6; t += step) {
        double x = px + t / top * pw;
        char s[32];
        snprintf(s, sizeof s, "%.*f", dec, t);
        report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, py - 4, x,
                              py + ph, C_GRID);
        svg_text(b, x, py + ph + 15, "middle", 11, C_MUTED, NULL, s);
    }
    for (int i = 0; i < n; i++) {
        double y = py + i * (bar + gap);
        svg_text(b, px - 8, y + bar / 2.0 + 4, "end", 12, C_TEXT, NULL, names[i]);
        if (!isfinite(v[i])) {
            svg_text(b, px + 4, y + bar / 2.0 + 4, "start", 11, C_MUTED, NULL, "not run");
            continue;
        }
        double w = v[i] / top * pw;
        report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>\n", px, y,
                              fmax(w, 1), bar, colour);
        char s[48];
        snprintf(s, sizeof s, v[i] < 10 ? "%.2f%s%s" : "%.1f%s%s", v[i], unit ? " " : "", unit ? unit : "");
        svg_text(b, px + fmax(w, 1) + 6, y + bar / 2.0 + 4, "start", 11, C_TEXT, NULL, s);
    }
    report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", px, py - 4, px,
                          py + ph, C_AXIS);
    if (ax->xlabel) svg_text(b, px + pw / 2, H - 6, "middle", 12, C_TEXT, NULL, ax->xlabel);
    svg_close(b);
}

/* ---- heat map ---- */
static void hex_rgb(const char *hex, int rgb[3])
{
    unsigned v = (unsigned)strtoul(hex + 1, NULL, 16);
    rgb[0] = (int)(v >> 16) & 255, rgb[1] = (int)(v >> 8) & 255, rgb[2] = (int)v & 255;
}

void report_svg_heatmap(report_buf *b, const char *title, const char *const *classes, int L, const double *conf,
                            const char *colour)
{
    int cell = L <= 4 ? 52 : L <= 8 ? 40 : L <= 16 ? 26 : 16, fs = cell >= 40 ? 12 : cell >= 26 ? 10 : 8;
    int maxc = L <= 8 ? 16 : 12;
    double namew = 30;
    char lab[96];
    for (int i = 0; i < L; i++) {
        clip_label(lab, sizeof lab, classes[i], maxc);
        namew = fmax(namew, text_width(lab, 11));
    }
    double px = namew + 34, py = 34, side = (double)cell * L;
    int W = (int)(px + side + 16), H = (int)(py + side + namew * 0.72 + 36);
    if (W < 240) W = 240;
    svg_open(b, W, H, title);
    int base[3];
    hex_rgb(colour, base);
    for (int t = 0; t < L; t++) {
        double row = 0;
        for (int p = 0; p < L; p++) row += conf[t * L + p];
        for (int p = 0; p < L; p++) {
            double c = conf[t * L + p], frac = row > 0 ? c / row : 0;
            int rgb[3];
            for (int q = 0; q < 3; q++) rgb[q] = (int)lround(255 + (base[q] - 255) * (0.06 + 0.94 * frac) * (c > 0));
            double x = px + p * cell, y = py + t * cell;
            report_buf_printf(b,
                                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#%02x%02x%02x\" stroke=\"#ffffff\"/>\n",
                                  x, y, cell, cell, rgb[0], rgb[1], rgb[2]);
            if (cell >= 16) {
                char s[32];
                snprintf(s, sizeof s, "%.0f", c);
                svg_text(b, x + cell / 2.0, y + cell / 2.0 + fs * 0.36, "middle", fs, frac > 0.5 ? "#ffffff" : C_TEXT,
                         t == p ? "font-weight=\"bold\"" : NULL, s);
            }
        }
    }
    report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"%s\"/>\n", px, py,
                          side, side, C_AXIS);
    for (int i = 0; i < L; i++) {
        clip_label(lab, sizeof lab, classes[i], maxc);
        svg_text(b, px - 6, py + i * cell + cell / 2.0 + 4, "end", 11, C_TEXT, NULL, lab);
        double x = px + i * cell + cell / 2.0 + 4, y = py + side + 8;
        char tr[96];
        snprintf(tr, sizeof tr, "transform=\"rotate(-45 %.1f %.1f)\"", x, y);
        svg_text(b, x, y, "end", 11, C_TEXT, tr, lab);
    }
    char tr[96];
    snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", 14.0, py + side / 2);
    svg_text(b, 14, py + side / 2, "middle", 11, C_MUTED, tr, "true class");
    svg_text(b, px + side / 2, H - 8, "middle", 11, C_MUTED, NULL, "predicted class");
    svg_close(b);
}

/* ---- scatter ---- */
void report_svg_scatter(report_buf *b, const report_axes *ax, const double *x, const double *y,
                            const int *cls, long n, const char *const *classes, int L)
{
    int W = ax->width, H = ax->height, shown = L < 20 ? L : 20;
    double legw = 40;
    char lab[96];
    for (int i = 0; i < shown; i++) {
        clip_label(lab, sizeof lab, classes[i], 18);
        legw = fmax(legw, text_width(lab, 11) + 26);
    }
    frame f = {0};
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (long i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) xlo = fmin(xlo, x[i]), xhi = fmax(xhi, x[i]), ylo = fmin(ylo, y[i]), yhi = fmax(yhi, y[i]);
    if (!(xlo <= xhi)) xlo = -1, xhi = 1, ylo = -1, yhi = 1;
    double padx = (xhi - xlo) * 0.05 + 1e-9, pady = (yhi - ylo) * 0.05 + 1e-9;
    f.xstep = nice_step(xhi - xlo + 2 * padx, 6);
    f.x0 = floor((xlo - padx) / f.xstep) * f.xstep, f.x1 = ceil((xhi + padx) / f.xstep) * f.xstep;
    f.ystep = nice_step(yhi - ylo + 2 * pady, 6);
    f.y0 = floor((ylo - pady) / f.ystep) * f.ystep, f.y1 = ceil((yhi + pady) / f.ystep) * f.ystep;
    f.px = 58, f.py = 34, f.pw = W - f.px - legw - 24, f.ph = H - f.py - 44;
    svg_open(b, W, H, ax->title);
    y_axis(b, &f, ax->ylabel);
    int dec = step_decimals(f.xstep);
    for (double v = f.x0; v <= f.x1 + 1e-9 * f.xstep; v += f.xstep) {
        char t[32];
        snprintf(t, sizeof t, "%.*f", dec, fabs(v) < f.xstep * 1e-6 ? 0.0 : v);
        double px = fx(&f, v);
        report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", px, f.py, px,
                              f.py + f.ph, C_GRID);
        svg_text(b, px, f.py + f.ph + 17, "middle", 11, C_MUTED, NULL, t);
    }
    if (ax->xlabel) svg_text(b, f.px + f.pw / 2, H - 8, "middle", 12, C_TEXT, NULL, ax->xlabel);
    double r = n > 2000 ? 2 : n > 500 ? 2.6 : 3.6;
    for (long i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || cls[i] < 0) continue;
        report_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.8\" stroke=\"#ffffff\" stroke-width=\"0.6\"/>\n",
                              fx(&f, x[i]), fy(&f, y[i]), r, report_palette[cls[i] % 20]);
    }
    double lx = f.px + f.pw + 20, ly = f.py + 10;
    for (int i = 0; i < shown; i++) {
        clip_label(lab, sizeof lab, classes[i], 18);
        report_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", lx + 5, ly + i * 18 - 4,
                              report_palette[i % 20]);
        svg_text(b, lx + 15, ly + i * 18, "start", 11, C_TEXT, NULL, lab);
    }
    if (L > shown) {
        char t[48];
        snprintf(t, sizeof t, "+%d more (colours repeat)", L - shown);
        svg_text(b, lx, ly + shown * 18, "start", 10, C_MUTED, NULL, t);
    }
    svg_close(b);
}
