// lstm: a training step of Embedding(64, 64) -> LSTM(64, 256) -> Linear(256, 64) on batch 32 x
// seq 50 with cross-entropy, gradient-norm clipping and SGD with momentum (torch_bench.lstm).
// Ember's generator is PyTorch's: the same seed gives the same initial weights and tokens.
import Ember
import EmberNN
import EmberOptim

func lstmWorkload() -> [String: Any] {
  _ = manualSeed(UInt64(seed))
  let (v, h, t, b) = (lstmVocab, lstmHidden, lstmSeq, lstmBatch)
  let emb = Embedding(v, 64)
  let rnn = LSTM(64, h, batchFirst: true)
  let head = Linear(h, v)
  let params: [Tensor] = emb.parameters() + rnn.parameters() + head.parameters()
  let opt = SGD(params, lr: lstmLR, momentum: momentum)
  let g = Generator(seed: UInt64(seed + 3))
  let x = Tensor.randint(low: 0, high: v, [b, t], generator: g)
  let y = Tensor.randint(low: 0, high: v, [b, t], generator: g)
  func step() -> Tensor {
    opt.zeroGrad()
    let out = rnn(emb(x), nil).output
    let loss = F.crossEntropy(head(out).reshape([b * t, v]), y.reshape([b * t]))
    try! loss.backward()
    try! clipGradNorm(params, maxNorm: 1.0)
    try! opt.step()
    return loss
  }
  for _ in 0..<lstmWarmup { _ = step() }
  var ts: [Double] = []
  var loss = Tensor(0.0)
  let (_, foreign) = measuringForeignLoad {
    for _ in 0..<lstmSteps {
      let t0 = now()
      loss = step()
      ts.append((now() - t0) * 1e3)
    }
  }
  return [
    "value": median(ts), "unit": "ms/step", "stats": stats(ts), "final_loss": loss.item(),
    "shape": "Embedding(\(v),64) -> LSTM(64,\(h)) -> Linear(\(h),\(v)), batch \(b), seq \(t)",
    "foreign_cpu": orNull(foreign), "gemm_gflop": lstmStepGFLOP(),
  ]
}
