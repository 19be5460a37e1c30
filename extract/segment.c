/* segment.c - where the 129-frame segments of a clip start (DESIGN.md "Segments").
 * A clip of n_frames frames holds nb = n_frames / 129 whole blocks. With nb <= k the segments are the
 * consecutive blocks from the start: start_i = 129 i (a 30-s clip, 1,292 frames, gives 10). With
 * nb > k, k segments are spread evenly from the first to the last possible start:
 *     start_i = floor(i (n_frames - 129) / (k - 1)),  i = 0..k-1     (k = 1: the middle block,
 *                                                                     floor((n_frames - 129) / 2))
 * so the first segment starts at frame 0 and the last ends at the clip's last frame; since
 * n_frames - 129 >= 129 k, consecutive starts are more than 129 frames apart (no overlap). */
#include "extract/extract.h"

int extract_segment_starts(size_t n_frames, int k, size_t *starts)
{
    if (k < 1) return 0;
    size_t nb = n_frames / EXTRACT_SEG_FRAMES;
    if (nb == 0) return 0;
    if (nb <= (size_t)k) {
        for (size_t i = 0; i < nb; i++) starts[i] = i * EXTRACT_SEG_FRAMES;
        return (int)nb;
    }
    size_t span = n_frames - EXTRACT_SEG_FRAMES;
    if (k == 1) {
        starts[0] = span / 2;
        return 1;
    }
    for (int i = 0; i < k; i++) starts[i] = (size_t)i * span / (size_t)(k - 1);
    return k;
}
