# PyTorch's side of ember-mnist, written line by line the same way: same seed, same Sequential,
# DataLoader(TensorDataset(x, y), batch_size, shuffle=True), SGD with momentum, F.cross_entropy.
# The learning rate follows ember-mnist's --schedule (default cosine: constant for the first epoch).
# Prints one JSON object per step ({"step", "loss"}) and the test accuracy after each epoch.
#   python3 mnist_reference.py --model mlp --epochs 1 --steps 100 > torch-steps.jsonl
import argparse, gzip, json, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

p = argparse.ArgumentParser()
p.add_argument("--model", default="mlp"); p.add_argument("--epochs", type=int, default=1)
p.add_argument("--steps", type=int, default=-1); p.add_argument("--seed", type=int, default=0)
p.add_argument("--data", default="../../../Data/mnist"); p.add_argument("--threads", type=int, default=2)
p.add_argument("--save", default=None)
p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
a = p.parse_args()
torch.set_num_threads(a.threads)

def idx(path):
    with gzip.open(path) as f: raw = f.read()
    dims = raw[3]; shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)

def load(train):
    pre = "train" if train else "t10k"
    x = torch.from_numpy(idx(f"{a.data}/{pre}-images-idx3-ubyte.gz").copy()).float().unsqueeze(1)
    x = (x / 255 - 0.1307) / 0.3081
    y = torch.from_numpy(idx(f"{a.data}/{pre}-labels-idx1-ubyte.gz").astype(np.int64))
    return x, y

x, y = load(True); tx, ty = load(False)
torch.manual_seed(a.seed)
if a.model == "mlp":
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
else:
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
# ember-mnist's --schedule: lr for the first epoch, then cosine annealing to 0 per batch
first = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=1.0, total_iters=1)
if a.schedule == "constant":
    sched = first
else:
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, (a.epochs - 1) * len(loader)))
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [first, decay], milestones=[len(loader)])
step = 0
for epoch in range(a.epochs):
    net.train()
    for xb, yb in loader:
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        print(json.dumps({"step": step, "loss": loss.item()})); step += 1
        if step == a.steps: break
    if step == a.steps: break
    net.eval()
    with torch.no_grad():
        acc = (net(tx).argmax(1) == ty).float().mean().item()
    print(json.dumps({"epoch": epoch + 1, "test_accuracy": acc}))
if a.save:
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, a.save)
