/* h5util.h - small serial-HDF5 helpers for nn/ (model.h5, the Keras import): every failure comes
 * back as a UTIL_E* code with a message naming the file and the dataset or attribute. HDF5's own
 * error printing is turned off around these calls. Internal to nn/. */
#ifndef ARTISTNET_NN_H5UTIL_H
#define ARTISTNET_NN_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

/* Opens an existing file read-only; UTIL_EINPUT when it is missing, not HDF5 or truncated. */
int nn_h5_open(const char *path, hid_t *file, char *err, size_t errlen);
/* Reads a float dataset whose shape must be exactly dims[0..rank) (UTIL_EINPUT naming it otherwise). */
int nn_h5_read_floats(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                      float *out, char *err, size_t errlen);
/* writes a float dataset, creating intermediate groups; rank 0 = scalar */
int nn_h5_write_floats(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                       const float *data, char *err, size_t errlen);
/* attributes on an object (obj = file id for the root) */
int nn_h5_attr_write_long(hid_t obj, const char *path, const char *name, long v, char *err, size_t errlen);
int nn_h5_attr_write_double(hid_t obj, const char *path, const char *name, double v, char *err, size_t errlen);
int nn_h5_attr_write_str(hid_t obj, const char *path, const char *name, const char *v, char *err, size_t errlen);
int nn_h5_attr_read_long(hid_t obj, const char *path, const char *name, long *v, char *err, size_t errlen);
int nn_h5_attr_read_double(hid_t obj, const char *path, const char *name, double *v, char *err, size_t errlen);
/* string attribute (fixed or variable length) into buf; UTIL_EINPUT if missing or longer than buflen-1 */
int nn_h5_attr_read_str(hid_t obj, const char *path, const char *name, char *buf, size_t buflen, char *err,
                        size_t errlen);
/* malloc'ed copy of a (possibly long) string attribute; NULL with a message on error */
char *nn_h5_attr_read_str_alloc(hid_t obj, const char *path, const char *name, char *err, size_t errlen);
int nn_h5_exists(hid_t file, const char *name);
/* Shape of dataset `name` (up to 8 dims): UTIL_EINPUT naming file and dataset when it is missing. */
int nn_h5_dims(hid_t file, const char *path, const char *name, int *rank, hsize_t *dims, char *err, size_t errlen);

#endif
