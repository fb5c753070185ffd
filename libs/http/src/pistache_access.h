// See pistache_access.cc.
#pragma once

#include <pistache/http.h>

#include <memory>

namespace portcullis::http::internal {

// Non-virtual call of Pistache::Http::Handler::onInput (private in 0.0.5).
void PistacheParseInput(Pistache::Http::Handler& handler, const char* buffer, size_t len,
                        const std::shared_ptr<Pistache::Tcp::Peer>& peer);

// Whether the connection's request parser holds nothing: no byte buffered,
// at its first step. After PistacheParseInput, with no request dispatched
// to onRequest, that means Pistache refused the request and answered it
// itself (its parser threw).
bool PistacheParserIdle(const std::shared_ptr<Pistache::Tcp::Peer>& peer);

}  // namespace portcullis::http::internal
