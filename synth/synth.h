/* synth.h - the synthetic world (synth/synth.c): a corpus of artists, genres and moods rendered as
 * audio files + tracks.tsv, deterministic for a seed and independent of the rank count. How the world
 * is built is documented at the top of synth/synth.c. `artistnet synth` (jobs/synth.c) parses the
 * options and calls synth_corpus_write. */
#ifndef ARTISTNET_SYNTH_H
#define ARTISTNET_SYNTH_H
#include <mpi.h>
#include <stddef.h>

typedef struct {
    const char *out;    /* output folder (created): DIR/aNNNN/aNNNN_sSS.<ext> + DIR/tracks.tsv */
    const char *format; /* wav, flac, ogg or mp3 */
    int n_artists, n_songs, n_genres, n_moods;
    int sr;             /* sample rate of the files (Hz) */
    int seed;           /* artists and songs; genres and moods are fixed by the world */
    int artist_offset;  /* number of the first artist */
    double seconds;     /* length of each song */
    int progress;       /* rank 0 prints progress lines to stderr */
} synth_options;

/* Collective over comm: ranks render songs round-robin, rank 0 writes tracks.tsv. Returns 0, UTIL_EUSAGE
 * (unknown format, too many songs), UTIL_EFAIL (memory, files) or UTIL_EINTR, the same on every rank. */
int synth_corpus_write(const synth_options *o, MPI_Comm comm, char *err, size_t errlen);

#endif
