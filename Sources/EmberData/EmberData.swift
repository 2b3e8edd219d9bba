// EmberData: PyTorch's torch.utils.data (Dataset, DataLoader, TensorDataset, Subset,
// random_split), MNIST from IDX files, and safetensors files for state dicts. Importing it brings
// EmberNN and the core along.
@_exported import EmberNN
