# PyTorch-trained MNIST models for the interop test: the MLP and the CNN of ember-mnist, built and
# trained in PyTorch 2.15 (seed 0, SGD lr 0.05 momentum 0.9, batch 128, 100 steps), saved with
# safetensors.torch.save_file (the MLP as F16 to keep the file small, the CNN as F32), plus
# PyTorch's accuracy on the first 1000 test images and its logits for the first 8, computed from
# exactly the saved weights.   python3 make_interop_fixtures.py   (from this folder)
import gzip, json, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset

root = "../../../Data/mnist"
def idx(path):
    with gzip.open(path) as f: raw = f.read()
    dims = raw[3]; shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
def load(pre):
    x = torch.from_numpy(idx(f"{root}/{pre}-images-idx3-ubyte.gz").copy()).float().unsqueeze(1)
    return (x / 255 - 0.1307) / 0.3081, torch.from_numpy(idx(f"{root}/{pre}-labels-idx1-ubyte.gz").astype(np.int64))
x, y = load("train"); tx, ty = load("t10k")
tx, ty = tx[:1000], ty[:1000]
torch.set_num_threads(2)
out = {}
for name in ["mlp", "cnn"]:
    torch.manual_seed(0)
    if name == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for step, (xb, yb) in enumerate(DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)):
        loss = F.cross_entropy(net(xb), yb); opt.zero_grad(); loss.backward(); opt.step()
        if step == 99: break
    sd = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    if name == "mlp":
        sd = {k: v.half() for k, v in sd.items()}
        net.load_state_dict({k: v.float() for k, v in sd.items()})
    save_file(sd, f"pytorch-{name}.safetensors")
    net.eval()
    with torch.no_grad():
        logits = net(tx)
    out[name] = {"accuracy": (logits.argmax(1) == ty).float().mean().item(),
                 "logits": logits[:8].flatten().tolist()}
json.dump(out, open("pytorch-models.json", "w"), indent=1)
