#ifndef CEMBER_CONV_H
#define CEMBER_CONV_H

#include <stdint.h>

/// The sizes of a 2-D convolution's planes (a 1-D convolution has height 1), as Swift's
/// `ConvGeometry` (Sources/Ember/Kernels/Convolution.swift): input planes [in_height, in_width],
/// output planes [out_height, out_width], a kernel [kernel_height, kernel_width] with strides,
/// padding before each dim, and dilations.
typedef struct {
  int64_t in_height, in_width, out_height, out_width;
  int64_t kernel_height, kernel_width;
  int64_t stride_height, stride_width;
  int64_t pad_top, pad_left;
  int64_t dilation_height, dilation_width;
} ember_conv_geometry;

/// The columns (im2col) of `channels` contiguous input planes starting at `x`, for output
/// positions p0..<p1 (row-major over the output plane): row `(c * kH + kh) * kW + kw` of `cols`
/// (rows `row_stride` apart) holds the input element under tap (kh, kw) of channel c for each
/// position, or 0 in the padding. Sources/CEmberKernels/conv.c; the same values as the Swift
/// `Kernel.im2col(plain: true)`.
void ember_im2col_f32(
    const float *x, int64_t channels, const ember_conv_geometry *g, float *cols, int64_t p0,
    int64_t p1, int64_t row_stride);
void ember_im2col_f64(
    const double *x, int64_t channels, const ember_conv_geometry *g, double *cols, int64_t p0,
    int64_t p1, int64_t row_stride);

/// Adds the columns of `channels` planes (all output positions, rows `row_stride` apart) back onto
/// the input planes at `x` (col2im), in the order of the Swift `Kernel.col2im(plain: true)`:
/// taps (c, kh, kw) in turn, so every input element sums the same values in the same order.
/// `cols` is scratch: entries of positions whose tap falls in the padding may be overwritten
/// (with -0.0).
void ember_col2im_f32(
    float *cols, int64_t channels, const ember_conv_geometry *g, float *x, int64_t row_stride);
void ember_col2im_f64(
    double *cols, int64_t channels, const ember_conv_geometry *g, double *x, int64_t row_stride);

/// A convolution's bias gradient for channels c0..<c1 of a contiguous [batch, channels, plane]
/// gradient: gb[c] = the sum over n and p of gy[n, c, p], accumulated in double (eight partial
/// sums per plane, the planes added in batch order) and rounded once.
void ember_conv_bias_grad_f32(
    const float *gy, int64_t batch, int64_t channels, int64_t plane, int64_t c0, int64_t c1,
    float *gb);
void ember_conv_bias_grad_f64(
    const double *gy, int64_t batch, int64_t channels, int64_t plane, int64_t c0, int64_t c1,
    double *gb);

#endif
