import EmberNN

/// The two models, as Sequentials in PyTorch's layer order so their state-dict keys are
/// PyTorch's (`1.weight` ... `5.bias` for the MLP, `0.weight` ... `9.bias` for the CNN).
enum MNISTModel: String, CaseIterable {
  case mlp, cnn

  func make() -> Sequential {
    switch self {
    case .mlp:
      return Sequential {
        Flatten()
        Linear(784, 512)
        ReLU()
        Linear(512, 256)
        ReLU()
        Linear(256, 10)
      }
    case .cnn:
      return Sequential {
        Conv2d(1, 32, 3, padding: 1)
        ReLU()
        MaxPool2d(2)
        Conv2d(32, 64, 3, padding: 1)
        ReLU()
        MaxPool2d(2)
        Flatten()
        Linear(3136, 128)
        ReLU()
        Linear(128, 10)
      }
    }
  }
}
