/* fuzz_common.h - shared pieces of the libFuzzer targets in tests/fuzz: per-process temp files (the
 * loaders under test take a path), the small features.h5 writer used for seeds and as the base of
 * the features target, and the HDF5 "recipe" mutator: a few bytes of fuzz input decoded as schema
 * edits (delete / retype / reshape a dataset, rewrite / drop an attribute, dangling or looping soft
 * links, group in place of a dataset, truncation) applied to a valid base file with the HDF5 API.
 * Raw-byte fuzzing of an HDF5 file mostly exercises libhdf5's own parser; the recipe reaches the
 * checks in our loaders (shapes, types, versions, ranges) in a few mutations. Serial HDF5 only. */
#ifndef ARTISTNET_FUZZ_COMMON_H
#define ARTISTNET_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* HDF5's signature: inputs that start with it are loaded as raw files, others are recipes. Raw
 * files only when the environment has FUZZ_RAW_H5=1: libhdf5 1.10.8 itself crashes on damaged
 * files within seconds (e.g. memcpy-param-overlap in H5HG_read reading a vlen string through a
 * corrupt global heap), which no check in our loaders can prevent, so the CI runs fuzz our
 * loaders' schema checks through recipes and the raw mode is for looking at libhdf5. */
#define FUZZ_H5_MAGIC "\x89HDF\r\n\x1a\n"
int fuzz_raw_h5(void);

/* A per-process temp path ending in `name` (in /dev/shm when it exists, else $TMPDIR or /tmp),
 * removed at exit. Returns a static string: one per name, up to 8 names. */
const char *fuzz_tmp_path(const char *name);
/* Writes data to path; 0 or -1. */
int fuzz_write_file(const char *path, const uint8_t *data, size_t size);
/* Copies a file; 0 or -1. */
int fuzz_copy_file(const char *from, const char *to);

/* A small valid features.h5: n rows, d features, /ids /artist /genre (fixed-length UTF-8; vlen when
 * vlen_strings), /features, /n_segments, /status, /errors. 0 or -1. */
int fuzz_features_write(const char *path, int n, int d, int vlen_strings);

/* Copies base to dst and applies the edits decoded from data[0..size). 0 or -1 (HDF5 refused the
 * base file: a harness bug, not a finding). */
int fuzz_h5_recipe(const char *base, const char *dst, const uint8_t *data, size_t size);

#endif
