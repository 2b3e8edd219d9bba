// common.py's data and initial weights, drawn with the same numpy RandomState streams, and the
// two models of torch_bench.py (make_mlp, make_cnn) loaded with them.
import Ember
import EmberData
import EmberNN

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// float64 draws rounded to float32 (numpy's `.astype(np.float32)`), as a tensor of `shape`.
func float32Tensor(_ values: [Double], _ shape: [Int]) -> Tensor {
  Tensor(shape: shape, scalars: values.map { Float($0) })
}

/// common.mlp_init: per layer W (in, out) then b (out,), each U(-1/sqrt(in), 1/sqrt(in)).
func mlpInit(sizes: [Int] = mlpSizes) -> [Tensor] {
  var r = NumPyRandomState(seed: UInt32(seed))
  var ps: [Tensor] = []
  for (fi, fo) in zip(sizes.dropLast(), sizes.dropFirst()) {
    let k = 1.0 / Double(fi).squareRoot()
    ps.append(float32Tensor(r.uniform(-k, k, count: fi * fo), [fi, fo]))
    ps.append(float32Tensor(r.uniform(-k, k, count: fo), [fo]))
  }
  return ps
}

/// common.cnn_init: conv weights (out, in, kh, kw), linear weights (in, out).
func cnnInit() -> [Tensor] {
  var r = NumPyRandomState(seed: UInt32(seed))
  func u(_ shape: [Int], _ fanIn: Int) -> Tensor {
    let k = 1.0 / Double(fanIn).squareRoot()
    return float32Tensor(r.uniform(-k, k, count: shape.reduce(1, *)), shape)
  }
  return [
    u([32, 1, 3, 3], 9), u([32], 9), u([64, 32, 3, 3], 288), u([64], 288),
    u([3136, 128], 3136), u([128], 3136), u([128, 10], 128), u([10], 128),
  ]
}

/// common.mlp_batch: randn (128, 784) float32, then randint(0, 10, 128) int64.
func mlpBatchData() -> (Tensor, Tensor) {
  var r = NumPyRandomState(seed: 1)
  let x = float32Tensor(r.randn(count: mlpBatch * 784), [mlpBatch, 784])
  let y = Tensor(shape: [mlpBatch], scalars: r.randint(0, 10, count: mlpBatch))
  return (x, y)
}

/// common.cnn_batch: randn (64, 1, 28, 28) float32, then randint(0, 10, 64) int64.
func cnnBatchData() -> (Tensor, Tensor) {
  var r = NumPyRandomState(seed: 2)
  let x = float32Tensor(r.randn(count: cnnBatch * 784), [cnnBatch, 1, 28, 28])
  let y = Tensor(shape: [cnnBatch], scalars: r.randint(0, 10, count: cnnBatch))
  return (x, y)
}

/// common.mnist_epoch_batches: RandomState(seed + 1000 + epoch).permutation(n) cut into whole
/// batches (drop_last), each an int64 index tensor.
func mnistEpochBatches(_ epoch: Int, n: Int = 60_000, batchSize: Int = mnistBatch) -> [Tensor] {
  var r = NumPyRandomState(seed: UInt32(seed + 1000 + epoch))
  let perm = r.permutation(n).map { Int64($0) }
  return (0..<(n / batchSize)).map {
    Tensor(shape: [batchSize], scalars: Array(perm[($0 * batchSize)..<(($0 + 1) * batchSize)]))
  }
}

/// The repository's MNIST copy (Data/mnist), or PEER_MNIST_DIR as common.py reads it.
var mnistRoot: URL {
  if let d = environment["PEER_MNIST_DIR"] { return URL(fileURLWithPath: d) }
  return repositoryRoot.appendingPathComponent("Data/mnist")
}

/// Copies numpy-layout weights into a Linear (`weight.copy_(W.T)`, `bias.copy_(b)`).
func load(_ linear: Linear, _ w: Tensor, _ b: Tensor) {
  withNoGrad {
    _ = try! linear.weight.copy(from: w.t())
    _ = try! linear.bias!.copy(from: b)
  }
}

/// Copies conv weights (out, in, kh, kw) and bias into a Conv2d.
func load(_ conv: Conv2d, _ w: Tensor, _ b: Tensor) {
  withNoGrad {
    _ = try! conv.weight.copy(from: w)
    _ = try! conv.bias!.copy(from: b)
  }
}

/// torch_bench.make_mlp: Linear-ReLU-Linear-ReLU-Linear from common.mlp_init.
func makeMLP() -> Sequential {
  let ps = mlpInit()
  let layers = [Linear(784, 512), Linear(512, 256), Linear(256, 10)]
  for (i, l) in layers.enumerated() { load(l, ps[2 * i], ps[2 * i + 1]) }
  return Sequential(layers[0], ReLU(), layers[1], ReLU(), layers[2])
}

/// torch_bench.make_cnn: two conv-ReLU-maxpool blocks, flatten, Linear-ReLU-Linear.
func makeCNN() -> Sequential {
  let ps = cnnInit()
  let c1 = Conv2d(1, 32, 3, padding: 1)
  let c2 = Conv2d(32, 64, 3, padding: 1)
  let l1 = Linear(3136, 128)
  let l2 = Linear(128, 10)
  load(c1, ps[0], ps[1])
  load(c2, ps[2], ps[3])
  load(l1, ps[4], ps[5])
  load(l2, ps[6], ps[7])
  return Sequential(
    c1, ReLU(), MaxPool2d(2), c2, ReLU(), MaxPool2d(2), Flatten(), l1, ReLU(), l2)
}

/// A 64-bit checksum of float32 bit patterns, the one check_random_state.py computes:
/// sum of bits(x_i) * (i + 1), wrapping.
func checksum(_ t: Tensor) -> UInt64 {
  let bits = t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
  var s: UInt64 = 0
  for (i, b) in bits.enumerated() { s = s &+ b &* UInt64(i + 1) }
  return s
}

/// The same checksum of int64 values.
func checksum(ints: [Int64]) -> UInt64 {
  var s: UInt64 = 0
  for (i, v) in ints.enumerated() { s = s &+ UInt64(bitPattern: v) &* UInt64(i + 1) }
  return s
}
