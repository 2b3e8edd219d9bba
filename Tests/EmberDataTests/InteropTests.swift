import EmberData
import EmberNN
import Foundation
import Testing

/// Models trained in PyTorch load into Ember and give PyTorch's results: the MNIST MLP (saved as
/// F16) and CNN (F32) of ember-mnist, written by `safetensors.torch.save_file`
/// (Fixtures/make_interop_fixtures.py), load with strict keys into the same Sequentials and give
/// PyTorch's accuracy on the first 1000 test images and its logits within 1e-4.
@Suite struct InteropTests {
  struct Expected: Decodable {
    let accuracy: Double
    let logits: [Double]
  }

  static func model(_ name: String) -> Sequential {
    name == "mlp"
      ? Sequential(Flatten(), Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10))
      : Sequential(
        Conv2d(1, 32, 3, padding: 1), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding: 1), ReLU(),
        MaxPool2d(2), Flatten(), Linear(3136, 128), ReLU(), Linear(128, 10))
  }

  @Test(arguments: ["mlp", "cnn"])
  func pytorchTrainedModelGivesPyTorchsResults(_ name: String) throws {
    let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    let expected = try JSONDecoder().decode(
      [String: Expected].self,
      from: Data(contentsOf: fixtures.appendingPathComponent("pytorch-models.json")))[name]!
    let weights = try SafeTensors.load(
      from: fixtures.appendingPathComponent("pytorch-\(name).safetensors"),
      convertingHalfTo: .float32)
    let net = Self.model(name)
    try net.loadStateDict(weights, strict: true)
    net.eval()
    let test = try MNIST(root: MNIST.bundledRoot, train: false)
    let (x, y) = (test.images[0..<1000], test.labels[0..<1000])
    let logits = withNoGrad { net(x) }
    let accuracy = (logits.argmax(dim: 1) .== y).double().mean().item()
    // PyTorch stored its float32 mean: compare counts of correct images
    #expect((accuracy * 1000).rounded() == (expected.accuracy * 1000).rounded())
    let first = logits[0..<8].flatten().toArray()
    #expect(first.count == expected.logits.count)
    for (a, b) in zip(first, expected.logits) {
      #expect(abs(a - b) <= 1e-4, "logit \(a) vs PyTorch \(b)")
    }
  }
}
