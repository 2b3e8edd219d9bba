import EmberData
import EmberNN
import EmberOptim
import Foundation
import Testing

/// Training checkpoints: saving after one epoch and resuming equals training straight through
/// (same losses bit for bit: the weights, the optimizer's momentum and the generator that
/// shuffles all come back), and bad checkpoint files are refused with the file named.
@Suite(.isolatedGenerator) struct CheckpointTests {
  /// A small MLP on the first 640 MNIST training images, batches of 64 shuffled by the global
  /// generator, SGD with momentum and dropout (so the generator's state matters twice).
  struct Run {
    let net: Sequential
    let opt: SGD
    let loader: DataLoader<TensorDataset<(Tensor, Tensor)>, (Tensor, Tensor)>

    init() throws {
      let mnist = try MNIST(root: MNIST.bundledRoot, train: true)
      manualSeed(0)
      net = Sequential(Flatten(), Linear(784, 32), ReLU(), Dropout(0.2), Linear(32, 10))
      opt = SGD(net.namedParameters(), lr: 0.05, momentum: 0.9)
      loader = DataLoader(
        TensorDataset(mnist.images[0..<640], mnist.labels[0..<640]), batchSize: 64, shuffle: true)
    }

    func epoch() throws -> [Float] {
      var losses: [Float] = []
      for (x, y) in loader {
        let loss = F.crossEntropy(net(x), y)
        opt.zeroGrad()
        try loss.backward()
        try opt.step()
        losses.append(loss.item(as: Float.self))
      }
      return losses
    }
  }

  @Test func resumeEqualsUninterruptedTraining() throws {
    let straight = try Run()
    let expected = try straight.epoch() + straight.epoch()

    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ember-checkpoint-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    let first = try Run()
    let epoch1 = try first.epoch()
    try Checkpoint(
      model: first.net.stateDict(), optimizer: first.opt.stateDict(), epoch: 1, step: 10,
      generator: Generator.default.state, extra: ["note": "test"]
    ).save(to: url)

    // a fresh process state: another seed, fresh weights, then the checkpoint
    manualSeed(12345)
    let resumed = try Run()
    let state = try Checkpoint.load(from: url)
    #expect(state.epoch == 1 && state.step == 10 && state.extra["note"] == "test")
    try resumed.net.loadStateDict(state.model)
    try resumed.opt.loadStateDict(state.optimizer!, strict: true)
    Generator.default.state = state.generator!
    let epoch2 = try resumed.epoch()
    #expect(epoch1 + epoch2 == expected)
  }

  @Test func plainSafetensorsIsNotACheckpoint() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ember-not-checkpoint-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.save(["w": Tensor.zeros(2)], to: url)
    #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
    do {
      _ = try Checkpoint.load(from: url)
    } catch {
      #expect("\(error)".contains(url.path))
      #expect("\(error)".contains("not an Ember training checkpoint"))
    }
  }
}

/// The README's training loop, kept compiling and running (on 256 images, one epoch).
@Suite(.isolatedGenerator) struct ReadmeTrainingLoopTests {
  @Test func trainingLoopRuns() throws {
    let mnist = try MNIST(root: MNIST.bundledRoot, train: true)
    let (x, y) = (mnist.images[0..<256], mnist.labels[0..<256])
    manualSeed(0)
    let model = Sequential(Flatten(), Linear(784, 512), ReLU(), Linear(512, 10))
    let opt = SGD(model.namedParameters(), lr: 0.05, momentum: 0.9)
    let loader = DataLoader(TensorDataset(x, y), batchSize: 128, shuffle: true)
    var last = Float.infinity
    for _ in 0..<1 {
      for (xb, yb) in loader {
        let loss = F.crossEntropy(model(xb), yb)
        opt.zeroGrad()
        try loss.backward()
        try opt.step()
        last = loss.item(as: Float.self)
      }
    }
    #expect(last < 2.3)
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ember-readme-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.save(model.stateDict(), to: url)
    #expect(
      Set(try SafeTensors.load(from: url).keys) == ["1.weight", "1.bias", "3.weight", "3.bias"])
  }
}
