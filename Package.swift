// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Ember",
  products: [
    .library(name: "Ember", targets: ["Ember"]),
    .library(name: "EmberNN", targets: ["EmberNN"]),
    .library(name: "EmberData", targets: ["EmberData"]),
    .executable(name: "ember-tutorials", targets: ["EmberTutorials"]),
    .executable(name: "ember-graph", targets: ["EmberGraph"]),
    .executable(name: "ember-bench", targets: ["EmberBench"]),
  ],
  targets: [
    // C SIMD microkernels (function multiversioning picks AVX-512/AVX2 at run time) and the
    // thread-local grad-mode flag. Builds with the toolchain alone: no flags, no system libraries.
    .target(name: "CEmberKernels", path: "Sources/CEmberKernels"),
    .target(
      name: "Ember",
      dependencies: ["CEmberKernels"],
      path: "Sources/Ember"
    ),
    // torch.nn: modules found by reflection, containers, layers over the core's functional ops
    .target(name: "EmberNN", dependencies: ["Ember"], path: "Sources/EmberNN"),
    // torch.utils.data and file formats: Dataset, DataLoader, MNIST (IDX, gzip), safetensors
    .target(name: "EmberData", dependencies: ["EmberNN"], path: "Sources/EmberData"),
    .executableTarget(
      name: "EmberTutorials", dependencies: ["Ember", "EmberNN"], path: "Examples/Tutorials"),
    .executableTarget(name: "EmberGraph", dependencies: ["Ember"], path: "Examples/GraphViz"),
    .executableTarget(name: "EmberBench", dependencies: ["Ember"], path: "Benchmarks/EmberBench"),
    .testTarget(
      name: "EmberTests",
      dependencies: ["Ember"],
      path: "Tests/EmberTests",
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EmberNNTests",
      dependencies: ["EmberNN"],
      path: "Tests/EmberNNTests",
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EmberDataTests",
      dependencies: ["EmberData"],
      path: "Tests/EmberDataTests",
      resources: [.copy("Fixtures")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
