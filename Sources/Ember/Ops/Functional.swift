/// PyTorch's `torch.nn.functional`: every layer and loss as a static function
/// (`Functional.crossEntropy(logits, target)` for `F.cross_entropy(logits, target)`).
public enum Functional {}
