// EmberNN: PyTorch's torch.nn over Ember's tensors and functional ops. Importing it brings the
// core along, as `import torch.nn` needs torch.
@_exported import Ember

/// The functional namespace under PyTorch's usual alias (`import torch.nn.functional as F`):
/// `F.relu(x)`, `F.crossEntropy(logits, target)`.
public typealias F = Functional
