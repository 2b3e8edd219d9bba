# Golden values for TransformerEncoderLayer (post-norm eval, pre-norm gelu batch-first eval, post-norm
# training with dropout): output, input gradient, linear1.weight gradient, state-dict keys, repr.
# Run from this folder: python3 make_transformer_fixtures.py
import torch, json, torch.nn as nn
out={}
for name, kw, train in [("post", {}, False), ("pre_gelu_bf", dict(activation="gelu", norm_first=True, batch_first=True), False), ("post_train", {}, True)]:
    torch.manual_seed(3)
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kw).double()
    if not train: m.eval()
    x = (torch.arange(2*5*8, dtype=torch.float64).reshape(5,2,8) / 37.0).sin().requires_grad_()
    if kw.get("batch_first"): x = x.detach().transpose(0,1).contiguous().requires_grad_()
    torch.manual_seed(7)
    y = m(x)
    w = torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
    (y*w).sum().backward()
    out[name] = dict(y=y.detach().flatten().tolist(), gx=x.grad.flatten().tolist(), gw=m.linear1.weight.grad.flatten().tolist(), keys=list(m.state_dict().keys()), repr=repr(m))
json.dump(out, open("transformer-cases.json","w"))
