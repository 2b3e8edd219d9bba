// The matrix-product work of the training workloads, counted from their shapes: the floor
// under each one's time. At the sgemm ceiling the `matmul` workload measures (numpy's OpenBLAS
// on 2048^3, in the same run), these FLOPs alone take `gemm_gflop / ceiling` seconds; the
// summary shows that floor next to the target, so a target below it reads as such.
//
// A product of an M x K by a K x N matrix is 2 M N K FLOPs. Training a layer runs its forward
// product, the weight gradient (the same size) and the input gradient (the same size, unless
// nothing before the layer needs it: the first layer of each model here).

/// 2 M N K, in GFLOP.
func productGFLOP(_ m: Int, _ n: Int, _ k: Int) -> Double {
  2 * Double(m) * Double(n) * Double(k) / 1e9
}

/// One SGD step of the MLP (`mlpSizes`) on `batch` rows: forward and weight gradient of every
/// Linear, input gradient of all but the first.
func mlpStepGFLOP(batch: Int) -> Double {
  var total = 0.0
  for (i, (fi, fo)) in zip(mlpSizes.dropLast(), mlpSizes.dropFirst()).enumerated() {
    total += productGFLOP(batch, fo, fi) * (i == 0 ? 2 : 3)
  }
  return total
}

/// One step of the CNN (`makeCNN`, batch `cnnBatch`): each 3x3 convolution is a product of
/// [out, in * 9] by [in * 9, height * width] per sample; conv1 needs no input gradient.
func cnnStepGFLOP() -> Double {
  let conv1 = productGFLOP(32, 28 * 28, 1 * 9) * Double(cnnBatch)
  let conv2 = productGFLOP(64, 14 * 14, 32 * 9) * Double(cnnBatch)
  let linear1 = productGFLOP(cnnBatch, 128, 3136)
  let linear2 = productGFLOP(cnnBatch, 10, 128)
  return 2 * conv1 + 3 * conv2 + 3 * linear1 + 3 * linear2
}

/// One step of the LSTM workload: the input projection and its two gradients (the embedding's
/// output needs its gradient), the recurrent product of every step forward and backward and the
/// W_hh gradient, and the head Linear's three products.
func lstmStepGFLOP() -> Double {
  let (h, rows) = (lstmHidden, lstmSeq * lstmBatch)
  let projection = productGFLOP(rows, 4 * h, 64)
  let recurrent = productGFLOP(rows, 4 * h, h)
  let head = productGFLOP(rows, lstmVocab, h)
  return 3 * projection + 3 * recurrent + 3 * head
}

/// The floor of a workload's `value` at `ceiling` GFLOP/s, in the value's unit (ms/step, or
/// seconds for mnist), from the `gemm_gflop` its Ember line carries; nil without one.
func gemmFloor(_ ember: [String: Any]?, ceiling: Double?) -> Double? {
  guard let work = double(ember?["gemm_gflop"]), let ceiling, ceiling > 0 else { return nil }
  let seconds = work / ceiling
  return (ember?["unit"] as? String)?.hasPrefix("ms") == true ? seconds * 1e3 : seconds
}
