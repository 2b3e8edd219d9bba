/// PyTorch's `torch.nn.functional`: every layer as a function (convolution, pooling, linear,
/// normalization, dropout, losses, ...), as static functions, e.g. `Functional.conv2d(x, w)`.
/// Each records PyTorch's `grad_fn` and has a backward rule written in tensor ops, so it can be
/// differentiated again.
public enum Functional {}
