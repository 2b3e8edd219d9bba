#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The MNIST digits read from the four IDX files (gzipped or not), as PyTorch users feed them:
/// images as float32 `[1, 28, 28]`, normalized with `(x / 255 - 0.1307) / 0.3081`, and labels as
/// integers 0...9 (int64 once batched).
///
/// ```swift
/// let train = try MNIST(root: MNIST.bundledRoot, train: true)   // 60,000 samples
/// let loader = DataLoader(train, batchSize: 128, shuffle: true)  // (images, labels) batches
/// ```
///
/// The normalization is computed in float32 step by step, as PyTorch computes it on a float32
/// tensor: `x / 255`, then `- 0.1307`, then `/ 0.3081` (the constants are Python floats rounded
/// to float32), so the pixels equal PyTorch's bit for bit.
public struct MNIST: Dataset {
  /// The images, `[count, 1, rows, columns]` float32 (normalized unless asked otherwise).
  public let images: Tensor
  /// The labels, `[count]` int64.
  public let labels: Tensor
  private let labelValues: [Int]

  /// The normalization's mean and standard deviation (torchvision's MNIST example's values).
  public static let mean = 0.1307
  public static let std = 0.3081

  /// The file names, without `.gz`.
  public static func fileNames(train: Bool) -> (images: String, labels: String) {
    train
      ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
      : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
  }

  /// The copy of MNIST in the repository (`Data/mnist`, found from this source file's path).
  public static var bundledRoot: URL {
    URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent()  // EmberData
      .deletingLastPathComponent()  // Sources
      .deletingLastPathComponent()  // the package
      .appendingPathComponent("Data/mnist")
  }

  /// Reads the training set (60,000 images) or the test set (10,000) from `root`, which holds the
  /// IDX files, each either plain or gzipped (`.gz`); torchvision's `root/MNIST/raw` also works.
  ///
  /// - Parameter normalize: false gives `x / 255` (torchvision's `ToTensor()` alone).
  /// - Throws: ``IDXError`` naming the file and what is wrong with it.
  public init(root: URL, train: Bool = true, normalize: Bool = true) throws(IDXError) {
    self = try MNIST(reading: root, train: train, normalize: normalize)
    // the files' bytes and the inflated data are freed by now
    FileIO.releaseFreedHeap()
  }

  private init(reading root: URL, train: Bool, normalize: Bool) throws(IDXError) {
    let names = MNIST.fileNames(train: train)
    let imageFile = try MNIST.locate(names.images, in: root)
    let labelFile = try MNIST.locate(names.labels, in: root)
    let imageArray = try IDXArray(contentsOf: imageFile)
    guard imageArray.elementType == .uint8, imageArray.shape.count == 3 else {
      throw IDXError(
        file: imageFile.path,
        problem: .unexpectedLayout(
          "expected unsigned-byte images of rank 3 (count x rows x columns), got \(imageArray.elementType) of shape \(imageArray.shape)"
        ))
    }
    let labelArray = try IDXArray(contentsOf: labelFile)
    guard labelArray.elementType == .uint8, labelArray.shape.count == 1 else {
      throw IDXError(
        file: labelFile.path,
        problem: .unexpectedLayout(
          "expected unsigned-byte labels of rank 1, got \(labelArray.elementType) of shape \(labelArray.shape)"
        ))
    }
    let count = imageArray.shape[0]
    guard labelArray.shape[0] == count else {
      throw IDXError(
        file: labelFile.path, problem: .countMismatch(images: count, labels: labelArray.shape[0]))
    }
    var values: [Int] = []
    values.reserveCapacity(count)
    for (i, b) in labelArray.payload.enumerated() {
      guard b <= 9 else {
        throw IDXError(file: labelFile.path, problem: .labelOutOfRange(index: i, value: Int(b)))
      }
      values.append(Int(b))
    }
    labelValues = values
    labels = Tensor(shape: [count], scalars: values.map { Int64($0) })

    let table = normalize ? MNIST.normalizedPixels : MNIST.scaledPixels
    let shape = [count, 1, imageArray.shape[1], imageArray.shape[2]]
    let pixels = Tensor.empty(shape, dtype: .float32)
    if pixels.count > 0 { MNIST.fill(pixels, from: imageArray, table) }
    images = pixels
  }

  /// Maps each pixel byte through `table` into `pixels` (non-empty, fresh).
  private static func fill(_ pixels: Tensor, from imageArray: IDXArray, _ table: [Float]) {
    table.withUnsafeBufferPointer { t in
      imageArray.payload.withUnsafeBufferPointer { src in
        // a fresh tensor that does not require grad: raw access cannot fail
        try! pixels.withUnsafeMutableBufferPointer(as: Float.self) { dst in
          for i in 0..<dst.count { dst[i] = t[Int(src[i])] }
        }
      }
    }
  }

  /// Number of images.
  public var count: Int { labelValues.count }

  /// Image `index` (`[1, rows, columns]`, a view of ``images``) and its label.
  public subscript(index: Int) -> (Tensor, Int) {
    precondition(
      index >= 0 && index < count, "MNIST: index \(index) is out of range for \(count) images")
    return (images.select(0, index), labelValues[index])
  }

  /// The normalized value of a pixel byte: `(Float(x) / 255 - 0.1307) / 0.3081` in float32.
  public static func normalize(_ pixel: UInt8) -> Float {
    (Float(pixel) / 255 - Float(mean)) / Float(std)
  }

  private static let normalizedPixels: [Float] = (0...255).map { normalize(UInt8($0)) }
  private static let scaledPixels: [Float] = (0...255).map { Float($0) / 255 }

  /// `name` or `name.gz` in `root` or in `root/MNIST/raw`.
  static func locate(_ name: String, in root: URL) throws(IDXError) -> URL {
    let folders = [root, root.appendingPathComponent("MNIST/raw")]
    var tried: [String] = []
    for folder in folders {
      for candidate in [name, name + ".gz"] {
        let url = folder.appendingPathComponent(candidate)
        tried.append(url.path)
        if FileManager.default.fileExists(atPath: url.path) { return url }
      }
    }
    throw IDXError(
      file: root.appendingPathComponent(name).path, problem: .missing(alternatives: tried))
  }
}
