/// Misuse of autograd, reported with what happened and how to fix it (PyTorch's wording where
/// PyTorch has a message).
public enum AutogradError: Error, Equatable, CustomStringConvertible {
  /// `backward()` on a tensor that has no history and does not require grad.
  case doesNotRequireGrad(index: Int)
  /// `backward()` on a non-scalar without an explicit gradient.
  case nonScalarOutput
  /// The gradient passed to `backward` has the wrong shape.
  case gradientShapeMismatch(index: Int, gradShape: [Int], outputShape: [Int])
  /// Saved tensors were freed by an earlier backward.
  case graphFreed
  /// A tensor saved for backward was modified in place afterwards.
  case savedTensorModified(tensor: String, producer: String?, version: Int, expected: Int)
  /// An in-place operation on a leaf that requires grad, outside `withNoGrad`.
  case inPlaceOnLeaf
  /// An in-place operation on a view of a leaf that requires grad.
  case inPlaceOnViewOfLeaf
  /// An in-place op with history on a view made under no-grad, or on one of several views one op
  /// returned (split, chunk, unbind). `function` names the view's own op when it has history.
  case inPlaceOnRestrictedView(function: String?, outputNr: Int, multipleViews: Bool)
  /// `requiresGrad` on an integer or bool tensor.
  case nonFloatingRequiresGrad(DType)
  /// `requiresGrad` changed on a tensor that has history.
  case requiresGradOnNonLeaf
  /// `grad(of:withRespectTo:)`: an input was not reached from the outputs.
  case unusedInput(index: Int)
  /// `grad(of:withRespectTo:)`: an input does not require grad.
  case inputDoesNotRequireGrad(index: Int)
  /// A hook or retained grad on a tensor that does not require grad.
  case hookOnTensorWithoutGrad
  case retainGradWithoutGrad
  /// Raw memory access to a tensor that requires grad (PyTorch's `numpy()` check).
  case rawAccessRequiresGrad
  /// A custom function's backward returned the wrong number of gradients.
  case wrongGradientCount(function: String, expected: Int, got: Int)
  /// A custom function's backward returned a gradient of the wrong shape.
  case wrongGradientShape(function: String, index: Int, got: [Int], expected: [Int])
  /// Anomaly mode found NaN in the gradients a node produced.
  case nanInGradient(function: String, index: Int)
  /// A non-floating gradient or a dtype that cannot be used.
  case invalidGradient(String)

  public var description: String {
    switch self {
    case .doesNotRequireGrad(let i):
      return
        "element \(i) of tensors does not require grad and does not have a grad_fn. "
        + "Make the leaf require grad (try Tensor(..., requiresGrad: true)) and run the forward "
        + "pass outside withNoGrad."
    case .nonScalarOutput:
      return
        "grad can be implicitly created only for scalar outputs. Pass backward(gradient:) with "
        + "the output's shape, or reduce the output (e.g. .sum()) first."
    case .gradientShapeMismatch(let i, let g, let o):
      return
        "Mismatch in shape: grad_output[\(i)] has a shape of \(g) and output[\(i)] has a shape of \(o)."
    case .graphFreed:
      return
        "Trying to backward through the graph a second time (or directly access saved tensors "
        + "after they have already been freed). Saved intermediate values of the graph are freed "
        + "when you call backward() or grad(of:withRespectTo:). Specify retainGraph: true if you "
        + "need to backward through the graph a second time or if you need to access saved "
        + "tensors after calling backward."
    case .savedTensorModified(let t, let producer, let v, let e):
      let which = producer.map { ", which is output 0 of \($0)," } ?? ""
      return
        "one of the variables needed for gradient computation has been modified by an inplace "
        + "operation: [\(t)]\(which) is at version \(v); expected version \(e) instead. Hint: "
        + "enable anomaly detection to find the operation that failed to compute its gradient, "
        + "with setDetectAnomaly(true)."
    case .inPlaceOnLeaf:
      return
        "a leaf Variable that requires grad is being used in an in-place operation. Update it "
        + "inside withNoGrad { }, or use an out-of-place op."
    case .inPlaceOnViewOfLeaf:
      return
        "a view of a leaf Variable that requires grad is being used in an in-place operation. "
        + "Update it inside withNoGrad { }, or use an out-of-place op."
    case .inPlaceOnRestrictedView(let function, let nr, let multiple):
      let opening =
        function.map { "Output \(nr) of \($0) is a view and is being modified inplace." }
        ?? "A view was created in no_grad mode and is being modified inplace with grad mode enabled."
      if multiple {
        return opening
          + " This view is the output of a function that returns multiple views. Such functions "
          + "do not allow the output views to be modified inplace. You should replace the "
          + "inplace operation by an out-of-place one."
      }
      return opening
        + " Given that this use case is ambiguous and error-prone, it is forbidden. You can "
        + "clarify your code by moving both the view and the inplace either both inside the "
        + "withNoGrad block (if you don't want the inplace to be tracked) or both outside (if you "
        + "want the inplace to be tracked)."
    case .nonFloatingRequiresGrad(let d):
      return
        "Only Tensors of floating point dtype can require gradients (got \(d)). "
        + "Convert first, e.g. x.to(.float32)."
    case .requiresGradOnNonLeaf:
      return
        "you can only change requires_grad flags of leaf variables. If you want to use a computed "
        + "variable in a subgraph that doesn't require differentiation use "
        + "let varNoGrad = variable.detach()."
    case .unusedInput(let i):
      return
        "The differentiated Tensor at index \(i) appears to not have been used in the graph. "
        + "Set allowUnused: true if this is the desired behavior."
    case .inputDoesNotRequireGrad(let i):
      return "One of the differentiated Tensors (index \(i)) does not require grad"
    case .hookOnTensorWithoutGrad:
      return "cannot register a hook on a tensor that doesn't require gradient"
    case .retainGradWithoutGrad:
      return "can't retainGrad() on a Tensor that has requiresGrad == false"
    case .rawAccessRequiresGrad:
      return
        "Can't access the memory of a Tensor that requires grad (PyTorch: can't call numpy() on "
        + "Tensor that requires grad). Use tensor.detach().withUnsafeMutableBufferPointer(as:_:) "
        + "instead."
    case .wrongGradientCount(let f, let e, let g):
      return "function \(f) returned an incorrect number of gradients (expected \(e), got \(g))"
    case .wrongGradientShape(let f, let i, let g, let e):
      return
        "Function \(f) returned an invalid gradient at index \(i) - got \(g) but expected shape compatible with \(e)"
    case .nanInGradient(let f, let i):
      return "Function '\(f)' returned nan values in its \(i)th output."
    case .invalidGradient(let s):
      return s
    }
  }
}
