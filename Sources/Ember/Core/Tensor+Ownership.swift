/// Whether a tensor's memory can be reused in place without anyone seeing it change.
extension Tensor {
  /// Whether `tensor` is the only reference to this tensor object and the only tensor on its
  /// storage: no other variable, view, base, saved graph value or hook holds either, so writing
  /// into it in place can change nothing that anyone else can read.
  ///
  /// ``EmberNN`` containers use it to run an activation in place on an intermediate result they
  /// alone hold (when no graph is recorded); the check itself reads two reference counts.
  /// `inout` because Swift's `isKnownUniquelyReferenced` needs the variable, not a copy of it.
  public static func isSolelyOwned(_ tensor: inout Tensor) -> Bool {
    isKnownUniquelyReferenced(&tensor) && isKnownUniquelyReferenced(&tensor.storage)
  }
}
