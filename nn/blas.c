/* blas.c - kernel selection and threading for artistnet: OpenBLAS's kernel set, and which library
 * runs the k > 1 convolutions (nn_kernels: oneDNN where the CPU has AVX-512 and OpenBLAS does not
 * use it, else OpenBLAS).
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

/* ARTISTNET_NN_KERNELS=openblas|onednn|auto (default auto). auto: oneDNN's JIT convolutions when
 * this build has oneDNN, the CPU has AVX-512 (F, BW, VL, DQ: oneDNN's avx512_core; oneDNN picks its
 * AVX-512 / AMX code from CPUID) and OpenBLAS is not running AVX-512 kernels itself (because it
 * does not know the CPU model or OPENBLAS_CORETYPE says otherwise, e.g. Haswell on AMD Zen 4);
 * else im2col + OpenBLAS SGEMM (conv.c). Issue 22, measured on AMD EPYC Zen 4: with OpenBLAS's
 * Haswell kernels oneDNN ran the net 1.02-1.08x (inference) and 1.01-1.28x (training) faster; with
 * its AVX-512 Cooperlake kernels 1.03-1.11x / 1.00-1.21x, but on Intel AVX-512 machines OpenBLAS's
 * SkylakeX kernels were 1.7x PyTorch and oneDNN is not measured there yet, so where OpenBLAS has
 * AVX-512 kernels it is kept (no loss there; ARTISTNET_NN_KERNELS=onednn takes the gain on Zen 4);
 * on AVX2-only code (oneDNN with ONEDNN_MAX_CPU_ISA=AVX2 against OpenBLAS Haswell) oneDNN
 * was no faster (0.97-1.03x / 0.82-1.00x), so OpenBLAS stays there too. */
static int openblas_has_avx512(void)
{
    static const char *avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    const char *core = openblas_get_corename();
    for (int i = 0; avx512[i]; i++)
        if (!strcmp(core, avx512[i])) return 1;
    return 0;
}

static int kernels_kind = -1;

int nn_kernels(void)
{
    int kind = kernels_kind;
    if (kind >= 0) return kind;
    const char *e = getenv("ARTISTNET_NN_KERNELS");
    int want = -1; /* auto */
    if (e && *e && strcmp(e, "auto")) {
        if (!strcmp(e, "openblas"))
            want = NN_KERNELS_OPENBLAS;
        else if (!strcmp(e, "onednn"))
            want = NN_KERNELS_ONEDNN;
        else
            fprintf(stderr, "artistnet: warning: ARTISTNET_NN_KERNELS=%s is not openblas, onednn or auto; using auto\n", e);
    }
    if (want == NN_KERNELS_ONEDNN && !nn_dnnl_available()) {
        fprintf(stderr, "artistnet: warning: ARTISTNET_NN_KERNELS=onednn but this build has no oneDNN; using OpenBLAS\n");
        want = NN_KERNELS_OPENBLAS;
    }
    if (want < 0) {
        __builtin_cpu_init();
        const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
        want = nn_dnnl_available() && avx512 && !openblas_has_avx512() ? NN_KERNELS_ONEDNN : NN_KERNELS_OPENBLAS;
    }
    kernels_kind = want;
    return want;
}

void nn_kernels_force(int kind)
{
    nn_kernels();
    kernels_kind = kind == NN_KERNELS_ONEDNN && nn_dnnl_available() ? NN_KERNELS_ONEDNN : NN_KERNELS_OPENBLAS;
}

const char *nn_kernels_describe(void)
{
    static char s[192];
    if (nn_kernels() == NN_KERNELS_ONEDNN)
        snprintf(s, sizeof s, "convolutions k > 1: %s; 1x1 conv and dense: OpenBLAS %s", nn_dnnl_describe(),
                 openblas_get_corename());
    else
        snprintf(s, sizeof s, "OpenBLAS %s (im2col + SGEMM)", openblas_get_corename());
    return s;
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
            /* the binary's own path, not /proc/self/exe: the process name (comm: ps, top, pgrep,
             * Slurm's listings) comes from the path executed, and would read "exe" */
            char self[4096];
            const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
            if (len > 0) {
                self[len] = 0;
                execv(self, argv);
            }
            execv("/proc/self/exe", argv); /* e.g. the file was replaced since it started */
            /* exec failed: carry on with the generic kernels */
            fprintf(stderr, "artistnet: warning: OpenBLAS uses generic '%s' kernels; could not re-exec with OPENBLAS_CORETYPE=%s\n",
                    openblas_get_corename(), better);
        }
    }
    openblas_set_num_threads(1);
}
