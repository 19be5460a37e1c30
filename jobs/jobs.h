/* jobs.h - the subcommands of the `artistnet` binary. Each job lives in jobs/<name>.c and exposes
 *   int job_<name>_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen);
 * argv[0] is the subcommand name. It returns a util.h code (0, UTIL_HELP, negative error) that is
 * the same on every rank, with a message in err for errors. main.c prints it and maps it to the
 * exit status. To add a job: write jobs/<name>.c and add one JOB(name, resumable, summary) line below
 * (resumable: 1 when it takes --resume, which main.c's message on an interrupt then suggests). */
#ifndef ARTISTNET_JOBS_H
#define ARTISTNET_JOBS_H
#include <mpi.h>
#include <stddef.h>

#define JOB_LIST(JOB) \
    JOB(lists, 0, "track-list tools: msd-split (the authors' MSD artist split -> list), folds (fold column)") \
    JOB(mel, 1, "log-mel segments of a track list -> mels.h5 (sharded over ranks, parallel HDF5, resumable)") \
    JOB(synth, 0, "make a synthetic corpus (artists, genres, moods) as audio files + tracks.tsv") \
    JOB(train, 1, "train the artist DCNN on mels.h5, data-parallel over ranks, resumable -> model.h5") \
    JOB(lda, 0, "fit LDA on a label column of features.h5 (MPI reductions) -> lda.h5") \
    JOB(import_keras, 0, "convert the authors' pretrained Keras model (model_siamese_10000.h5) -> model.h5") \
    JOB(extract, 1, "features of a track list -> features.h5 (decode, log-mel, DCNN or log-mel baseline; sharded)") \
    JOB(export, 0, "features.h5 -> LIBSVM or TSV text for other tools") \
    JOB(evaluate, 0, "SVM cross-validation (LIBSVM, artist-filtered folds, grid search over ranks)") \
    JOB(mirex, 1, "MIREX train/test calling convention: mirex extract | train | classify (wrappers in mirex/)") \
    JOB(report, 0, "one self-contained HTML report (SVG charts) of a pipeline run folder") \
    JOB(pipeline, 1, "mel -> train -> extract -> lda -> evaluate in one job, or one --stage of it (Slurm)")

#define JOB_DECLARE(name, resumable, summary) int job_##name##_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen);
JOB_LIST(JOB_DECLARE)
#undef JOB_DECLARE

#endif
