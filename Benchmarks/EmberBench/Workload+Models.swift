// mlp and cnn: timed SGD-with-momentum training steps on one fixed batch, from common.py's
// weights and batch (torch_bench.mlp, torch_bench.cnn, time_steps).
import Ember
import EmberNN
import EmberOptim

/// zeroGrad, cross-entropy of the model's logits, backward, step: `warmup` untimed steps, then
/// `steps` timed ones (ms each).
func timeSteps(
  _ model: Module, _ x: Tensor, _ y: Tensor, lr: Double, warmup: Int, steps: Int
) -> [String: Any] {
  let opt = SGD(model.namedParameters(), lr: lr, momentum: momentum)
  func step() -> Tensor {
    opt.zeroGrad()
    let loss = F.crossEntropy(model(x), y)
    try! loss.backward()
    try! opt.step()
    return loss
  }
  for _ in 0..<warmup { _ = step() }
  var ts: [Double] = []
  var loss = Tensor(0.0)
  let (_, foreign) = measuringForeignLoad {
    for _ in 0..<steps {
      let t0 = now()
      loss = step()
      ts.append((now() - t0) * 1e3)
    }
  }
  return [
    "value": median(ts), "unit": "ms/step", "stats": stats(ts), "warmup": warmup,
    "final_loss": loss.item(), "foreign_cpu": orNull(foreign),
  ]
}

func mlpWorkload() -> [String: Any] {
  let (x, y) = mlpBatchData()
  var line = timeSteps(makeMLP(), x, y, lr: mlpLR, warmup: mlpWarmup, steps: mlpSteps)
  line["gemm_gflop"] = mlpStepGFLOP(batch: mlpBatch)
  return line
}

func cnnWorkload() -> [String: Any] {
  let (x, y) = cnnBatchData()
  var line = timeSteps(makeCNN(), x, y, lr: cnnLR, warmup: cnnWarmup, steps: cnnSteps)
  line["gemm_gflop"] = cnnStepGFLOP()
  return line
}
