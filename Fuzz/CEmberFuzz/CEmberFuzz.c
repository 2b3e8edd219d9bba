// Declarations only (include/CEmberFuzz.h); SwiftPM needs a source file in a C target.
#include "CEmberFuzz.h"
