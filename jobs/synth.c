/* synth.c - `artistnet synth`: options -> synth_corpus_write (synth/: the synthetic world, documented
 * at the top of synth/synth.c). */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "synth/synth.h"
#include "util/util.h"

int job_synth_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    synth_options o = {0};
    int quiet;
    util_opt opts[] = {
        {"out", UTIL_OPT_STRING, &o.out, "", "output folder (created): audio in one subfolder per artist + tracks.tsv", 0, 0, 1},
        {"artists", UTIL_OPT_INT, &o.n_artists, "20", "number of artists", 1, 100000, 0},
        {"songs", UTIL_OPT_INT, &o.n_songs, "10", "songs per artist", 1, 10000, 0},
        {"genres", UTIL_OPT_INT, &o.n_genres, "4", "number of genres (artist k belongs to genre k mod genres)", 1, 1000, 0},
        {"moods", UTIL_OPT_INT, &o.n_moods, "4", "number of moods (happy, sad, angry, calm, then generated ones); each artist has a dominant one", 1, 64, 0},
        {"seconds", UTIL_OPT_DOUBLE, &o.seconds, "30", "length of each song in seconds", 0.1, 3600, 0},
        {"sr", UTIL_OPT_INT, &o.sr, "22050", "sample rate of the files (Hz)", 8000, 192000, 0},
        {"format", UTIL_OPT_STRING, &o.format, "wav", "audio format: wav, flac, ogg or mp3", 0, 0, 0},
        {"seed", UTIL_OPT_INT, &o.seed, "1", "random seed (artists and songs; genres and moods are fixed)", 0, 2147483647, 0},
        {"artist-offset", UTIL_OPT_INT, &o.artist_offset, "0",
         "number of the first artist: corpora with disjoint ranges share no artist", 0, 100000000, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, NULL, "no progress lines", 0, 0, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("synth", "Make a synthetic corpus with artist, genre and mood structure (deterministic for a seed).",
                             opts, argc, argv, err, errlen);
    if (rc == UTIL_HELP && mpi_util_rank(comm) != 0) rc = UTIL_HELP;
    if (rc != UTIL_OK) return rc;
    o.progress = !quiet;
    return synth_corpus_write(&o, comm, err, errlen);
}
