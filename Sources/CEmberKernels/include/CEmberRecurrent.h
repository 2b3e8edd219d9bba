#ifndef CEMBER_RECURRENT_H
#define CEMBER_RECURRENT_H

#include <stdint.h>

/// The fused LSTM cell of one time step, float32, gates in PyTorch's order i, f, g, o.
///
/// `gates` is [batch, 4 * hidden] (rows contiguous) holding the pre-activations
/// x W_ih^T + b_ih + b_hh + h W_hh^T; they are overwritten with the activations
/// (sigmoid i, f, o and tanh g), which the backward cell reads. Then, per element,
/// c = f * c_prev + i * g and h = o * tanh(c), each product rounded on its own (no FMA), with
/// `FastMath`'s sigmoid and tanh: the same numbers as the composed tensor ops.
/// `c_prev`, `c` and `h` are [batch, hidden] with rows `hidden` apart. Only the hidden units
/// `j0 ..< j1` of every row are computed (their four gate columns, c and h), so threads can
/// share a step by splitting the units.
void ember_lstm_cell_f32(float *gates, const float *c_prev, float *c, float *h, int64_t batch,
                         int64_t hidden, int64_t j0, int64_t j1);

/// The backward of ``ember_lstm_cell_f32`` for one step. `gates` holds the activations it
/// wrote; `c_prev` and `c` the cell states before and after the step. The gradient with respect
/// to h is `dh + dout` (`dout` may be NULL). `dc` holds the gradient with respect to c on entry
/// and the one with respect to c_prev on return. Writes the pre-activation gradients to
/// `dgates` [batch, 4 * hidden]. Only the hidden units `j0 ..< j1` of every row are computed.
void ember_lstm_cell_backward_f32(const float *gates, const float *c_prev, const float *c,
                                  const float *dh, const float *dout, float *dc, float *dgates,
                                  int64_t batch, int64_t hidden, int64_t j0, int64_t j1);

#endif
