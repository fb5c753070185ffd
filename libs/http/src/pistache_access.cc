// The one place that calls a private member of Pistache: Http::Handler's own
// onInput (the HTTP parser), which our handler's onInput override runs after
// the framing guard (request_framing.h). This file alone is compiled with
// -fno-access-control (see CMakeLists.txt); nothing else in it.
#include "pistache_access.h"

namespace portcullis::http::internal {

void PistacheParseInput(Pistache::Http::Handler& handler, const char* buffer, size_t len,
                        const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  handler.Pistache::Http::Handler::onInput(buffer, len, peer);
}

}  // namespace portcullis::http::internal
