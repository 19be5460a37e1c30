/* jobs.h - the subcommands of the `artistnet` binary. Each job lives in jobs/<name>.c and exposes
 *   int job_<name>_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen);
 * argv[0] is the subcommand name. It returns a util.h code (0, UTIL_HELP, negative error) that is
 * the same on every rank, with a message in err for errors. main.c prints it and maps it to the
 * exit status. To add a job: write jobs/<name>.c and add one JOB(...) line below. */
#ifndef ARTISTNET_JOBS_H
#define ARTISTNET_JOBS_H
#include <mpi.h>
#include <stddef.h>

#define JOB_LIST(JOB) \
    JOB(lists, "track-list tools: msd-split (the authors' MSD artist split -> list), folds (fold column)") \
    JOB(mel, "log-mel segments of a track list -> mels.h5 (sharded over ranks, parallel HDF5, resumable)") \
    JOB(synth, "make a synthetic corpus (artists, genres, moods) as audio files + tracks.tsv") \
    JOB(train, "train the artist DCNN on mels.h5, data-parallel over ranks, resumable -> model.h5") \
    JOB(lda, "fit LDA on a label column of features.h5 (MPI reductions) -> lda.h5") \
    JOB(import_keras, "convert the authors' pretrained Keras model (model_siamese_10000.h5) -> model.h5") \
    JOB(extract, "features of a track list -> features.h5 (decode, log-mel, DCNN or log-mel baseline; sharded)") \
    JOB(export, "features.h5 -> LIBSVM or TSV text for other tools") \
    JOB(evaluate, "SVM cross-validation (LIBSVM, artist-filtered folds, grid search over ranks)") \
    JOB(mirex, "MIREX train/test calling convention: mirex extract | train | classify (wrappers in mirex/)") \
    JOB(report, "one self-contained HTML report (SVG charts) of a pipeline run folder") \
    JOB(pipeline, "mel -> train -> extract -> lda -> evaluate in one job, or one --stage of it (Slurm)")

#define JOB_DECLARE(name, summary) int job_##name##_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen);
JOB_LIST(JOB_DECLARE)
#undef JOB_DECLARE

#endif
