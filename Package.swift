// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Ember",
  products: [
    .library(name: "Ember", targets: ["Ember"]),
    .library(name: "EmberNN", targets: ["EmberNN"]),
    .library(name: "EmberOptim", targets: ["EmberOptim"]),
    .library(name: "EmberData", targets: ["EmberData"]),
    .executable(name: "ember-mnist", targets: ["EmberMNIST"]),
    .executable(name: "ember-xor", targets: ["EmberXOR"]),
    .executable(name: "ember-tutorials", targets: ["EmberTutorials"]),
    .executable(name: "ember-graph", targets: ["EmberGraph"]),
    .executable(name: "ember-bench", targets: ["EmberBench"]),
    // libFuzzer targets of the file readers (docs/reliability.md); plain builds make replay tools
    .executable(name: "ember-fuzz-safetensors", targets: ["SafeTensorsFuzz"]),
    .executable(name: "ember-fuzz-idx", targets: ["IDXFuzz"]),
    .executable(name: "ember-fuzz-gzip", targets: ["GzipFuzz"]),
    .executable(name: "ember-fuzz-checkpoint", targets: ["CheckpointFuzz"]),
    .executable(name: "ember-fuzz-optimizer-state", targets: ["OptimizerStateFuzz"]),
  ],
  dependencies: [
    // command-line options of the examples only; the libraries need the toolchain alone
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C SIMD microkernels (AVX-512/AVX2/baseline variants picked at run time) and the
    // thread-local grad-mode flag. Builds with the toolchain alone: no flags, no system libraries.
    .target(name: "CEmberKernels", path: "Sources/CEmberKernels"),
    .target(
      name: "Ember",
      dependencies: ["CEmberKernels"],
      path: "Sources/Ember"
    ),
    // torch.nn: modules found by reflection, containers, layers over the core's functional ops
    .target(name: "EmberNN", dependencies: ["Ember"], path: "Sources/EmberNN"),
    // torch.optim: optimizers with PyTorch's update rules, LR schedulers, gradient clipping
    .target(name: "EmberOptim", dependencies: ["EmberNN"], path: "Sources/EmberOptim"),
    // torch.utils.data and file formats: Dataset, DataLoader, MNIST (IDX, gzip), safetensors,
    // training checkpoints
    .target(name: "EmberData", dependencies: ["EmberNN", "EmberOptim"], path: "Sources/EmberData"),
    .executableTarget(
      name: "EmberMNIST",
      dependencies: [
        "EmberData", "EmberNN", "EmberOptim",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Examples/MNIST", exclude: ["pytorch"]),
    .executableTarget(
      name: "EmberXOR", dependencies: ["EmberNN", "EmberOptim"], path: "Examples/XOR"),
    .executableTarget(
      name: "EmberTutorials", dependencies: ["Ember", "EmberNN", "EmberOptim"],
      path: "Examples/Tutorials"),
    .executableTarget(name: "EmberGraph", dependencies: ["Ember"], path: "Examples/GraphViz"),
    // the benchmark harness (ember-bench); Benchmarks/pytorch holds the PyTorch side it runs
    .executableTarget(
      name: "EmberBench", dependencies: ["Ember", "EmberNN", "EmberOptim", "EmberData"],
      path: "Benchmarks/EmberBench"),
    // fuzz targets: `swift build -c debug --product ember-fuzz-<reader> --scratch-path .build-fuzz
    //   -Xswiftc -sanitize=fuzzer,address -Xswiftc -DEMBER_LIBFUZZER` makes libFuzzer binaries;
    //   a plain build makes replay tools (docs/reliability.md)
    .target(name: "CEmberFuzz", path: "Fuzz/CEmberFuzz"),
    .target(
      name: "EmberFuzzSupport", dependencies: ["CEmberFuzz", "EmberData", "EmberOptim"],
      path: "Fuzz/Support"),
    .executableTarget(
      name: "SafeTensorsFuzz", dependencies: ["EmberData", "EmberNN", "EmberFuzzSupport"],
      path: "Fuzz/SafeTensorsFuzz"),
    .executableTarget(
      name: "IDXFuzz", dependencies: ["EmberData", "EmberFuzzSupport"], path: "Fuzz/IDXFuzz"),
    .executableTarget(
      name: "GzipFuzz", dependencies: ["EmberData", "EmberFuzzSupport"], path: "Fuzz/GzipFuzz"),
    .executableTarget(
      name: "CheckpointFuzz",
      dependencies: ["EmberData", "EmberNN", "EmberOptim", "EmberFuzzSupport"],
      path: "Fuzz/CheckpointFuzz"),
    .executableTarget(
      name: "OptimizerStateFuzz",
      dependencies: ["EmberData", "EmberNN", "EmberOptim", "EmberFuzzSupport"],
      path: "Fuzz/OptimizerStateFuzz"),
    // helpers shared by the test targets (not a product)
    .target(
      name: "EmberTestSupport", dependencies: ["Ember"], path: "Tests/Support"),
    .testTarget(
      name: "EmberTests",
      dependencies: ["Ember", "EmberTestSupport"],
      path: "Tests/EmberTests",
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EmberNNTests",
      dependencies: ["EmberNN", "EmberTestSupport"],
      path: "Tests/EmberNNTests",
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EmberOptimTests",
      dependencies: ["EmberOptim"],
      path: "Tests/EmberOptimTests",
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EmberDataTests",
      dependencies: ["EmberData", "EmberTestSupport", "EmberFuzzSupport"],
      path: "Tests/EmberDataTests",
      resources: [.copy("Fixtures")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
