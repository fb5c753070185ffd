// The one place that touches private members of Pistache: Http::Handler's
// own onInput (the HTTP parser), which our handler's onInput override runs
// after the framing guard (request_framing.h), and the parser's state. This file alone is compiled
// with -fno-access-control (see CMakeLists.txt); nothing else in it.
#include "pistache_access.h"

namespace portcullis::http::internal {

void PistacheParseInput(Pistache::Http::Handler& handler, const char* buffer, size_t len,
                        const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  handler.Pistache::Http::Handler::onInput(buffer, len, peer);
}

bool PistacheParserIdle(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  std::shared_ptr<Pistache::Http::RequestParser> parser = Pistache::Http::Handler::getParser(peer);
  return parser != nullptr && parser->currentStep == 0 && parser->buffer.bytes.empty();
}

}  // namespace portcullis::http::internal
