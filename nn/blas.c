/* blas.c - OpenBLAS kernel selection and threading for artistnet.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels from the CPU model when the library loads.
 * On CPUs it does not know (e.g. Intel family 6 model 207) it falls back to generic "Prescott"
 * kernels, about 3x slower, although the CPU has AVX-512. OpenBLAS reads OPENBLAS_CORETYPE only at
 * load time, so nn_blas_setup() re-executes the program once with it set (never overriding a value
 * the environment already has), and pins OpenBLAS to one thread: ranks are the parallelism.
 */
#include "nn/nn_blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);
void openblas_set_num_threads(int n);

const char *nn_blas_corename(void) { return openblas_get_corename(); }

/* The kernel set this CPU should use when OpenBLAS fell back to a generic one, or NULL. */
const char *nn_blas_better_core(const char *current)
{
    static const char *generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                    "Katmai", "Coppermine", "Northwood", "Banias", "Atom", NULL};
    int is_generic = 0;
    for (int i = 0; generic[i]; i++)
        if (!strcmp(current, generic[i])) is_generic = 1;
    if (!is_generic) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "Sandybridge";
    return NULL;
}

void nn_blas_setup(int argc, char **argv)
{
    (void)argc;
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (!env || !*env) {
        const char *better = nn_blas_better_core(openblas_get_corename());
        if (better && !getenv("ARTISTNET_BLAS_REEXEC")) {
            setenv("OPENBLAS_CORETYPE", better, 1);
            setenv("ARTISTNET_BLAS_REEXEC", "1", 1);
            execv("/proc/self/exe", argv);
            /* exec failed: carry on with the generic kernels */
            fprintf(stderr, "artistnet: warning: OpenBLAS uses generic '%s' kernels; could not re-exec with OPENBLAS_CORETYPE=%s\n",
                    openblas_get_corename(), better);
        }
    }
    openblas_set_num_threads(1);
}
