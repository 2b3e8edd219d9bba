// EmberOptim: PyTorch's torch.optim over Ember's tensors: optimizers with PyTorch's update rules
// (float operations in PyTorch's order), LR schedulers, and gradient clipping
// (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). Importing it brings nn and the core along.
@_exported import EmberNN

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes one warning line to standard error (PyTorch's `UserWarning`s).
func printWarning(_ message: String) {
  var bytes = Array(("warning: " + message + "\n").utf8)
  _ = write(2, &bytes, bytes.count)
}
