// mnist: two epochs of the MLP on MNIST with common.py's weights and batch order, test accuracy
// after each epoch, and the process's memory (torch_bench.mnist).
import Ember
import EmberData
import EmberNN
import EmberOptim

func mnistWorkload() -> [String: Any] {
  let train = try! MNIST(root: mnistRoot, train: true)
  let test = try! MNIST(root: mnistRoot, train: false)
  let xtr = train.images.reshape([train.count, 784])
  let xte = test.images.reshape([test.count, 784])
  let (ytr, yte) = (train.labels, test.labels)
  let model = makeMLP()
  let opt = SGD(model.namedParameters(), lr: mnistLR, momentum: momentum)
  var accs: [Double] = []
  var epochSeconds: [Double] = []
  var rssAfterEpoch: [Double] = []
  var trainSeconds = 0.0
  var loss = Tensor(0.0)
  var steps = 0
  let rssBefore = currentRSSMegabytes()
  let (_, foreign) = measuringForeignLoad {
    for epoch in 0..<mnistEpochs {
      let batches = mnistEpochBatches(epoch)
      steps = batches.count
      let t0 = now()
      for idx in batches {
        let xb = xtr.indexSelect(dim: 0, index: idx)
        let yb = ytr.indexSelect(dim: 0, index: idx)
        opt.zeroGrad()
        loss = F.crossEntropy(model(xb), yb)
        try! loss.backward()
        try! opt.step()
      }
      let dt = now() - t0
      trainSeconds += dt
      epochSeconds.append(dt)
      let acc = withNoGrad { (model(xte).argmax(dim: 1) .== yte).to(.float32).mean().item() }
      accs.append(acc)
      rssAfterEpoch.append(currentRSSMegabytes() ?? 0)
    }
  }
  return [
    "value": trainSeconds, "unit": "s (2 epochs train)", "epoch_s": epochSeconds,
    "test_acc": accs, "steps_per_epoch": steps, "final_loss": loss.item(),
    "foreign_cpu": orNull(foreign), "peak_rss_mb": peakRSSMegabytes(),
    "rss_before_train_mb": orNull(rssBefore), "rss_after_epoch_mb": rssAfterEpoch,
    // the timed part: every training step of both epochs (the test passes are not timed)
    "gemm_gflop": mlpStepGFLOP(batch: mnistBatch) * Double(steps * mnistEpochs),
  ]
}
