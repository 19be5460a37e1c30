/* synth.c - `artistnet synth`: a synthetic music corpus with the structure the paper's method exploits
 * (Park et al. 2017 learn artist identity and transfer it to genre and mood):
 *   - every GENRE (fixed by its index alone, so separate corpora share genre meaning) has a tempo band,
 *     a 16-step drum pattern family, swing, a timbre family (spectral slope, odd/even balance, noise),
 *     chord-progression family, distortion and reverb base;
 *   - every ARTIST (seed + global artist number) belongs to genre (number mod genres) and has a
 *     signature: lead/bass/pad instruments (harmonic spectra with a formant, attack/decay, vibrato,
 *     breath noise), a tempo centre inside the genre's band, a tonic and a scale flavour, a variation of
 *     the genre's drum pattern, drum tuning, melody rhythm and range, production colouring (tilt
 *     filter, saturation, reverb);
 *   - every SONG carries a MOOD (fixed by its index: happy, sad, angry, calm, then generated ones) that
 *     moves tempo, mode (major/minor), brightness, loudness, note density and saturation. Moods rotate
 *     over each artist's songs, so mood is not an artist property.
 * Rendering: band-limited wavetables per octave (built with an FFTW c2r), exponential envelopes,
 * pre-rendered drum hits, one-pole filters, a small comb reverb; all deterministic from the seed with a
 * private PRNG (splitmix64 -> xoshiro256**). Songs are independent (seeded by seed, artist, song), so
 * ranks take songs round-robin and the output does not depend on the number of ranks; rank 0 writes
 * DIR/tracks.tsv (`path id artist genre mood`, paths relative to DIR). Audio via libsndfile:
 * wav (PCM 16), flac (PCM 16), ogg (Vorbis), mp3 (MPEG layer III, libsndfile >= 1.1).
 * Determinism: wav, flac and mp3 files are byte-identical for a seed at any rank count; Ogg files
 * differ only in the stream serial number libsndfile draws at random, their decoded audio is identical. */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SYN_PI 3.14159265358979323846
#define SYN_TABLE 2048   /* wavetable length */
#define SYN_OCTAVES 10   /* one band-limited table per octave from 27.5 Hz */
#define SYN_HARM 48      /* harmonics described per instrument */
#define SYN_WORLD 0x6172746973746e65ULL /* genres and moods depend on this, not on --seed */

/* ---------------- PRNG: splitmix64 seeding, xoshiro256** stream ---------------- */
typedef struct { uint64_t s[4]; } syn_rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(syn_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = a ^ splitmix(&b) ^ (splitmix(&c) << 1);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}

static uint64_t rng_next(syn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t t = s[1] << 17, res = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3] << 45 | s[3] >> 19;
    return res;
}

static double rng_u(syn_rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }          /* [0,1) */
static double rng_range(syn_rng *r, double a, double b) { return a + (b - a) * rng_u(r); }
static int rng_int(syn_rng *r, int n) { return (int)(rng_u(r) * n); }                         /* [0,n) */
static float rng_noise(syn_rng *r) { return (float)(2.0 * rng_u(r) - 1.0); }

/* ---------------- the corpus model ---------------- */
typedef struct {
    double slope;     /* harmonic amplitude ~ h^-slope */
    double odd;       /* weight of even harmonics (0: odd only, 1: all) */
    double formant, formant_gain, formant_width; /* a resonance (Hz) boosting nearby harmonics */
    double attack, decay, sustain; /* seconds, seconds (time constant), level */
    double vib_rate, vib_depth;    /* Hz, fraction of frequency */
    double noise;                  /* breath/bow noise level */
} syn_timbre;

typedef struct {
    double tempo_lo, tempo_hi, swing;
    double kick[16], snare[16], hat[16]; /* hit probabilities per 16th step */
    double slope, odd, noise, drive, reverb, attack;
    int prog[2]; /* two chord progressions from the table */
} syn_genre;

typedef struct {
    const char *name;
    double tempo, bright, level, density, drive, reverb;
    int minor;
} syn_mood;

typedef struct {
    int genre;
    double tempo;
    int tonic, pentatonic, lead_oct;
    syn_timbre lead, bass, pad;
    double kick[16], snare[16], hat[16];
    double kick_hz, snare_hz, hat_decay, drum_level;
    double tilt, drive, reverb, melody_step, rest, long_notes, swing;
    int prog;
} syn_artist;

/* progressions as scale degrees (0-based) of four bars */
static const int syn_progs[8][4] = {{0, 4, 5, 3}, {0, 5, 3, 4}, {0, 3, 4, 4}, {5, 3, 0, 4},
                                    {0, 6, 5, 6}, {0, 0, 3, 4}, {1, 4, 0, 0}, {0, 3, 0, 4}};
static const int syn_major[7] = {0, 2, 4, 5, 7, 9, 11}, syn_minor[7] = {0, 2, 3, 5, 7, 8, 10};

static void genre_make(int g, syn_genre *G)
{
    syn_rng r;
    rng_seed(&r, SYN_WORLD, 1, (uint64_t)g);
    /* tempo bands spread over 70..170 BPM by the golden ratio, so any number of genres differ */
    double c = 70 + 100 * fmod(0.5 + g * 0.6180339887, 1.0);
    G->tempo_lo = c - 8;
    G->tempo_hi = c + 8;
    G->swing = rng_u(&r) < 0.4 ? rng_range(&r, 0.1, 0.3) : 0;
    int backbeat = rng_u(&r) < 0.6;
    double hat_density = rng_range(&r, 0.2, 1.0);
    for (int s = 0; s < 16; s++) {
        G->kick[s] = s == 0 ? 1.0 : (s % 4 == 0 ? rng_range(&r, 0.2, 1.0) : (rng_u(&r) < 0.25 ? rng_range(&r, 0.3, 0.9) : 0));
        G->snare[s] = backbeat ? (s == 4 || s == 12 ? 1.0 : (rng_u(&r) < 0.1 ? 0.4 : 0))
                               : (rng_u(&r) < 0.2 ? rng_range(&r, 0.4, 1.0) : 0);
        G->hat[s] = (s % 2 == 0 ? 1.0 : hat_density) * (rng_u(&r) < 0.85 ? 1.0 : 0.0);
    }
    G->slope = rng_range(&r, 0.6, 2.2);
    G->odd = rng_range(&r, 0.0, 1.0);
    G->noise = rng_range(&r, 0.0, 0.25);
    G->drive = rng_u(&r) < 0.3 ? rng_range(&r, 1.5, 4.0) : rng_range(&r, 0.0, 0.8);
    G->reverb = rng_range(&r, 0.05, 0.45);
    G->attack = rng_u(&r) < 0.5 ? rng_range(&r, 0.002, 0.01) : rng_range(&r, 0.02, 0.12);
    G->prog[0] = rng_int(&r, 8);
    G->prog[1] = (G->prog[0] + 1 + rng_int(&r, 7)) % 8;
}

static void mood_make(int j, syn_mood *M)
{
    static const syn_mood base[4] = {
        {"happy", 1.15, 0.2, 1.0, 0.85, 0.0, 0.0, 0},
        {"sad", 0.80, -0.25, 0.65, 0.45, 0.0, 0.15, 1},
        {"angry", 1.20, 0.25, 1.0, 0.95, 1.0, -0.05, 1},
        {"calm", 0.85, -0.2, 0.7, 0.4, 0.0, 0.2, 0},
    };
    if (j < 4) {
        *M = base[j];
        return;
    }
    static char names[64][16];
    syn_rng r;
    rng_seed(&r, SYN_WORLD, 2, (uint64_t)j);
    snprintf(names[j % 64], sizeof names[0], "mood%02d", j);
    M->name = names[j % 64];
    M->tempo = rng_range(&r, 0.8, 1.2);
    M->bright = rng_range(&r, -0.25, 0.25);
    M->level = rng_range(&r, 0.65, 1.0);
    M->density = rng_range(&r, 0.4, 0.95);
    M->drive = rng_u(&r) < 0.3 ? rng_range(&r, 0.5, 1.5) : 0;
    M->reverb = rng_range(&r, -0.05, 0.2);
    M->minor = rng_int(&r, 2);
}

static void timbre_make(syn_rng *r, const syn_genre *G, syn_timbre *T, double f_lo, double f_hi, double sustain)
{
    T->slope = G->slope + rng_range(r, -0.5, 0.5);
    if (T->slope < 0.4) T->slope = 0.4;
    T->odd = fmin(1.0, fmax(0.0, G->odd + rng_range(r, -0.4, 0.4)));
    T->formant = exp(rng_range(r, log(f_lo), log(f_hi)));
    T->formant_gain = rng_range(r, 1.0, 8.0);
    T->formant_width = rng_range(r, 0.15, 0.6); /* in octaves */
    T->attack = G->attack * rng_range(r, 0.5, 2.0);
    T->decay = rng_range(r, 0.08, 0.8);
    T->sustain = sustain * rng_range(r, 0.3, 1.0);
    T->vib_rate = rng_range(r, 3.5, 7.0);
    T->vib_depth = rng_u(r) < 0.5 ? rng_range(r, 0.002, 0.012) : 0;
    T->noise = G->noise * rng_range(r, 0.3, 1.5);
}

static void artist_make(uint64_t seed, int artist, int n_genres, syn_artist *A)
{
    syn_rng r;
    rng_seed(&r, seed, 3, (uint64_t)artist);
    A->genre = artist % n_genres;
    syn_genre G;
    genre_make(A->genre, &G);
    A->tempo = rng_range(&r, G.tempo_lo, G.tempo_hi);
    A->tonic = rng_int(&r, 12);
    A->pentatonic = rng_u(&r) < 0.35;
    A->lead_oct = 4 + rng_int(&r, 2);
    timbre_make(&r, &G, &A->lead, 400, 4000, 0.7);
    timbre_make(&r, &G, &A->bass, 100, 800, 0.5);
    timbre_make(&r, &G, &A->pad, 300, 2500, 0.9);
    A->pad.attack = rng_range(&r, 0.05, 0.4);
    for (int s = 0; s < 16; s++) { /* the genre's pattern with a few steps of the artist's own */
        A->kick[s] = rng_u(&r) < 0.12 ? (G.kick[s] > 0 ? 0 : 0.7) : G.kick[s];
        A->snare[s] = rng_u(&r) < 0.08 ? (G.snare[s] > 0 ? 0 : 0.6) : G.snare[s];
        A->hat[s] = rng_u(&r) < 0.1 ? (G.hat[s] > 0 ? 0 : 0.8) : G.hat[s];
    }
    A->kick[0] = 1.0;
    A->kick_hz = rng_range(&r, 45, 70);
    A->snare_hz = rng_range(&r, 150, 260);
    A->hat_decay = rng_range(&r, 0.015, 0.06);
    A->drum_level = rng_range(&r, 0.4, 0.9);
    A->tilt = rng_range(&r, -1, 1); /* production: dark .. bright */
    A->drive = G.drive * rng_range(&r, 0.6, 1.4);
    A->reverb = fmax(0, G.reverb + rng_range(&r, -0.1, 0.1));
    A->melody_step = rng_range(&r, 0.3, 0.8); /* probability of a step vs a leap */
    A->rest = rng_range(&r, 0.05, 0.35);
    A->long_notes = rng_range(&r, 0.1, 0.7);
    A->prog = G.prog[rng_int(&r, 2)];
    A->swing = G.swing;
}

/* ---------------- rendering ---------------- */
typedef struct {
    float tab[SYN_OCTAVES][SYN_TABLE + 1]; /* +1: guard sample for interpolation */
} syn_wave;

typedef struct {
    int sr;
    size_t n;
    float *mix, *scratch;
    fftwf_plan plan;
    fftwf_complex *spec;
    float *tabbuf;
    syn_wave lead, bass, pad;
    syn_rng r;
} syn_ctx;

/* band-limited single-cycle tables, one per octave: harmonics up to 0.45 sr at the octave's top note,
 * amplitudes h^-slope x (even weight) x (1 + formant gain at the harmonic's frequency) */
static void wave_make(syn_ctx *C, const syn_timbre *T, double bright, syn_wave *W)
{
    for (int o = 0; o < SYN_OCTAVES; o++) {
        double f_top = 27.5 * pow(2.0, o + 1), f_mid = 27.5 * pow(2.0, o + 0.5);
        int H = (int)(0.45 * C->sr / f_top);
        if (H > SYN_HARM) H = SYN_HARM;
        if (H < 1) H = 1;
        memset(C->spec, 0, (SYN_TABLE / 2 + 1) * sizeof(fftwf_complex));
        double slope = fmax(0.3, T->slope - bright);
        for (int h = 1; h <= H; h++) {
            double a = pow(h, -slope) * (h % 2 == 0 ? T->odd : 1.0);
            double oct = log2(h * f_mid / T->formant) / T->formant_width;
            a *= 1.0 + T->formant_gain * exp(-0.5 * oct * oct);
            C->spec[h][0] = 0;
            C->spec[h][1] = (float)(-0.5 * a); /* sine phase */
        }
        fftwf_execute(C->plan);
        float peak = 1e-9f;
        for (int i = 0; i < SYN_TABLE; i++) peak = fmaxf(peak, fabsf(C->tabbuf[i]));
        for (int i = 0; i < SYN_TABLE; i++) W->tab[o][i] = C->tabbuf[i] / peak;
        W->tab[o][SYN_TABLE] = W->tab[o][0];
    }
}

static double midi_hz(double m) { return 440.0 * pow(2.0, (m - 69) / 12.0); }

/* one note: wavetable oscillator with vibrato, attack / exponential decay to sustain / release,
 * breath noise through a one-pole lowpass; added into C->mix */
static void render_note(syn_ctx *C, const syn_wave *W, const syn_timbre *T, size_t start, size_t len, double hz,
                        double amp)
{
    if (start >= C->n || hz <= 0) return;
    size_t rel = (size_t)(0.03 * C->sr), end = start + len + rel;
    if (end > C->n) end = C->n;
    int o = (int)floor(log2(hz / 27.5));
    if (o < 0) o = 0;
    if (o >= SYN_OCTAVES) o = SYN_OCTAVES - 1;
    const float *tab = W->tab[o];
    double inc = hz / C->sr * 4294967296.0;
    uint32_t phase = 0;
    double att = fmax(1.0, T->attack * C->sr), dk = exp(-1.0 / (T->decay * C->sr));
    double vinc = 2 * SYN_PI * T->vib_rate / C->sr, vdepth = T->vib_depth;
    float env = 0, env_len = 0, dec = 1.0f, sus = (float)T->sustain, noise_lp = 0;
    float na = (float)(T->noise * amp), nlp = (float)(1.0 - exp(-2 * SYN_PI * fmin(T->formant, 0.4 * C->sr) / C->sr));
    float *y = C->mix;
    uint32_t vib_phase_inc = (uint32_t)(inc * vdepth);
    double vph = 0;
    uint32_t cur_inc = (uint32_t)inc;
    for (size_t i = start; i < end; i++) {
        size_t k = i - start;
        if (k < len) {
            if (k < att) env = (float)(k / att);
            else { dec *= (float)dk; env = sus + (1.0f - sus) * dec; }
            env_len = env;
        } else {
            env = env_len * (1.0f - (float)(k - len) / (float)rel); /* linear release */
        }
        uint32_t idx = phase >> 21, frac = phase & 0x1fffff;
        float s = tab[idx] + (tab[idx + 1] - tab[idx]) * (float)frac * (1.0f / 2097152.0f);
        if (vdepth > 0 && (k & 63) == 0) { /* vibrato: the increment is updated every 64 samples */
            vph += 64 * vinc;
            cur_inc = (uint32_t)(inc + (double)vib_phase_inc * sin(vph));
        }
        phase += cur_inc;
        float v = s * (float)amp;
        if (na > 0) {
            noise_lp += nlp * (rng_noise(&C->r) - noise_lp);
            v += na * noise_lp;
        }
        y[i] += env * v;
    }
}

/* a drum hit rendered once, mixed at each step */
typedef struct {
    float *x;
    size_t n;
} syn_hit;

static void hit_make(syn_ctx *C, syn_hit *h, int kind, const syn_artist *A)
{
    h->n = (size_t)(0.35 * C->sr);
    h->x = calloc(h->n, sizeof(float));
    if (!h->x) return;
    double ph = 0, lp = 0, bp1 = 0, bp2 = 0, prev = 0;
    for (size_t i = 0; i < h->n; i++) {
        double t = (double)i / C->sr, v;
        if (kind == 0) { /* kick: falling sine */
            double f = A->kick_hz * (1 + 2.5 * exp(-t / 0.03));
            ph += 2 * SYN_PI * f / C->sr;
            v = sin(ph) * exp(-t / 0.12);
        } else if (kind == 1) { /* snare: tone + band-passed noise */
            ph += 2 * SYN_PI * A->snare_hz / C->sr;
            double nz = rng_noise(&C->r);
            bp1 += 0.35 * (nz - bp1);
            bp2 += 0.35 * (bp1 - bp2);
            v = 0.5 * sin(ph) * exp(-t / 0.05) + 1.2 * (bp1 - bp2) * exp(-t / 0.09);
        } else { /* hat: high-passed noise */
            double nz = rng_noise(&C->r);
            lp = nz - prev;
            prev = nz;
            v = 0.5 * lp * exp(-t / A->hat_decay);
        }
        h->x[i] = (float)v;
    }
}

static void hit_mix(syn_ctx *C, const syn_hit *h, size_t at, float amp)
{
    if (!h->x || at >= C->n) return;
    size_t n = h->n < C->n - at ? h->n : C->n - at;
    for (size_t i = 0; i < n; i++) C->mix[at + i] += amp * h->x[i];
}

/* renders one song into C->mix (C->n samples) */
static void song_render(syn_ctx *C, uint64_t seed, int artist, int song, int n_genres, int n_moods, int *genre,
                        int *mood)
{
    syn_artist A;
    artist_make(seed, artist, n_genres, &A);
    int mi = (artist + song) % n_moods;
    syn_mood M;
    mood_make(mi, &M);
    *genre = A.genre;
    *mood = mi;
    rng_seed(&C->r, seed, 4, ((uint64_t)artist << 20) ^ (uint64_t)song);
    syn_rng *r = &C->r;
    memset(C->mix, 0, C->n * sizeof(float));

    double tempo = A.tempo * M.tempo * rng_range(r, 0.96, 1.04);
    double step_s = 60.0 / tempo / 4.0;
    size_t step = (size_t)(step_s * C->sr);
    double bright = M.bright + 0.5 * A.tilt;
    wave_make(C, &A.lead, bright, &C->lead);
    wave_make(C, &A.bass, bright, &C->bass);
    wave_make(C, &A.pad, bright, &C->pad);
    syn_hit hits[3];
    for (int k = 0; k < 3; k++) hit_make(C, &hits[k], k, &A);
    const int *scale = M.minor ? syn_minor : syn_major;
    int prog = rng_u(r) < 0.75 ? A.prog : rng_int(r, 8);
    int tonic = 48 + A.tonic;
    double vel_lo = 0.55 + 0.35 * M.level;
    size_t n_steps = C->n / step + 1;
    int degree = 0, hold = 0;
    for (size_t s = 0; s < n_steps; s++) {
        int bar = (int)(s / 16), st = (int)(s % 16);
        size_t at = s * step + (st % 2 == 1 ? (size_t)(A.swing * step) : 0); /* swung off-beats */
        int chord = syn_progs[prog][bar % 4];
        /* drums */
        float dl = (float)(A.drum_level * (0.6 + 0.4 * M.level));
        if (rng_u(r) < A.kick[st]) hit_mix(C, &hits[0], at, dl * (float)rng_range(r, vel_lo, 1.0));
        if (rng_u(r) < A.snare[st]) hit_mix(C, &hits[1], at, 0.7f * dl * (float)rng_range(r, vel_lo, 1.0));
        if (rng_u(r) < A.hat[st] * (0.5 + 0.5 * M.density)) hit_mix(C, &hits[2], at, 0.5f * dl * (float)rng_range(r, vel_lo, 1.0));
        /* bass on beats (and off-beats when dense) */
        if (st % 4 == 0 || (st % 4 == 2 && rng_u(r) < M.density * 0.5)) {
            int root = scale[chord % 7] + 12 * (chord / 7);
            render_note(C, &C->bass, &A.bass, at, (size_t)(step * (st % 4 == 0 ? 2 : 1)), midi_hz(tonic - 12 + root),
                        0.5 * rng_range(r, vel_lo, 1.0));
        }
        /* pad: the bar's chord */
        if (st == 0) {
            for (int v = 0; v < 3; v++) {
                int d = chord + 2 * v;
                int m = tonic + scale[d % 7] + 12 * (d / 7);
                render_note(C, &C->pad, &A.pad, at, 16 * step, midi_hz(m), 0.16);
            }
        }
        /* lead melody */
        if (hold > 0) { hold--; continue; }
        if (rng_u(r) < A.rest + (1 - M.density) * 0.3) continue;
        if (rng_u(r) < A.melody_step) degree += rng_u(r) < 0.5 ? 1 : -1;
        else degree = chord + 2 * rng_int(r, 3) + (rng_u(r) < 0.3 ? 7 : 0);
        if (degree < 0) degree += 7;
        if (degree > 13) degree -= 7;
        int d = degree;
        if (A.pentatonic && (d % 7 == 3 || d % 7 == 6)) d++; /* skip 4th and 7th */
        int len = rng_u(r) < A.long_notes ? (rng_u(r) < 0.5 ? 4 : 2) : 1;
        hold = len - 1;
        int m = 12 * (A.lead_oct + 1) + A.tonic + scale[d % 7] + 12 * (d / 7);
        render_note(C, &C->lead, &A.lead, at, (size_t)len * step, midi_hz(m), 0.35 * rng_range(r, vel_lo, 1.0));
    }
    for (int k = 0; k < 3; k++) free(hits[k].x);

    /* production: tilt (one-pole lowpass mix), saturation, comb reverb, loudness by mood */
    double cutoff = 2500.0 * pow(2.0, bright + 1.2 * A.tilt);
    if (cutoff > 0.45 * C->sr) cutoff = 0.45 * C->sr;
    float a = (float)(1.0 - exp(-2 * SYN_PI * cutoff / C->sr)), lp = 0;
    float drive = (float)(A.drive + M.drive);
    float *y = C->mix;
    for (size_t i = 0; i < C->n; i++) {
        lp += a * (y[i] - lp);
        float v = lp;
        if (drive > 0.05f) { /* rational tanh approximation, clamped */
            float x = v * (1 + drive);
            x = x > 3 ? 3 : (x < -3 ? -3 : x);
            v = x * (27 + x * x) / (27 + 9 * x * x) / (1 + 0.3f * drive);
        }
        y[i] = v;
    }
    double rv = fmin(0.7, fmax(0.0, A.reverb + M.reverb));
    if (rv > 0.01) {
        const double delays[3] = {0.0297, 0.0371, 0.0411};
        memcpy(C->scratch, y, C->n * sizeof(float));
        for (int c = 0; c < 3; c++) {
            size_t d = (size_t)(delays[c] * C->sr);
            float fb = 0.78f;
            float *z = C->scratch;
            for (size_t i = d; i < C->n; i++) z[i] += fb * z[i - d] * 0.33f;
        }
        for (size_t i = 0; i < C->n; i++) y[i] = (float)((1 - rv) * y[i] + rv * C->scratch[i]);
    }
    float peak = 1e-9f;
    for (size_t i = 0; i < C->n; i++) {
        float v = y[i] < 0 ? -y[i] : y[i];
        peak = v > peak ? v : peak;
    }
    float g = (float)(0.95 * M.level) / peak;
    for (size_t i = 0; i < C->n; i++) y[i] *= g;
}

/* ---------------- the job ---------------- */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return util_fail(err, errlen, UTIL_EFAIL, "cannot create directory %s: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static int format_of(const char *name, int *sf_format, const char **ext)
{
    if (!strcmp(name, "wav")) { *sf_format = SF_FORMAT_WAV | SF_FORMAT_PCM_16; *ext = "wav"; return 0; }
    if (!strcmp(name, "flac")) { *sf_format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16; *ext = "flac"; return 0; }
    if (!strcmp(name, "ogg")) { *sf_format = SF_FORMAT_OGG | SF_FORMAT_VORBIS; *ext = "ogg"; return 0; }
    if (!strcmp(name, "mp3")) { *sf_format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III; *ext = "mp3"; return 0; }
    return -1;
}

static int write_audio(const char *path, const float *x, size_t n, int sr, int fmt, char *err, size_t errlen)
{
    SF_INFO info = {.samplerate = sr, .channels = 1, .format = fmt};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) return util_fail(err, errlen, UTIL_EFAIL, "cannot write %s: %s", path, sf_strerror(NULL));
    sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t w = sf_writef_float(sf, x, (sf_count_t)n);
    int bad = w != (sf_count_t)n;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", sf_strerror(sf));
    if (sf_close(sf) != 0 || bad) return util_fail(err, errlen, UTIL_EFAIL, "cannot write %s: %s", path, msg);
    return 0;
}

int job_synth_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *out = NULL, *format = NULL;
    int n_artists, n_songs, n_genres, n_moods, sr, seed, offset, quiet;
    double seconds;
    util_opt opts[] = {
        {"out", UTIL_OPT_STRING, &out, "", "output folder (created): audio in one subfolder per artist + tracks.tsv", 0, 0, 1},
        {"artists", UTIL_OPT_INT, &n_artists, "20", "number of artists", 1, 100000, 0},
        {"songs", UTIL_OPT_INT, &n_songs, "10", "songs per artist", 1, 10000, 0},
        {"genres", UTIL_OPT_INT, &n_genres, "4", "number of genres (artist k belongs to genre k mod genres)", 1, 1000, 0},
        {"moods", UTIL_OPT_INT, &n_moods, "4", "number of moods (happy, sad, angry, calm, then generated ones)", 1, 64, 0},
        {"seconds", UTIL_OPT_DOUBLE, &seconds, "30", "length of each song in seconds", 0.1, 3600, 0},
        {"sr", UTIL_OPT_INT, &sr, "22050", "sample rate of the files (Hz)", 8000, 192000, 0},
        {"format", UTIL_OPT_STRING, &format, "wav", "audio format: wav, flac, ogg or mp3", 0, 0, 0},
        {"seed", UTIL_OPT_INT, &seed, "1", "random seed (artists and songs; genres and moods are fixed)", 0, 2147483647, 0},
        {"artist-offset", UTIL_OPT_INT, &offset, "0",
         "number of the first artist: corpora with disjoint ranges share no artist", 0, 100000000, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, NULL, "no progress lines", 0, 0, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    int rc = util_opts_parse("synth", "Make a synthetic corpus with artist, genre and mood structure (deterministic for a seed).",
                             opts, argc, argv, err, errlen);
    if (rc == UTIL_HELP && rank != 0) rc = UTIL_HELP;
    if (rc != UTIL_OK) return rc;
    int sf_format;
    const char *ext;
    if (format_of(format, &sf_format, &ext) != 0)
        return util_fail(err, errlen, UTIL_EUSAGE, "--format must be wav, flac, ogg or mp3, got '%s'", format);
    if ((long)n_artists * n_songs > 100000000L)
        return util_fail(err, errlen, UTIL_EUSAGE, "too many songs (%d x %d)", n_artists, n_songs);

    syn_ctx C;
    memset(&C, 0, sizeof C);
    C.sr = sr;
    C.n = (size_t)(seconds * sr);
    if (C.n < 1) C.n = 1;
    C.mix = malloc(C.n * sizeof(float));
    C.scratch = malloc(C.n * sizeof(float));
    C.spec = fftwf_malloc((SYN_TABLE / 2 + 1) * sizeof(fftwf_complex));
    C.tabbuf = fftwf_malloc(SYN_TABLE * sizeof(float));
    if (C.mix && C.scratch && C.spec && C.tabbuf)
        C.plan = fftwf_plan_dft_c2r_1d(SYN_TABLE, C.spec, C.tabbuf, FFTW_ESTIMATE);
    if (!C.plan) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory for %zu samples", C.n);
    if (rc == UTIL_OK) rc = mkdir_p(out, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);

    long total = (long)n_artists * n_songs, mine = 0;
    util_progress prog;
    util_progress_start(&prog, "synth", "songs", total, rank == 0 && !quiet);
    char path[4096], rel[512];
    for (long i = rank; rc == UTIL_OK && i < total; i += size) {
        if (util_interrupted()) {
            rc = util_fail(err, errlen, UTIL_EINTR, "interrupted");
            break;
        }
        int artist = offset + (int)(i / n_songs), song = (int)(i % n_songs), g, m;
        song_render(&C, (uint64_t)seed, artist, song, n_genres, n_moods, &g, &m);
        snprintf(rel, sizeof rel, "a%04d", artist);
        snprintf(path, sizeof path, "%s/%s", out, rel);
        rc = mkdir_p(path, err, errlen);
        if (rc != UTIL_OK) break;
        snprintf(path, sizeof path, "%s/a%04d/a%04d_s%02d.%s", out, artist, artist, song, ext);
        rc = write_audio(path, C.mix, C.n, sr, sf_format, err, errlen);
        mine++;
        prog.audio_seconds += seconds * size;
        util_progress_update(&prog, mine * size < total ? mine * size : total, 0);
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc == UTIL_OK && rank == 0) {
        snprintf(path, sizeof path, "%s/tracks.tsv", out);
        FILE *f = fopen(path, "w");
        if (!f) rc = util_fail(err, errlen, UTIL_EFAIL, "cannot write %s: %s", path, strerror(errno));
        else {
            fprintf(f, "path\tid\tartist\tgenre\tmood\n");
            for (long i = 0; i < total; i++) {
                int artist = offset + (int)(i / n_songs), song = (int)(i % n_songs);
                syn_mood M;
                mood_make((artist + song) % n_moods, &M);
                fprintf(f, "a%04d/a%04d_s%02d.%s\ta%04d_s%02d\ta%04d\tgenre%02d\t%s\n", artist, artist, song, ext, artist,
                        song, artist, artist % n_genres, M.name);
            }
            if (fclose(f) != 0) rc = util_fail(err, errlen, UTIL_EFAIL, "cannot write %s", path);
        }
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc == UTIL_OK) util_progress_finish(&prog, total);
    if (C.plan) fftwf_destroy_plan(C.plan);
    fftwf_free(C.spec);
    fftwf_free(C.tabbuf);
    free(C.mix);
    free(C.scratch);
    return rc;
}
