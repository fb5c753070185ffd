#include "portcullis/common/clock.h"

namespace portcullis {

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

}  // namespace portcullis
