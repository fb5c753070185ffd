// See pistache_access.cc.
#pragma once

#include <pistache/http.h>

#include <memory>

namespace portcullis::http::internal {

// Non-virtual call of Pistache::Http::Handler::onInput (private in 0.0.5).
void PistacheParseInput(Pistache::Http::Handler& handler, const char* buffer, size_t len,
                        const std::shared_ptr<Pistache::Tcp::Peer>& peer);

}  // namespace portcullis::http::internal
