#ifndef CEMBER_POOL_H
#define CEMBER_POOL_H

#include <stdint.h>

/// 2x2, stride-2 max pooling without padding over `planes` contiguous planes [in_height,
/// in_width] (2 * out_height <= in_height, 2 * out_width <= in_width): y gets each window's max
/// and `indices` the flat index inside the input plane of the element taken. The taps are visited
/// in PyTorch's order (row by row) with its comparison (`v > best || isnan(v)`, starting from the
/// first tap): NaN wins (the last NaN of a window), ties keep the first element.
/// Sources/CEmberKernels/pool.c.
void ember_maxpool2x2_f32(
    const float *x, float *y, int64_t *indices, int64_t planes, int64_t in_height,
    int64_t in_width, int64_t out_height, int64_t out_width);
void ember_maxpool2x2_f64(
    const double *x, double *y, int64_t *indices, int64_t planes, int64_t in_height,
    int64_t in_width, int64_t out_height, int64_t out_width);

/// The gradient of a max pooling over `planes` planes: each input plane (`in_plane` elements of
/// gx) zeroed, then each output gradient added at its saved index; an index outside the plane (a
/// window entirely in the padding) adds nothing.
void ember_maxpool_backward_f32(
    const float *gy, const int64_t *indices, float *gx, int64_t planes, int64_t in_plane,
    int64_t out_plane);
void ember_maxpool_backward_f64(
    const double *gy, const int64_t *indices, double *gx, int64_t planes, int64_t in_plane,
    int64_t out_plane);

#endif
