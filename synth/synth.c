/* synth.c - the synthetic world behind `artistnet synth` (synth.h): a music corpus with the structure
 * the paper's method exploits (Park et al. 2017: a net trained to tell ARTISTS apart yields features
 * that transfer to GENRE and MOOD of artists it never heard). The world is built so that this holds
 * for the reasons it holds in music, and so that a frame-averaged spectrum (the log-mel mean/std
 * baseline) is a weak shortcut:
 *   - GENRE (fixed by its index, so separate corpora share genre meaning) is how the music MOVES: a tempo
 *     centre (72..168 BPM), 16-step kick/snare/hat patterns, swing, syncopation, bass and melody rhythms,
 *     harmonic rhythm, an accompaniment style (held chords, rhythmic stabs or arpeggios), articulation
 *     (attack and decay factors), beat-synchronous ducking, a little distortion. Hit and note densities
 *     are set in events per SECOND, not per bar, so a slow and a fast genre play about as many events
 *     per second: their frame statistics barely differ, their 3-s time patterns do.
 *   - ARTISTS (seed + global artist number) belong to genre (number mod genres) and play its patterns
 *     with a few steps of their own, at their own tempo (+-5%). Instruments come from a shared pool of
 *     presets (harmonic spectra with a formant, envelopes, vibrato, breath noise; drum kits), as
 *     real artists share instruments (two lead presets per artist, the second on about a third of the
 *     songs): timbre alone rarely identifies an artist, and it is independent of genre. Production is
 *     the strongest stationary mark and is irrelevant to genre and mood; half of it belongs to the
 *     artist (spectral tilt, one peaking EQ, a top cut, reverb, per-instrument balance +-5 dB,
 *     mastering loudness) and half to the song, as albums are produced differently (tilt +-0.8 of the
 *     artist's +-0.6 range, a second peaking EQ, balance +-5 dB, loudness +-3 dB): the net cannot
 *     learn artists from production alone. Keys change from song to song (no artist has a key).
 *   - MOOD: every artist has a DOMINANT mood (any genres x moods consecutive artists hold every
 *     (genre, mood) pair once), and each song keeps it with probability 0.85, else takes another;
 *     the list carries the song's own mood. A mood is mostly how the music moves in time: tempo
 *     (x0.72..1.3), the drum feel (sad: half time, the bar's pattern spread over two bars; angry:
 *     double time, the pattern's beats on every eighth; calm: hats on the beats only; happy: as
 *     written), bounce (swung off-beats: happy), melodic contour (rising lines: happy, falling lines
 *     and arpeggios: sad), mode (major/minor), articulation (legato, attack), accents (velocity
 *     contrast of strong and weak steps), slow swells, vibrato (sad), tremolo picking (angry). What
 *     it does to the long-term spectrum is kept small next to production: density of optional notes
 *     and hits (0.6..0.85), brightness (+-0.1 of the tilt unit), loudness (+-0.5 dB), a little
 *     distortion (angry). Contour, bounce and accents are orders in time: a clip played backwards
 *     has the same frame statistics. Because moods mostly follow artists, a net that learns artists
 *     learns mood; a frame-averaged spectrum hears less of it.
 *   - So artist identity needs a combination of cues (preset combination, production, tempo, pattern,
 *     dominant mood) and the net's features must carry rhythm, articulation and dynamics, which are
 *     what genre and mood of unseen artists are made of.
 * Rendering: band-limited wavetables per octave (built with an FFTW c2r), exponential envelopes,
 * pre-rendered drum hits, RBJ biquads, a small comb reverb; all deterministic from the seed with a
 * private PRNG (splitmix64 -> xoshiro256**). Songs are independent (seeded by seed, artist, song), so
 * ranks take songs round-robin and the output does not depend on the number of ranks; rank 0 writes
 * DIR/tracks.tsv (`path id artist genre mood`, paths relative to DIR). Audio via libsndfile:
 * wav (PCM 16), flac (PCM 16), ogg (Vorbis), mp3 (MPEG layer III, libsndfile >= 1.1).
 * Determinism: wav, flac and mp3 files are byte-identical for a seed at any rank count; Ogg files
 * differ only in the stream serial number libsndfile draws at random, their decoded audio is identical. */
#include "synth/synth.h"
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
    double kick_hz, kick_decay, kick_sweep, snare_hz, snare_tone, snare_colour, snare_decay, hat_decay, hat_colour;
} syn_kit;

/* a genre: how the music MOVES (all fixed by the genre's index) */
typedef struct {
    double tempo, swing;
    double kick[16], snare[16], hat[16]; /* hit probabilities per 16th step */
    double bass[16], lead[16], stab[16]; /* onset probabilities per 16th step */
    double bass_len, lead_long, lead_step;
    int chord_steps;  /* harmonic rhythm: 8, 16 or 32 sixteenths per chord */
    int pad_style;    /* 0 held chords, 1 rhythmic stabs, 2 arpeggio */
    double attack, decay; /* articulation: factors on the instruments' attack and decay */
    double pump;      /* beat-synchronous ducking depth */
    double drive;
    int prog[2];
} syn_genre;

typedef struct {
    const char *name;
    double tempo;   /* factor on the artist's tempo */
    int minor;
    double bright;  /* tilt, in units of ~9 dB at the top of the spectrum */
    double density; /* 0..1: share of optional notes and hits played */
    double legato;  /* factor on sounding note lengths */
    double attack;  /* factor on attack times */
    double accent;  /* velocity contrast between strong and weak steps */
    double swell;   /* depth of slow (two-bar) dynamics */
    double level;   /* dB on the artist's loudness */
    double drive;
    double bounce;  /* swing of the off-beats (at least this much) */
    double vibrato; /* pitch vibrato depth of melody and chords (fraction of frequency) */
    int tremolo;    /* melody notes re-struck on every sixteenth */
    double contour; /* -1..1: melody and arpeggios mostly descend .. mostly ascend */
    int feel;       /* drum feel: 0 the pattern as written, 1 half time (the bar's pattern over two bars),
                     * 2 double time (its quarter steps on every eighth), 3 hats on the beats only */
} syn_mood;

#define SYN_POOL_LEAD 12
#define SYN_POOL_BASS 8
#define SYN_POOL_PAD 10
#define SYN_POOL_KIT 8

typedef struct {
    int genre, mood;       /* mood: the artist's dominant mood */
    double tempo;          /* BPM centre */
    int lead[2], bass, pad, kit; /* instrument presets (lead[0] primary, lead[1] occasional) */
    double formant_shift, slope_shift, kit_tune;
    double kick[16], snare[16], hat[16], bass_pat[16], lead_pat[16], stab[16];
    double lead_oct, lead_step, lead_long, bass_len;
    /* production */
    double tilt, eq_hz[2], eq_db[2], eq_q[2], lowpass, drive, reverb, loud_db;
    double gain_lead, gain_bass, gain_pad, gain_drums; /* dB */
    int prog;
} syn_artist;

/* progressions as scale degrees (0-based) of four chords */
static const int syn_progs[8][4] = {{0, 4, 5, 3}, {0, 5, 3, 4}, {0, 3, 4, 4}, {5, 3, 0, 4},
                                    {0, 6, 5, 6}, {0, 0, 3, 4}, {1, 4, 0, 0}, {0, 3, 0, 4}};
static const int syn_major[7] = {0, 2, 4, 5, 7, 9, 11}, syn_minor[7] = {0, 2, 3, 5, 7, 8, 10};

/* `hits` distinct steps drawn with probability proportional to w (step 0 first when force0) */
static void pattern_make(syn_rng *r, double *p, int hits, const double *w, int force0, double p_lo)
{
    double ww[16];
    memcpy(ww, w, sizeof ww);
    memset(p, 0, 16 * sizeof(double));
    if (hits > 16) hits = 16;
    for (int h = 0; h < hits; h++) {
        int s = 0;
        if (!(force0 && h == 0)) {
            double tot = 0;
            for (int k = 0; k < 16; k++) tot += ww[k];
            if (tot <= 0) break;
            double u = rng_u(r) * tot;
            for (s = 0; s < 15 && u >= ww[s]; s++) u -= ww[s];
        }
        p[s] = rng_range(r, p_lo, 1.0);
        ww[s] = 0;
    }
}

/* hits per bar for a density in hits per second: the same density at any tempo, so the frame
 * statistics of a genre's drums do not give its tempo away */
static int per_bar(double per_s, double tempo, int lo, int hi)
{
    int n = (int)lround(per_s * 240.0 / tempo);
    return n < lo ? lo : (n > hi ? hi : n);
}

static void genre_make(int g, syn_genre *G)
{
    syn_rng r;
    rng_seed(&r, SYN_WORLD, 1, (uint64_t)g);
    /* tempo centres spread over 72..168 BPM by the golden ratio, so any number of genres differ */
    G->tempo = 72 + 96 * fmod(0.5 + g * 0.6180339887, 1.0);
    G->swing = rng_u(&r) < 0.4 ? rng_range(&r, 0.12, 0.3) : 0;
    double sync = rng_range(&r, 0.3, 2.5); /* weight of off-beat 16ths: syncopation */
    int backbeat = rng_u(&r) < 0.6;
    double w_kick[16], w_snare[16], w_hat[16], w_bass[16], w_stab[16];
    for (int s = 0; s < 16; s++) {
        double beat = s % 4 == 0 ? 4.0 : (s % 2 == 0 ? 1.5 : 0.6 * sync);
        w_kick[s] = beat * rng_range(&r, 0.3, 1.7);
        w_snare[s] = backbeat ? (s == 4 || s == 12 ? 40.0 : 0.3 * sync) : rng_range(&r, 0.2, 1.5) * (s % 4 ? 1.0 : 0.2);
        w_hat[s] = s % 2 == 0 ? 3.0 : 1.0 * sync;
        w_bass[s] = (s % 4 == 0 ? 3.0 : (s % 2 == 0 ? 1.2 : 0.8 * sync)) * rng_range(&r, 0.3, 1.7);
        w_stab[s] = (s % 2 == 1 ? sync : (s % 4 == 2 ? 2.0 : 0.5)) * rng_range(&r, 0.3, 1.7);
    }
    pattern_make(&r, G->kick, per_bar(rng_range(&r, 1.5, 2.5), G->tempo, 1, 8), w_kick, 1, 0.8);
    pattern_make(&r, G->snare, per_bar(rng_range(&r, 0.8, 1.3), G->tempo, 1, 6), w_snare, 0, 0.8);
    pattern_make(&r, G->hat, per_bar(rng_range(&r, 3.5, 5.5), G->tempo, 2, 16), w_hat, 0, 0.6);
    pattern_make(&r, G->bass, per_bar(rng_range(&r, 1.5, 2.8), G->tempo, 1, 12), w_bass, 1, 0.8);
    pattern_make(&r, G->stab, per_bar(rng_range(&r, 1.0, 2.2), G->tempo, 1, 10), w_stab, 0, 0.8);
    /* melody onsets: a per-step profile scaled to about 2.5 onsets per second */
    double lead_w[16], tot = 0;
    for (int s = 0; s < 16; s++) tot += lead_w[s] = (s % 2 == 0 ? 1.0 : 0.5 * sync) * rng_range(&r, 0.1, 1.0);
    double want = rng_range(&r, 2.0, 3.2) * 240.0 / G->tempo;
    for (int s = 0; s < 16; s++) G->lead[s] = fmin(1.0, lead_w[s] * want / tot);
    G->bass_len = rng_range(&r, 1.0, 4.0);
    G->lead_long = rng_range(&r, 0.05, 0.6);
    G->lead_step = rng_range(&r, 0.3, 0.85);
    static const int cs[3] = {8, 16, 32};
    G->chord_steps = cs[rng_int(&r, 3)];
    G->pad_style = g % 3; /* every style in use even with few genres */
    G->attack = exp(rng_range(&r, log(0.4), log(3.0)));
    G->decay = exp(rng_range(&r, log(0.35), log(2.5)));
    G->pump = rng_u(&r) < 0.45 ? rng_range(&r, 0.35, 0.7) : 0;
    G->drive = rng_u(&r) < 0.25 ? rng_range(&r, 0.8, 2.0) : rng_range(&r, 0.0, 0.3);
    G->prog[0] = rng_int(&r, 8);
    G->prog[1] = (G->prog[0] + 1 + rng_int(&r, 7)) % 8;
}

static void mood_make(int j, syn_mood *M)
{
    static const syn_mood base[4] = {
        /* name    tempo minor bright dens legato attack accent swell level drive bounce vibrato tremolo contour feel */
        {"happy", 1.12, 0, 0.1, 0.8, 0.45, 0.5, 0.5, 0.0, 0.5, 0.0, 0.33, 0.0, 0, 0.8, 0},
        {"sad", 0.72, 1, -0.1, 0.6, 1.8, 3.0, 0.2, 0.15, -0.5, 0.0, 0.0, 0.008, 0, -0.85, 1},
        {"angry", 1.3, 1, 0.12, 0.85, 0.75, 0.25, 0.7, 0.0, 0.5, 0.5, 0.0, 0.0, 1, 0.0, 2},
        {"calm", 0.92, 0, -0.08, 0.6, 1.8, 3.0, 0.2, 0.15, -0.5, 0.0, 0.0, 0.0, 0, 0.3, 3},
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
    M->tempo = rng_range(&r, 0.84, 1.16);
    M->minor = rng_int(&r, 2);
    M->bright = rng_range(&r, -0.25, 0.3);
    M->density = rng_range(&r, 0.4, 0.95);
    M->legato = exp(rng_range(&r, log(0.55), log(1.8)));
    M->attack = exp(rng_range(&r, log(0.3), log(3.0)));
    M->accent = rng_range(&r, 0.05, 0.85);
    M->swell = rng_u(&r) < 0.4 ? rng_range(&r, 0.2, 0.6) : 0;
    M->level = rng_range(&r, -2, 2);
    M->drive = rng_u(&r) < 0.3 ? rng_range(&r, 0.5, 1.2) : 0;
    M->bounce = rng_u(&r) < 0.3 ? rng_range(&r, 0.15, 0.3) : 0;
    M->vibrato = rng_u(&r) < 0.3 ? rng_range(&r, 0.01, 0.02) : 0;
    M->tremolo = rng_u(&r) < 0.25;
    M->contour = rng_range(&r, -0.85, 0.85);
    M->feel = rng_int(&r, 4);
}

/* instrument presets shared by all artists (a world, not a seed, property): kind 0 lead, 1 bass, 2 pad */
static void preset_make(int kind, int k, syn_timbre *T)
{
    static const double f_lo[3] = {400, 100, 300}, f_hi[3] = {4000, 800, 2500}, sus[3] = {0.7, 0.5, 0.9};
    syn_rng r;
    rng_seed(&r, SYN_WORLD, 6, (uint64_t)(kind * 1000 + k));
    T->slope = rng_range(&r, 0.6, 2.2);
    T->odd = rng_range(&r, 0.0, 1.0);
    T->formant = exp(rng_range(&r, log(f_lo[kind]), log(f_hi[kind])));
    T->formant_gain = rng_range(&r, 1.0, 8.0);
    T->formant_width = rng_range(&r, 0.15, 0.6); /* in octaves */
    T->attack = kind == 2 ? rng_range(&r, 0.04, 0.2) : rng_range(&r, 0.003, 0.03);
    T->decay = rng_range(&r, 0.1, 0.8);
    T->sustain = sus[kind] * rng_range(&r, 0.3, 1.0);
    T->vib_rate = rng_range(&r, 3.5, 7.0);
    T->vib_depth = rng_u(&r) < 0.5 ? rng_range(&r, 0.002, 0.012) : 0;
    T->noise = rng_range(&r, 0.0, 0.2);
}

static void kit_make(int k, syn_kit *K)
{
    syn_rng r;
    rng_seed(&r, SYN_WORLD, 7, (uint64_t)k);
    K->kick_hz = rng_range(&r, 42, 72);
    K->kick_decay = rng_range(&r, 0.07, 0.25);
    K->kick_sweep = rng_range(&r, 1.0, 3.5);
    K->snare_hz = rng_range(&r, 150, 280);
    K->snare_tone = rng_range(&r, 0.2, 0.8);
    K->snare_colour = rng_range(&r, 0.15, 0.6);
    K->snare_decay = rng_range(&r, 0.05, 0.18);
    K->hat_decay = rng_range(&r, 0.015, 0.07);
    K->hat_colour = rng_range(&r, 0.0, 0.8);
}

/* the genre's pattern with a few steps of the artist's own */
static void pattern_vary(syn_rng *r, const double *g, double *a, double flip, int keep0)
{
    for (int s = 0; s < 16; s++) a[s] = rng_u(r) < flip ? (g[s] > 0 ? 0 : rng_range(r, 0.5, 0.9)) : g[s];
    if (keep0) a[0] = g[0];
}

/* the artist's dominant mood: (artist / genres + an offset drawn from the seed) mod moods. Any
 * genres x moods consecutive artists (from any first number) then hold every (genre, mood) pair
 * once, so small corpora and --artist-offset ranges are balanced */
static int artist_mood(uint64_t seed, int artist, int n_genres, int n_moods)
{
    syn_rng r;
    rng_seed(&r, seed, 8, 0);
    return (int)(((long)(artist / n_genres) + rng_int(&r, n_moods)) % n_moods);
}

/* the song's mood: the artist's dominant mood with probability SYN_MOOD_KEEP, else another */
#define SYN_MOOD_KEEP 0.85
static int song_mood(uint64_t seed, int artist, int song, int n_genres, int n_moods)
{
    int dom = artist_mood(seed, artist, n_genres, n_moods);
    if (n_moods < 2) return dom;
    syn_rng r;
    rng_seed(&r, seed, 5, ((uint64_t)artist << 20) ^ (uint64_t)song);
    if (rng_u(&r) < SYN_MOOD_KEEP) return dom;
    return (dom + 1 + rng_int(&r, n_moods - 1)) % n_moods;
}

static void artist_make(uint64_t seed, int artist, int n_genres, int n_moods, syn_artist *A)
{
    syn_rng r;
    rng_seed(&r, seed, 3, (uint64_t)artist);
    A->genre = artist % n_genres;
    A->mood = artist_mood(seed, artist, n_genres, n_moods);
    syn_genre G;
    genre_make(A->genre, &G);
    A->tempo = G.tempo * rng_range(&r, 0.95, 1.05);
    A->lead[0] = rng_int(&r, SYN_POOL_LEAD);
    A->lead[1] = (A->lead[0] + 1 + rng_int(&r, SYN_POOL_LEAD - 1)) % SYN_POOL_LEAD;
    A->bass = rng_int(&r, SYN_POOL_BASS);
    A->pad = rng_int(&r, SYN_POOL_PAD);
    A->kit = rng_int(&r, SYN_POOL_KIT);
    A->formant_shift = exp(rng_range(&r, -0.2, 0.2));
    A->slope_shift = rng_range(&r, -0.2, 0.2);
    A->kit_tune = exp(rng_range(&r, -0.12, 0.12));
    pattern_vary(&r, G.kick, A->kick, 0.08, 1);
    pattern_vary(&r, G.snare, A->snare, 0.06, 0);
    pattern_vary(&r, G.hat, A->hat, 0.08, 0);
    pattern_vary(&r, G.bass, A->bass_pat, 0.08, 1);
    pattern_vary(&r, G.stab, A->stab, 0.08, 0);
    for (int s = 0; s < 16; s++) A->lead_pat[s] = fmin(1.0, G.lead[s] * rng_range(&r, 0.7, 1.3));
    A->lead_oct = 4 + rng_int(&r, 2);
    A->lead_step = fmin(0.95, G.lead_step * rng_range(&r, 0.8, 1.2));
    A->lead_long = fmin(0.9, G.lead_long * rng_range(&r, 0.7, 1.4));
    A->bass_len = G.bass_len * rng_range(&r, 0.8, 1.25);
    A->prog = G.prog[rng_int(&r, 2)];
    /* production: strong, artist-specific colouring of the spectrum and the balance */
    A->tilt = rng_range(&r, -0.6, 0.6);
    for (int k = 0; k < 2; k++) { /* only eq [0] is used: song_render draws the second EQ per song */
        A->eq_hz[k] = exp(rng_range(&r, log(150.0), log(7000.0)));
        A->eq_db[k] = rng_range(&r, -8, 8);
        A->eq_q[k] = rng_range(&r, 0.6, 2.0);
    }
    A->lowpass = exp(rng_range(&r, log(3500.0), log(10500.0)));
    A->drive = G.drive * rng_range(&r, 0.5, 1.5);
    A->reverb = rng_range(&r, 0.0, 0.45);
    A->loud_db = rng_range(&r, -24, -14);
    A->gain_lead = rng_range(&r, -5, 5);
    A->gain_bass = rng_range(&r, -5, 5);
    A->gain_pad = rng_range(&r, -5, 5);
    A->gain_drums = rng_range(&r, -5, 5);
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

/* a drum hit rendered once per song, mixed at each step */
typedef struct {
    float *x;
    size_t n;
} syn_hit;

static void hit_make(syn_ctx *C, syn_hit *h, int kind, const syn_kit *K, double tune)
{
    h->n = (size_t)(0.4 * C->sr);
    h->x = calloc(h->n, sizeof(float));
    if (!h->x) return;
    double ph = 0, bp1 = 0, bp2 = 0, prev = 0, lp = 0;
    double sc = K->snare_colour, hc = K->hat_colour;
    for (size_t i = 0; i < h->n; i++) {
        double t = (double)i / C->sr, v;
        if (kind == 0) { /* kick: falling sine */
            double f = K->kick_hz * tune * (1 + K->kick_sweep * exp(-t / 0.03));
            ph += 2 * SYN_PI * f / C->sr;
            v = sin(ph) * exp(-t / K->kick_decay);
        } else if (kind == 1) { /* snare: tone + band-passed noise */
            ph += 2 * SYN_PI * K->snare_hz * tune / C->sr;
            double nz = rng_noise(&C->r);
            bp1 += sc * (nz - bp1);
            bp2 += sc * (bp1 - bp2);
            v = K->snare_tone * sin(ph) * exp(-t / 0.05) + 1.2 * (bp1 - bp2) * exp(-t / K->snare_decay);
        } else { /* hat: high-passed noise, some of it smoothed */
            double nz = rng_noise(&C->r);
            double hp = nz - prev;
            prev = nz;
            lp += (1 - hc) * (hp - lp);
            v = 0.5 * lp * exp(-t / K->hat_decay);
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

/* RBJ cookbook biquads (direct form I, double state), applied in place */
typedef struct { double b0, b1, b2, a1, a2; } syn_biquad;

static syn_biquad biquad_make(int type, double f0, double db, double q, int sr)
{
    double A = pow(10.0, db / 40.0), w = 2 * SYN_PI * fmin(f0, 0.45 * sr) / sr, cw = cos(w), sw = sin(w);
    double b0, b1, b2, a0, a1, a2;
    if (type == 0) { /* peaking */
        double al = sw / (2 * q);
        b0 = 1 + al * A, b1 = -2 * cw, b2 = 1 - al * A, a0 = 1 + al / A, a1 = -2 * cw, a2 = 1 - al / A;
    } else { /* shelves with slope 1: type 1 low, 2 high */
        double al = sw / 2 * sqrt(2.0), s = 2 * sqrt(A) * al, sg = type == 1 ? 1.0 : -1.0;
        b0 = A * ((A + 1) - sg * (A - 1) * cw + s);
        b1 = sg * 2 * A * ((A - 1) - sg * (A + 1) * cw);
        b2 = A * ((A + 1) - sg * (A - 1) * cw - s);
        a0 = (A + 1) + sg * (A - 1) * cw + s;
        a1 = -sg * 2 * ((A - 1) + sg * (A + 1) * cw);
        a2 = (A + 1) + sg * (A - 1) * cw - s;
    }
    syn_biquad f = {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
    return f;
}

static void biquad_run(const syn_biquad *f, float *y, size_t n)
{
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = y[i], v = f->b0 * x + f->b1 * x1 + f->b2 * x2 - f->a1 * y1 - f->a2 * y2;
        x2 = x1, x1 = x, y2 = y1, y1 = v;
        y[i] = (float)v;
    }
}

static double db_gain(double db) { return pow(10.0, db / 20.0); }

/* renders one song into C->mix (C->n samples) */
static void song_render(syn_ctx *C, uint64_t seed, int artist, int song, int n_genres, int n_moods, int *genre,
                        int *mood)
{
    syn_artist A;
    artist_make(seed, artist, n_genres, n_moods, &A);
    syn_genre G;
    genre_make(A.genre, &G);
    int mi = song_mood(seed, artist, song, n_genres, n_moods);
    syn_mood M;
    mood_make(mi, &M);
    *genre = A.genre;
    *mood = mi;
    rng_seed(&C->r, seed, 4, ((uint64_t)artist << 20) ^ (uint64_t)song);
    syn_rng *r = &C->r;
    memset(C->mix, 0, C->n * sizeof(float));

    /* the song's instruments: the artist's presets, articulated by genre and mood */
    syn_timbre lead, bass, pad;
    preset_make(0, A.lead[rng_u(r) < 0.65 ? 0 : 1], &lead);
    preset_make(1, A.bass, &bass);
    preset_make(2, A.pad, &pad);
    syn_timbre *T3[3] = {&lead, &bass, &pad};
    for (int k = 0; k < 3; k++) {
        syn_timbre *T = T3[k];
        T->formant *= A.formant_shift;
        T->slope = fmax(0.4, T->slope + A.slope_shift);
        T->attack *= G.attack * M.attack;
        T->decay *= G.decay;
        if (M.vibrato > 0 && k != 1) {
            T->vib_depth = M.vibrato;
            T->vib_rate = 5.0;
        }
    }
    double swing = fmax(G.swing, M.bounce);
    syn_kit K;
    kit_make(A.kit, &K);

    double tempo = A.tempo * M.tempo * rng_range(r, 0.96, 1.04);
    double step_s = 60.0 / tempo / 4.0;
    size_t step = (size_t)(step_s * C->sr);
    double song_tilt = A.tilt + rng_range(r, -0.8, 0.8) + M.bright;
    double bright = 0.5 * M.bright;
    wave_make(C, &lead, bright, &C->lead);
    wave_make(C, &bass, bright, &C->bass);
    wave_make(C, &pad, bright, &C->pad);
    syn_hit hits[3];
    for (int k = 0; k < 3; k++) hit_make(C, &hits[k], k, &K, A.kit_tune);
    const int *scale = M.minor ? syn_minor : syn_major;
    int prog = rng_u(r) < 0.75 ? A.prog : rng_int(r, 8);
    int key = rng_int(r, 12); /* a new key for every song: no artist is told apart by its key */
    int tonic = 48 + key;
    double g_lead = db_gain(A.gain_lead + rng_range(r, -5, 5)), g_bass = db_gain(A.gain_bass + rng_range(r, -5, 5));
    double g_pad = db_gain(A.gain_pad + rng_range(r, -5, 5)), g_drum = db_gain(A.gain_drums + rng_range(r, -5, 5));
    double dens = M.density;
    size_t n_steps = C->n / step + 1;
    int degree = 0, hold = 0, arp = 0;
    for (size_t s = 0; s < n_steps; s++) {
        int st = (int)(s % 16);
        size_t at = s * step + (st % 2 == 1 ? (size_t)(swing * step) : 0); /* swung off-beats */
        int chord = syn_progs[prog][(s / (size_t)G.chord_steps) % 4];
        /* dynamics: accents on strong steps, the mood's contrast between strong and weak */
        double strong = st % 4 == 0 ? 1.0 : (st % 2 == 0 ? 0.55 : 0.2);
        double vel = (1 - M.accent * (1 - strong)) * rng_range(r, 0.85, 1.0);
        /* drums; optional hits (hats, non-downbeat kicks) follow the mood's density */
        float dv = (float)(g_drum * vel);
        int ds = M.feel == 1 ? (int)((s / 2) % 16) : (M.feel == 2 ? (int)((2 * s) % 16) : st);
        if ((M.feel != 1 || s % 2 == 0) && (M.feel != 2 || st % 2 == 0)) { /* half / double time: on 8ths */
            if (rng_u(r) < A.kick[ds] * (ds % 4 == 0 ? 1.0 : 0.4 + 0.6 * dens)) hit_mix(C, &hits[0], at, dv);
            if (rng_u(r) < A.snare[ds]) hit_mix(C, &hits[1], at, 0.7f * dv);
            if (M.feel == 3 ? st % 4 == 0 : rng_u(r) < A.hat[ds] * (0.3 + 0.7 * dens)) hit_mix(C, &hits[2], at, 0.5f * dv);
        }
        /* bass on the pattern */
        if (rng_u(r) < A.bass_pat[st] * (st == 0 ? 1.0 : 0.5 + 0.5 * dens)) {
            int deg = chord + (rng_u(r) < 0.2 ? 4 : 0);
            int root = scale[deg % 7] + 12 * (deg / 7);
            size_t len = (size_t)(fmax(0.5, A.bass_len * M.legato) * step);
            render_note(C, &C->bass, &bass, at, len, midi_hz(tonic - 12 + root), 0.5 * g_bass * vel);
        }
        /* pad: held chords, stabs or an arpeggio, by genre */
        if (G.pad_style == 0 && s % (size_t)G.chord_steps == 0) {
            for (int v = 0; v < 3; v++) {
                int d = chord + 2 * v;
                render_note(C, &C->pad, &pad, at, (size_t)G.chord_steps * step, midi_hz(tonic + scale[d % 7] + 12 * (d / 7)),
                            0.16 * g_pad);
            }
        } else if (G.pad_style == 1 && rng_u(r) < A.stab[st]) {
            for (int v = 0; v < 3; v++) {
                int d = chord + 2 * v;
                render_note(C, &C->pad, &pad, at, (size_t)(fmax(0.5, 1.5 * M.legato) * step),
                            midi_hz(tonic + scale[d % 7] + 12 * (d / 7)), 0.2 * g_pad * vel);
            }
        } else if (G.pad_style == 2 && (st % 2 == 0 || rng_u(r) < dens)) {
            static const int arp_deg[4] = {0, 2, 4, 7};
            int d = chord + arp_deg[M.contour < -0.3 ? 3 - arp++ % 4 : arp++ % 4]; /* sad arpeggios fall */
            render_note(C, &C->pad, &pad, at, (size_t)(fmax(0.4, 0.9 * M.legato) * step),
                        midi_hz(tonic + 12 + scale[d % 7] + 12 * (d / 7)), 0.14 * g_pad * vel);
        }
        /* lead melody */
        if (hold > 0) { hold--; continue; }
        if (rng_u(r) >= A.lead_pat[st] * (0.45 + 0.55 * dens)) continue;
        if (rng_u(r) < A.lead_step) degree += rng_u(r) < 0.5 + 0.45 * M.contour ? 1 : -1;
        else degree = chord + 2 * rng_int(r, 3) + (rng_u(r) < 0.3 ? 7 : 0);
        if (degree < 0) degree += 7;
        if (degree > 13) degree -= 7;
        int len = rng_u(r) < A.lead_long ? (rng_u(r) < 0.5 ? 4 : 2) : 1;
        hold = len - 1;
        int m = 12 * ((int)A.lead_oct + 1) + key + scale[degree % 7] + 12 * (degree / 7);
        if (M.tremolo) { /* re-struck on every sixteenth, the first strike accented */
            for (int k = 0; k < len; k++)
                render_note(C, &C->lead, &lead, at + (size_t)k * step, (size_t)(0.8 * step), midi_hz(m),
                            0.35 * g_lead * vel * (k ? 0.75 : 1.0));
            continue;
        }
        size_t sound = (size_t)(fmax(0.35, fmin(2.0, M.legato)) * len * step);
        render_note(C, &C->lead, &lead, at, sound, midi_hz(m), 0.35 * g_lead * vel);
    }
    for (int k = 0; k < 3; k++) free(hits[k].x);

    /* beat-synchronous ducking (genre) and slow two-bar swells (mood), per block of 64 samples */
    float *y = C->mix;
    double beat_n = 4.0 * step, bar = 16.0 * step;
    for (size_t i0 = 0; i0 < C->n; i0 += 64) {
        double ph = fmod((double)i0, beat_n) / beat_n;
        double g = (1 - G.pump * exp(-ph / 0.18)) * (1 - M.swell * 0.5 * (1 - cos(2 * SYN_PI * (double)i0 / bar)));
        size_t i1 = i0 + 64 < C->n ? i0 + 64 : C->n;
        for (size_t i = i0; i < i1; i++) y[i] *= (float)g;
    }
    /* production: tilt (shelves), two peaking EQs, a lowpass, saturation, reverb, loudness */
    double tilt_db = 9.0 * song_tilt;
    syn_biquad f[5];
    f[0] = biquad_make(1, 250, -0.5 * tilt_db, 0, C->sr);
    f[1] = biquad_make(2, 1500, tilt_db, 0, C->sr);
    f[2] = biquad_make(0, A.eq_hz[0] * exp(rng_range(r, -0.2, 0.2)), A.eq_db[0] + rng_range(r, -3, 3), A.eq_q[0], C->sr);
    f[3] = biquad_make(0, exp(rng_range(r, log(150.0), log(7000.0))), rng_range(r, -9, 9), rng_range(r, 0.6, 2.0), C->sr);
    f[4] = biquad_make(0, fmin(A.lowpass, 0.4 * C->sr), -12, 0.5, C->sr); /* a broad cut near the top */
    for (int k = 0; k < 5; k++) biquad_run(&f[k], y, C->n);
    double rms = 0;
    for (size_t i = 0; i < C->n; i++) rms += (double)y[i] * y[i];
    rms = sqrt(rms / (double)C->n) + 1e-9;
    float drive = (float)(A.drive + M.drive);
    if (drive > 0.05f) { /* rational tanh approximation at a fixed level before the loudness stage */
        float pre = (float)(0.25 / rms);
        for (size_t i = 0; i < C->n; i++) {
            float x = y[i] * pre * (1 + drive);
            x = x > 3 ? 3 : (x < -3 ? -3 : x);
            y[i] = x * (27 + x * x) / (27 + 9 * x * x);
        }
    }
    double rv = fmin(0.7, fmax(0.0, A.reverb + rng_range(r, -0.05, 0.05) + (M.legato > 1 ? 0.1 : 0)));
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
    /* loudness: the artist's mastering level (+ the mood's, + the song's) as RMS, then a soft limiter */
    rms = 0;
    for (size_t i = 0; i < C->n; i++) rms += (double)y[i] * y[i];
    rms = sqrt(rms / (double)C->n) + 1e-9;
    float g = (float)(db_gain(A.loud_db + M.level + rng_range(r, -3, 3)) / rms);
    for (size_t i = 0; i < C->n; i++) {
        float v = y[i] * g, a = fabsf(v);
        if (a > 0.8f) { /* soft knee into 0.99 */
            float e = (a - 0.8f) / 0.19f;
            a = 0.8f + 0.19f * e / (1 + e);
            v = v < 0 ? -a : a;
        }
        y[i] = v;
    }
}

/* ---------------- the corpus: songs over ranks, files, tracks.tsv ---------------- */
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

int synth_corpus_write(const synth_options *o, MPI_Comm comm, char *err, size_t errlen)
{
    const char *out = o->out;
    int n_artists = o->n_artists, n_songs = o->n_songs, n_genres = o->n_genres, n_moods = o->n_moods, sr = o->sr;
    int seed = o->seed, offset = o->artist_offset, quiet = !o->progress;
    double seconds = o->seconds;
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm), rc = UTIL_OK;
    int sf_format;
    const char *ext;
    if (format_of(o->format, &sf_format, &ext) != 0)
        return util_fail(err, errlen, UTIL_EUSAGE, "--format must be wav, flac, ogg or mp3, got '%s'", o->format);
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
                mood_make(song_mood((uint64_t)seed, artist, song, n_genres, n_moods), &M);
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
